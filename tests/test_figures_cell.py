"""``figures.cell`` on a tiny model's real step: the unit's lines hold the trace's values and pass Plotly's validation,
and the equations carry the step's own numbers."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz import analysis
from gru_viz.figures.cell import cell_latex, unit_over_words_figure, unit_over_words_spec
from gru_viz.figures.story import word_key
from tests.library_helpers import tiny_model, validated

FIELDS = ("update", "reset", "candidate", "hidden")


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def test_one_unit_through_the_sentence(view):
    figure = validated(unit_over_words_figure(view.tokens, {field: getattr(view, field) for field in FIELDS}, unit=3,
                                              position=2))
    assert [trace.name.split(":")[0] for trace in figure.data] == ["z", "r", "n", "h"]
    for trace, field in zip(figure.data, FIELDS):
        assert trace.y.dtype == np.float32 and np.array_equal(trace.y, getattr(view, field)[:, 3])
    shaded = [shape for shape in figure.layout.shapes if shape.type == "rect"]
    assert len(shaded) == 1 and (shaded[0].x0, shaded[0].x1) == (1.5, 2.5)


def test_the_equations_carry_the_steps_numbers(model, view):
    step = analysis.sentence_cell_step(model, view, position=4, unit=1)
    latex = cell_latex(step)
    for value in (step.reset, step.update, step.candidate, step.hidden):
        assert f"{value:.3f}".replace("-", "-\\,") in latex
    assert f"{step.update_terms.input:+.3f}".replace("-", "-\\,").replace("+", "+\\,") in latex
    assert latex.count(r"\\[4pt]") == 3  # r, z and n, then h


def test_a_vanilla_rnn_has_one_equation():
    rnn = tiny_model("rnn", projection=False)
    sentence = rnn.trace("i love this movie")
    latex = cell_latex(analysis.sentence_cell_step(rnn, sentence, position=1, unit=0))
    assert latex.startswith(r"\begin{aligned} h_t &= \tanh(") and "r_t" not in latex


def test_a_long_sentence_thins_its_labels_with_an_ordinal_and_the_legend_stays_clear_of_the_axis_title():
    words = [f"w{t}" for t in range(70)]  # past MAX_WORD_TICKS (60): every 2nd word labelled
    values = np.linspace(-1, 1, 70 * 4, dtype=np.float32).reshape(70, 4)
    figure = validated(unit_over_words_figure(words, {"hidden": values}, unit=1))
    assert figure.layout.xaxis.title.text == "(every 2nd labelled; hover for all)"
    assert list(figure.layout.xaxis.tickvals) == list(range(0, 70, 2))
    # the legend sits above the plot (y ≥ 1, anchored at its bottom), never over the title under the word axis
    assert figure.layout.legend.y >= 1 and figure.layout.legend.yanchor == "bottom"


def test_the_first_chart_is_the_same_unit_in_vega_lite(view):
    fields = {field: getattr(view, field) for field in FIELDS}
    spec = unit_over_words_spec(view.tokens, fields, unit=3, position=2)
    rows = spec["data"]["values"]
    for symbol, field in zip("zrnh", FIELDS):
        line = [row for row in rows if row["series"].startswith(f"{symbol}:")]
        assert [row["word"] for row in line] == list(view.tokens)
        assert [row["value"] for row in line] == getattr(view, field)[:, 3].astype(float).tolist()
    shaded = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rect")
    kept = shaded["transform"][0]["filter"]["and"]  # one rect: the shaded word's row of the first series
    assert kept == [{"field": "key", "equal": word_key(2, view.tokens[2])},
                    {"field": "series", "equal": "z: update gate z"}]
    assert spec["title"]["text"] == "Unit 3 through the sentence"


def test_markup_in_a_word_stays_data():
    spec = unit_over_words_spec(["<b>x</b>", "ok"], {"hidden": np.array([[0.5], [-0.5]])}, unit=0)
    assert [row["word"] for row in spec["data"]["values"]] == ["<b>x</b>", "ok"]
