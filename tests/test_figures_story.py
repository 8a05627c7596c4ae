"""The Read page's first chart (``gru_viz.figures.story``): three Vega-Lite rows on one word axis, each valid
against the Vega-Lite schema (Altair's), holding the trace's numbers exactly and the words as data only."""

from __future__ import annotations

import altair as alt
import numpy as np
import pytest

from gru_viz.figures.story import START, story_specs, word_key
from gru_viz.figures.style import marked_moves

TOKENS = ["not", "bad", ",", "not", "<b>bad</b>"]
PROBABILITY = np.array([0.31, 0.83, 0.829, 0.52, 0.97], dtype=np.float32)
CHANGES = np.array([-0.8, 2.4, -0.004, -1.5, 3.3], dtype=np.float32)
VALUES = np.random.default_rng(0).random((5, 6)).astype(np.float32)
RESET = np.random.default_rng(1).random((5, 6)).astype(np.float32)


def specs(**options):
    return story_specs(TOKENS, PROBABILITY, 0.5, CHANGES, VALUES, [4, 0, 2], [0.91, -0.5, 0.02], **options)


def test_each_row_is_valid_vega_lite():
    rows = specs()
    alt.LayerChart.from_dict(rows["probability"])  # raises on anything the schema does not allow
    alt.Chart.from_dict(rows["changes"])
    alt.Chart.from_dict(rows["units"])


def test_the_rows_hold_the_numbers_exactly_on_one_word_axis():
    rows = specs()
    words = rows["probability"]["data"]["values"]
    assert [row["word"] for row in words] == [START] + TOKENS
    assert [row["p"] for row in words] == [0.5] + PROBABILITY.astype(np.float64).tolist()
    assert [row["moved"] for row in words[1:]] == np.diff(np.r_[0.5, PROBABILITY.astype(np.float64)]).tolist()
    assert [row["change"] for row in rows["changes"]["data"]["values"]] == CHANGES.astype(np.float64).tolist()
    cells = rows["units"]["data"]["values"]
    assert [(row["word"], row["unit"], row["value"]) for row in cells[:3]] == [
        ("not", "unit 4 (+0.91)", float(VALUES[0, 4])), ("not", "unit 0 (-0.50)", float(VALUES[0, 0])),
        ("not", "unit 2 (+0.02)", float(VALUES[0, 2]))]
    keys = [word_key(t - 1, word) for t, word in enumerate([START] + TOKENS)]
    assert keys[:2] == ["0000 (start)", "0001 not"] and len(set(keys)) == 6  # "not" twice: two columns
    for name, row in rows.items():
        x = row["layer"][1]["encoding"]["x"] if name == "probability" else row["encoding"]["x"]
        assert x["scale"]["domain"] == keys, name
    assert rows["units"]["encoding"]["y"]["scale"]["domain"] == ["unit 4 (+0.91)", "unit 0 (-0.50)",
                                                                  "unit 2 (+0.02)"]


def test_the_ringed_words_are_those_that_moved_p_most_and_never_by_zero():
    words = specs()["probability"]["data"]["values"][1:]
    ringed = [t for t, row in enumerate(words) if row["ring"]]
    assert ringed == marked_moves(PROBABILITY, 0.5, 3).tolist() and 2 not in ringed  # "," moved P by 0.001
    assert [words[t]["label"] for t in ringed] == [f"{TOKENS[t]} {words[t]['moved']:+.2f}" for t in ringed]
    assert not any(row["ring"] for row in specs(marked=[])["probability"]["data"]["values"])


@pytest.mark.parametrize("field, scale", [("update", {"scheme": "viridis", "domain": [0.0, 1.0]}),
                                          ("hidden", None)])
def test_gates_on_0_to_1_and_memory_on_minus_1_to_1(field, scale):
    colour = specs(field=field)["units"]["encoding"]["color"]["scale"]
    if scale is not None:
        assert colour == scale
    else:
        assert colour["domain"][0] == -1.0 and colour["domain"][-1] == 1.0 and colour["clamp"]


def test_with_the_reset_gate_both_gates_are_rows_on_the_same_word_axis():
    rows = specs(reset=RESET)
    assert list(rows) == ["probability", "changes", "units", "reset"]
    alt.Chart.from_dict(rows["reset"])
    z_cells, r_cells = rows["units"]["data"]["values"], rows["reset"]["data"]["values"]
    # the same units in the same order, each cell the exact float32 value of its gate
    assert [(row["key"], row["unit"]) for row in z_cells] == [(row["key"], row["unit"]) for row in r_cells]
    assert [row["value"] for row in z_cells] == [float(VALUES[t, u]) for t in range(5) for u in (4, 0, 2)]
    assert [row["value"] for row in r_cells] == [float(RESET[t, u]) for t in range(5) for u in (4, 0, 2)]
    assert [rows[name]["encoding"]["y"]["axis"]["title"] for name in ("units", "reset")] == ["z", "r"]
    # the words label the lowest row only; both gates share one 0 … 1 colour scale and one legend
    assert rows["units"]["encoding"]["x"]["axis"] is None and rows["reset"]["encoding"]["x"]["axis"]["labelExpr"]
    assert rows["units"]["encoding"]["color"]["scale"] == rows["reset"]["encoding"]["color"]["scale"]
    assert rows["units"]["encoding"]["color"]["legend"]["title"] == "z, r"
    assert rows["reset"]["encoding"]["color"]["legend"] is None
    keys = rows["units"]["encoding"]["x"]["scale"]["domain"]
    assert rows["reset"]["encoding"]["x"]["scale"]["domain"] == keys
    assert "reset" not in specs()  # without it, three rows as before


def test_ringed_labels_near_the_right_edge_end_at_their_word():
    words = specs()["probability"]["data"]["values"][1:]
    assert [row["align"] for row in words] == ["center"] * 4 + ["right"]  # 15% of 5 columns: the last one


def test_words_are_data_never_part_of_an_expression():
    rows = specs()
    expressions = []

    def collect(value):
        if isinstance(value, dict):
            for key, item in value.items():
                if key in ("filter", "test", "labelExpr", "expr") and isinstance(item, str):
                    expressions.append(item)
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect({name: {key: item for key, item in row.items() if key != "data"} for name, row in rows.items()})
    assert expressions and not any("bad" in expression or "<" in expression.replace("datum.p < 0.5", "")
                                   for expression in expressions)
