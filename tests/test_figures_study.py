"""The seed study's claim charts (``gru_viz.figures.study``): valid Vega-Lite, and exactly the claim's numbers."""

from __future__ import annotations

import altair as alt
import pytest

from gru_viz import study
from gru_viz.figures import claim_rows, claim_spec


def _runs():
    runs = []
    for seed, (gru, rnn) in enumerate([(0.9, 0.7), (0.8, 0.75), (0.85, 0.6)]):
        for variant, value in (("gru", gru), ("rnn", rnn), ("gru-relu", value_relu(seed))):
            runs.append({"variant": variant, "seed": seed, "heldout_accuracy": value, "diverged": seed == 2 and
                         variant == "gru-relu", "max_abs_hidden": 1.0 if variant != "gru-relu" else 20.0 + seed,
                         "gradient_flow": {"log10_norm": [0.0] * len(study.FLOW_DISTANCES)},
                         "probe": {"neutral_median_distance": value / 10, "verdict_first": {"8": value, "16": value},
                                   "contrast": {"8": value}}})
    return runs


def value_relu(seed):
    return 0.5 + seed / 10


@pytest.fixture(scope="module")
def claims():
    return {claim["claim"]: claim for claim in study.claims(_runs())}


def test_a_difference_is_drawn_per_seed_with_its_interval(claims):
    claim = claims["gru_keeps_verdict_k8"]
    spec = claim_spec(claim)
    alt.LayerChart.from_dict(spec)  # raises on anything the schema does not allow
    dots = spec["layer"][0]["data"]["values"]
    assert [(row["seed"], row["value"]) for row in dots] == [("0", 0.2), ("1", 0.05), ("2", 0.25)]
    summary = spec["layer"][2]["data"]["values"][0]
    assert summary["mean"] == pytest.approx((0.2 + 0.05 + 0.25) / 3, abs=1e-6)
    assert summary["low"] == claim["difference"]["low"] and summary["high"] == claim["difference"]["high"]
    assert spec["layer"][3]["data"]["values"] == [{"zero": 0}]  # the rule at no difference


def test_a_single_measure_draws_one_row_per_variant(claims):
    spec = claim_spec(claims["neutral_reads_neutral"])
    alt.LayerChart.from_dict(spec)
    rows = {row["row"] for row in spec["layer"][0]["data"]["values"]}
    assert rows == {"gru", "rnn"}  # the no-reset GRU has no runs here: no empty row
    assert len(spec["layer"]) == 3  # no zero rule for values that are not differences


def test_each_activation_measure_is_its_own_chart(claims):
    claim = claims["activations_gru-relu"]
    dots, summary = claim_rows(claim, "max_abs_hidden")
    assert [row["value"] for row in dots] == [-19.0, -20.0, -21.0]
    assert summary[0]["mean"] == pytest.approx(-20.0)
    alt.LayerChart.from_dict(claim_spec(claim, "diverged", title="diverged"))
