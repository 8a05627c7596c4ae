"""``figures.style``: the shared word axis, escaping, unit labels, and the rule for which words are ringed (against
a brute-force reading of its definition written here)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.figures.style import (
    FIELD_RANGES,
    FIELD_SYMBOLS,
    MAX_WORD_TICKS,
    MIN_MARKED_MOVE,
    marked_moves,
    new_figure,
    plotly_text,
    unit_labels,
    word_axis,
)
from tests.library_helpers import validated


def test_words_are_escaped_and_every_word_keeps_its_column():
    assert plotly_text("<b>bold</b> & <br>") == "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;br&gt;"
    axis = word_axis(["not", "bad", "not"], lead=[(-1, "(start)")])
    assert axis["tickvals"] == [-1, 0, 1, 2] and axis["ticktext"] == ["(start)", "not", "bad", "not"]
    assert axis["range"] == [-1.5, 2.5]


def test_long_sentences_thin_the_tick_labels():
    axis = word_axis([f"w{t}" for t in range(300)])
    assert len(axis["ticktext"]) <= MAX_WORD_TICKS + 1 and axis["range"] == [-0.5, 299.5]
    assert "hover for all" in axis["title"]["text"]


def test_a_new_figure_is_valid_plotly_in_the_house_template():
    figure = validated(new_figure([{"type": "bar", "x": ["a"], "y": [1.0]}], {"title": {"text": "one"}}))
    assert figure.layout.template.layout.font.family == "Arial, sans-serif"


def test_fields_and_unit_labels():
    assert FIELD_SYMBOLS == {"update": "z", "reset": "r", "candidate": "n", "hidden": "h"}
    assert FIELD_RANGES["update"] == (0.0, 1.0) and FIELD_RANGES["candidate"] == (-1.0, 1.0)
    assert unit_labels([3, 0]) == ["unit 3", "unit 0"]
    assert unit_labels(np.array([3, 0]), np.array([0.004, -1.256])) == ["unit 3 (+0.00)", "unit 0 (-1.26)"]


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(0, 1), min_size=1, max_size=30), start=st.floats(0, 1))
def test_the_ringed_words_by_brute_force(values, start):
    moves = np.diff(np.concatenate([[start], values]))
    count = 3 if len(values) <= 20 else 5
    ranked = sorted(range(len(moves)), key=lambda t: (-abs(moves[t]), t))[:count]
    expected = sorted(t for t in ranked if abs(moves[t]) >= MIN_MARKED_MOVE)
    assert marked_moves(values, start).tolist() == expected
    assert marked_moves(values, start, count=1).tolist() == [t for t in ranked[:1] if abs(moves[t]) >= MIN_MARKED_MOVE]
