"""The seed study: its statistics on numbers with a known answer, a tiny study end to end, determinism, and
resuming after an interruption."""

import json

import numpy as np
import pytest

from gru_viz import study

TINY = ["--epochs", "1", "--embed-dim", "8", "--hidden-size", "4", "--neutral", "40", "--memory", "80",
        "--contrast", "40", "--dev", "20", "--batch-size", "32"]


def test_mean_interval_is_student_t():
    # t(0.975, 4) = 2.7764451; values 1..5: mean 3, sd √2.5
    result = study.mean_interval([1, 2, 3, 4, 5])
    half = 2.7764451 * np.sqrt(2.5) / np.sqrt(5)
    assert result["mean"] == 3.0 and result["n"] == 5
    assert result["low"] == pytest.approx(3 - half, abs=1e-6)
    assert result["high"] == pytest.approx(3 + half, abs=1e-6)


def test_mean_interval_of_one_value_has_no_interval():
    assert study.mean_interval([0.7]) == {"mean": 0.7, "low": None, "high": None, "n": 1}


def test_paired_difference_uses_only_shared_seeds():
    result = study.paired_difference({0: 0.9, 1: 0.85, 2: 0.8, 3: 0.5}, {0: 0.8, 1: 0.8, 2: 0.8})
    assert result["differences"] == {"0": 0.1, "1": 0.05, "2": 0.0}
    half = 4.3026527 * np.std([0.1, 0.05, 0.0], ddof=1) / np.sqrt(3)
    assert result["mean"] == pytest.approx(0.05, abs=1e-6)
    assert result["low"] == pytest.approx(0.05 - half, abs=1e-6)


def _run(variant, seed, **changes):
    base = {"variant": variant, "seed": seed, "heldout_accuracy": 0.8, "diverged": False, "max_abs_hidden": 1.0,
            "probe": {"neutral_median_distance": 0.05, "verdict_first": {"8": 0.9, "16": 0.8},
                      "contrast": {"8": 0.7}},
            "gradient_flow": {"distance": list(study.FLOW_DISTANCES),
                              "log10_norm": [0.0] * len(study.FLOW_DISTANCES)}}
    base.update(changes)
    return base


def test_claims_count_seeds_where_they_hold():
    flow = [0.0] * len(study.FLOW_DISTANCES)
    flow[study.FLOW_DISTANCES.index(64)] = -5.0
    runs = [_run("gru", 0), _run("gru", 1),
            _run("rnn", 0, probe={"neutral_median_distance": 0.2, "verdict_first": {"8": 0.7, "16": 0.9},
                                  "contrast": {"8": 0.7}}, gradient_flow={"log10_norm": flow}),
            _run("rnn", 1, probe={"neutral_median_distance": 0.05, "verdict_first": {"8": 0.95, "16": 0.7},
                                  "contrast": {"8": 0.7}}, gradient_flow={"log10_norm": flow})]
    claims = {claim["claim"]: claim for claim in study.claims(runs)}
    k8 = claims["gru_keeps_verdict_k8"]
    assert k8["difference"]["differences"] == {"0": 0.2, "1": -0.05}
    assert k8["holds"] == "1/2 seeds"
    assert claims["gru_keeps_verdict_k16"]["holds"] == "1/2 seeds"
    assert claims["rnn_gradient_vanishes"]["holds"] == {"rnn": "2/2 seeds"}
    assert claims["gru_gradient_persists"]["difference"]["differences"] == {"0": 5.0, "1": 5.0}
    assert claims["neutral_reads_neutral"]["holds"]["rnn"] == "1/2 seeds"
    assert [claim["claim"] for claim in study.claims(runs)] == list(study.CLAIMS)
    table = study.report({"claims": study.claims(runs)}).splitlines()  # what `study` prints: one row per claim
    assert len(table) == 2 + len(study.CLAIMS) and all(row.startswith("| ") for row in table[2:])
    assert "Not measured: no seed has runs of both (gru − gru-noreset)." in table[5]


def _tiny_study(tmp_path, monkeypatch, name, variants=("gru",), seeds=1):
    monkeypatch.setitem(study.BUDGETS, "tiny", TINY)
    monkeypatch.setattr(study, "FLOW_REVIEWS", 4)
    monkeypatch.setattr(study, "PROBE_SAMPLES", 10)
    return study.run_study(tmp_path / name, list(variants), seeds, "tiny", data=tmp_path / "data", log=lambda _: None)


@pytest.fixture
def tiny_data(tmp_path, sst2_rows):
    folder = tmp_path / "data"
    folder.mkdir()
    train, val = sst2_rows
    (folder / "train.tsv").write_text("".join(f"{s}\t{y}\n" for s, y in train), encoding="utf-8")
    (folder / "val.tsv").write_text("".join(f"{s}\t{y}\n" for s, y in val), encoding="utf-8")
    return folder


@pytest.fixture
def sst2_rows():
    from gru_viz.paths import default_data_dir
    from gru_viz.text import parse_labelled_tsv

    data = default_data_dir()
    train = list(zip(*parse_labelled_tsv((data / "train.tsv").read_bytes(), "train.tsv")))[:600]
    val = list(zip(*parse_labelled_tsv((data / "val.tsv").read_bytes(), "val.tsv")))[:200]
    return train, val


def _numbers(run):
    return {key: value for key, value in run.items() if key not in ("seconds", "measure_seconds", "command")}


def test_a_study_is_deterministic_and_resumes(tmp_path, monkeypatch, tiny_data):
    first = _tiny_study(tmp_path, monkeypatch, "first", variants=("gru", "gru-relu"))
    assert [(r["variant"], r["seed"]) for r in first["runs"]] == [("gru", 0), ("gru-relu", 0)]
    run = first["runs"][0]
    assert 0 <= run["heldout_accuracy"] <= 1 and run["max_abs_hidden"] <= 1
    assert len(run["units"]["timescale"]) == 4
    assert set(run["probe"]) >= {"neutral_median_distance", "verdict_first", "verdict_last", "contrast"}
    assert first["settings"]["budget"] == "tiny"

    again = _tiny_study(tmp_path, monkeypatch, "again")  # same recipe and seed, a fresh folder
    assert _numbers(again["runs"][0]) == _numbers(run)

    # an interruption after the first run: the second study holds one run, and the rerun adds only what is missing
    path = tmp_path / "first" / "study.json"
    saved = json.loads(path.read_text())
    saved["runs"] = saved["runs"][:1]
    path.write_text(json.dumps(saved))
    trained = []
    monkeypatch.setattr(study, "_train_and_measure",
                        lambda variant, seed, *rest, inner=study._train_and_measure:
                        trained.append((variant, seed)) or inner(variant, seed, *rest))
    resumed = _tiny_study(tmp_path, monkeypatch, "first", variants=("gru", "gru-relu"))
    assert trained == [("gru-relu", 0)]
    assert [_numbers(r) for r in resumed["runs"]] == [_numbers(r) for r in first["runs"]]


def test_a_study_refuses_another_budget(tmp_path):
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "study.json").write_text(json.dumps({"settings": {"budget": "full"}, "runs": [], "claims": []}))
    with pytest.raises(ValueError, match="full study"):
        study.run_study(tmp_path / "s", ["gru"], 1, "quick")


def test_unknown_variant_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown variants"):
        study.run_study(tmp_path, ["lstm"], 1, "quick")


def test_verdicts_say_holds_reverse_no_difference_and_ties():
    runs = [_run("gru", s, heldout_accuracy=0.8 + d) for s, d in enumerate([0.02, 0.03, 0.025])]
    runs += [_run("gru-noreset", s) for s in range(3)]
    runs += [_run("gru-relu", s, max_abs_hidden=1.0) for s in range(3)]
    claims = {claim["claim"]: claim for claim in study.claims(runs)}
    assert study.verdict(claims["reset_helps_accuracy"]).startswith("Holds. gru − gru-noreset: +0.025 (95% CI")
    assert study.verdict(claims["reset_helps_contrast"]) == ("No difference: gru − gru-noreset is 0 on every "
                                                             "seed (3).")
    relu = study.verdict(claims["activations_gru-relu"])
    assert "largest |h| the same on every seed" in relu and "diverged (1/0) the same on every seed" in relu
    reverse = [_run("gru", s, heldout_accuracy=0.7 - s / 100) for s in range(3)]
    reverse += [_run("gru-noreset", s) for s in range(3)]
    claim = {c["claim"]: c for c in study.claims(reverse)}["reset_helps_accuracy"]
    assert study.verdict(claim).startswith("The reverse holds.")
