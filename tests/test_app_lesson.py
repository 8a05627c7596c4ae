"""The *Lesson* page, step by step, on the three shipped models: every number it shows is checked against a float64
NumPy (or, for Jacobians, autograd) run of the models' weights written here, independent of gru_viz's step."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from scipy import stats
from streamlit.testing.v1 import AppTest

from gru_viz import probe
from gru_viz.examples import EXAMPLES
from gru_viz.model import load_model
from tests.helpers import ROOT, page_app, run, vega_charts, write_tiny_model

PAGE = "views/pages/lesson.py"
GRU, NO_RESET, RNN = "sst2-gru", "sst2-gru-noreset", "sst2-rnn"
FIRST, LAST, CONTRAST = (next(e for e in EXAMPLES if e.test == test)
                         for test in ("verdict_first", "verdict_last", "contrast"))
MODELS = "P(positive) after each word, every model on the same sentence"
P_TOLERANCE = 2e-6  # the page reads with PyTorch's float32 kernel; the oracle is float64


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


class Oracle:
    """A model's weights in float64 and its recurrence written out in NumPy (PyTorch's gate order r, z, n)."""

    def __init__(self, name: str):
        self.model = load_model(ROOT / "models" / name)
        weights = {key: value.double().numpy() for key, value in self.model.state_dict().items()}
        self.embedding = weights["embedding.weight"]
        self.w_ih, self.w_hh = weights["rnn.weight_ih_l0"], weights["rnn.weight_hh_l0"]
        self.b_ih, self.b_hh = weights["rnn.bias_ih_l0"], weights["rnn.bias_hh_l0"]
        self.head, self.bias = weights["head.weight"][0], float(weights["head.bias"][0])
        self.gru = self.model.arch == "gru"
        self.units = self.w_hh.shape[1]

    def inputs(self, text: str) -> np.ndarray:
        return self.embedding[self.model.encode([text])[0]]  # (T, E)

    def step(self, x, h, *, forced: bool = False):
        """(h_t, r, z, n, memory term W_hn h + b_hn) of one step."""
        a, b, units = self.w_ih @ x + self.b_ih, self.w_hh @ h + self.b_hh, self.units
        if not self.gru:
            h_new = np.tanh(a + b)
            return h_new, np.ones(units), np.zeros(units), h_new, b
        r = np.ones(units) if forced else _sigmoid(a[:units] + b[:units])
        z = np.zeros(units) if forced else _sigmoid(a[units:2 * units] + b[units:2 * units])
        n = np.tanh(a[2 * units:] + r * b[2 * units:])
        return z * h + (1 - z) * n, r, z, n, b[2 * units:]

    def read(self, text: str, *, forced: bool = False) -> dict:
        h = np.zeros(self.units)
        out = {"h": [], "r": [], "z": [], "n": [], "memory": [], "previous": []}
        for x in self.inputs(text):
            out["previous"].append(h)
            h, r, z, n, memory = self.step(x, h, forced=forced)
            for key, value in zip(("h", "r", "z", "n", "memory"), (h, r, z, n, memory)):
                out[key].append(value)
        out = {key: np.array(value) for key, value in out.items()}
        out["p"] = _sigmoid(out["h"] @ self.head + self.bias)  # (T,)
        out["start"] = float(_sigmoid(self.bias))
        return out

    def gradient_norms(self, text: str) -> np.ndarray:
        """‖∂h_T/∂h_t‖_F for every t, from autograd Jacobians of a torch float64 step written here."""
        w_ih, w_hh = torch.from_numpy(self.w_ih), torch.from_numpy(self.w_hh)
        b_ih, b_hh = torch.from_numpy(self.b_ih), torch.from_numpy(self.b_hh)
        units = self.units

        def step(x, h):
            a, b = w_ih @ x + b_ih, w_hh @ h + b_hh
            if not self.gru:
                return torch.tanh(a + b)
            r, z = torch.sigmoid(a[:units] + b[:units]), torch.sigmoid(a[units:2 * units] + b[units:2 * units])
            return z * h + (1 - z) * torch.tanh(a[2 * units:] + r * b[2 * units:])

        xs = torch.from_numpy(self.inputs(text))
        states, h = [], torch.zeros(units, dtype=torch.float64)
        for x in xs:
            states.append(h)
            h = step(x, h)
        chain, norms = np.eye(units), [np.sqrt(units)]
        for t in range(len(xs) - 1, 0, -1):  # ∂h_T/∂h_{t−1} = ∂h_T/∂h_t · ∂h_t/∂h_{t−1}
            jacobian = torch.autograd.functional.jacobian(lambda state, x=xs[t]: step(x, state), states[t]).numpy()
            chain = chain @ jacobian
            norms.append(np.linalg.norm(chain))
        return np.array(norms[::-1])


@pytest.fixture(scope="module")
def oracles():
    return {name: Oracle(name) for name in (GRU, NO_RESET, RNN)}


def open_lesson(step: str | None) -> AppTest:
    app = page_app()
    if step is not None:
        app.query_params["step"] = step
    run(app)
    app.switch_page(PAGE)
    return run(app)


def texts(app: AppTest) -> str:
    return "\n".join(element.value for element in [*app.markdown, *app.warning]).replace("\\", "").replace("**", "")


def chart(app: AppTest, title: str) -> tuple[dict, list[dict]]:
    """The step's Vega-Lite chart with this title, (spec, rows); the step draws no Plotly chart (its bundle would
    hold back the page's first paint)."""
    assert not app.get("plotly_chart")
    return vega_charts(app)[title]


def lines_by_name(app: AppTest, title: str, value: str = "p") -> dict[str, np.ndarray]:
    """A lines chart's series in their legend's order, each its ``value`` in reading order (the start first)."""
    spec, rows = chart(app, title)
    names = next(layer for layer in spec.get("layer", [spec]) if "color" in layer["encoding"])["encoding"]["color"][
        "scale"]["domain"]
    return {name: np.array([row[value] for row in rows if row["series"] == name]) for name in names}


def test_step_1_gradient_flow_is_the_product_of_the_step_jacobians(oracles):
    app = open_lesson("1")
    assert app.subheader[0].value.startswith("Step 1 of 5")
    flow = lines_by_name(app, "How much of a gradient at the last word reaches each word (log scale)", "norm")
    gru, rnn = oracles[GRU].gradient_norms(FIRST.text), oracles[RNN].gradient_norms(FIRST.text)
    np.testing.assert_allclose(flow[f"GRU ({GRU})"], gru, rtol=1e-6)
    np.testing.assert_allclose(flow[f"vanilla RNN ({RNN})"], rnn, rtol=1e-6)
    assert rnn[0] < 1e-30 < 1 < gru[0]  # the RNN forgets, the GRU does not
    assert app.selectbox(key="html_figure").options == ["chart_lesson_gradient"]  # its Plotly twin, to download
    shown = texts(app)
    assert f"receives a norm of {gru[0]:.3g} through the GRU and {rnn[0]:.3g} through the RNN" in shown
    for name in (GRU, RNN):
        p = oracles[name].read(FIRST.text)["p"][-1]
        assert f"{name}: P(positive) = {p:.3f}, positive: right." in shown


def test_step_2_three_models_on_one_chart_and_the_update_gate_of_the_carriers(oracles):
    app = open_lesson("2")
    lines = lines_by_name(app, MODELS)
    assert list(lines) == [GRU, NO_RESET, RNN]  # all three on one chart
    for name, line in lines.items():
        read = oracles[name].read(FIRST.text)
        np.testing.assert_allclose(line, np.concatenate([[read["start"]], read["p"]]), atol=P_TOLERANCE)
    gru = oracles[GRU].read(FIRST.text)
    votes = oracles[GRU].head * gru["h"][-1]  # each unit's exact share of the logit's change from h0 = 0
    carriers = np.argsort(-np.abs(votes), kind="stable")[:8]
    phrase = 7  # "I love this movie so much ." : the plot starts at word 7
    kept = np.prod(gru["z"][phrase:, carriers], axis=0)
    shown = texts(app)
    assert "units that carry its verdict, and how much of their memory survives the 95 plot words" in shown
    assert ", ".join(f"unit {u}: {k:.3g}" for u, k in zip(carriers[:4], kept[:4])) in shown
    spec, cells = chart(app, "Update gate z of the units that carry the verdict")
    assert spec["encoding"]["y"]["scale"]["domain"] == [f"unit {u} ({votes[u]:+.2f})" for u in carriers]
    np.testing.assert_allclose(np.array([row["value"] for row in cells]).reshape(len(carriers), -1),
                               gru["z"][:, carriers].T, atol=1e-6)
    assert [row["word"] for row in cells[:len(gru["p"])]] == FIRST.text.split()
    # the chart's word axis and the probe rate beside the example
    assert "sst2-gru: P(positive) = 0.906, positive: right. This model passes 94.7% of such tests (n = 300)." in shown


def test_step_2_says_where_the_shown_model_fails_the_example(oracles):
    app = open_lesson("2")
    app.radio(key="lesson_review").set_value("verdict_last")
    run(app)
    p = oracles[GRU].read(LAST.text)["p"][-1]
    assert p < 0.5  # the shipped GRU reads this verdict-last review negative
    failures = [element.value.replace("\\", "") for element in app.warning]
    assert (f"{GRU}: P(positive) = {p:.3f}, negative: wrong. This model passes 87.7% of such tests (n = 300); "
            "this is one it fails.") in failures
    lines = lines_by_name(app, MODELS)
    for name, line in lines.items():
        np.testing.assert_allclose(line[1:], oracles[name].read(LAST.text)["p"], atol=P_TOLERANCE)


def test_step_3_the_reset_gate_at_but_and_the_cell_of_the_unit_that_flips(oracles):
    app = open_lesson("3")
    gru = oracles[GRU].read(CONTRAST.text)
    turn = CONTRAST.text.split().index("but")
    spec, rows = chart(app, "r of every unit at “but”")
    assert [row["unit"] for row in rows] == list(range(64))
    np.testing.assert_allclose([row["value"] for row in rows], gru["r"][turn], atol=1e-6)
    head = oracles[GRU].head
    before, after = head * gru["h"][turn - 1], head * gru["h"][-1]
    flips = np.flatnonzero(np.sign(before) != np.sign(after))
    unit = int(flips[np.argmax(np.abs(after - before)[flips])])
    ringed = [layer for layer in spec["layer"] if layer.get("transform")]
    assert ringed and all(layer["transform"] == [{"filter": {"field": "unit", "equal": unit}}] for layer in ringed)
    assert spec["layer"][0]["encoding"]["y"]["datum"] == 0.1  # the dotted line: r below it counts as shut
    carriers = np.argsort(-np.abs(head * gru["h"][-1]), kind="stable")[:8]
    shown = texts(app)
    assert (f"At “but” (word {turn}), {int((gru['r'][turn] < 0.1).sum())} of 64 units of {GRU} have r < 0.1, "
            f"{int((gru['r'][turn, carriers] < 0.1).sum())} of the 8 that carry its verdict. Unit {unit} flips: "
            f"its vote w·h on the verdict goes from {before[unit]:+.3f} before “but” to "
            f"{after[unit]:+.3f} at the end. Its r = {gru['r'][turn, unit]:.2e} multiplies a memory term of "
            f"{gru['memory'][turn, unit]:+.3f}, so n is the word's alone: h goes from "
            f"{gru['previous'][turn, unit]:+.3f} to {gru['h'][turn, unit]:+.3f}.") in shown
    cell = app.latex[-1].value  # the four equations with the unit's numbers
    for value in (gru["r"][turn, unit], gru["z"][turn, unit], gru["n"][turn, unit], gru["h"][turn, unit]):
        assert f"&&= {value:.3f}".replace("-", "-\\,") in cell


def test_step_4_the_forced_gru_is_the_rnn_exactly_and_not_the_trained_rnn(oracles):
    app = open_lesson("4")
    gru, rnn = oracles[GRU], oracles[RNN]
    forced = gru.read(CONTRAST.text, forced=True)
    # the tanh RNN made of the GRU's candidate rows, run on its own
    rows = slice(2 * gru.units, 3 * gru.units)
    h, vanilla = np.zeros(gru.units), []
    for x in gru.inputs(CONTRAST.text):
        h = np.tanh(gru.w_ih[rows] @ x + gru.b_ih[rows] + gru.w_hh[rows] @ h + gru.b_hh[rows])
        vanilla.append(h)
    np.testing.assert_allclose(forced["h"], np.array(vanilla), rtol=0, atol=1e-12)
    turn, unit = CONTRAST.text.split().index("but"), 1  # the unit step 3 shows flipping
    equations = app.latex[-1].value
    assert equations.count(f"{forced['h'][turn, unit]:.10f}") == 2  # both sides, to ten decimals
    assert "the largest difference between the forced GRU and the tanh RNN with its weights is 0." in texts(app)
    lines = lines_by_name(app, "P(positive) after each word: the GRU free, forced, and the RNN")
    free, trained = gru.read(CONTRAST.text), rnn.read(CONTRAST.text)
    expected = {GRU: free, f"{GRU}, forced r ≡ 1, z ≡ 0": forced, f"{RNN} (trained)": trained}
    assert list(lines) == list(expected)
    for name, read in expected.items():
        np.testing.assert_allclose(lines[name][1:], read["p"], atol=P_TOLERANCE)
    assert forced["p"][-1] > 0.5 > trained["p"][-1]  # forcing flips the verdict; the trained RNN reads it right
    assert any("forced r ≡ 1, z ≡ 0" in w.value.replace("\\", "") and "wrong" in w.value for w in app.warning)


def test_step_4_scores_the_forced_gru_on_the_probes_own_contrast_tests(oracles):
    app = open_lesson("4")
    app.toggle(key="lesson_probe_forced").set_value(True)
    run(app)
    cases = probe.probe_cases({name: oracle.model for name, oracle in oracles.items()}, "contrast", 4)
    right = [(oracles[GRU].read(text, forced=True)["p"][-1] > 0.5) == (label == 1) for text, label in cases]
    rate = f"passes {np.mean(right):.1%} of such tests (n = {len(cases)}); this is one it fails."
    assert len(cases) == 300 and np.mean(right) < 0.6  # a coin flip, where the trained RNN passes 99%
    assert any(rate in w.value.replace("\\", "") for w in app.warning), [w.value for w in app.warning]


def _t_interval(values):
    values = np.asarray(values, dtype=np.float64)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))
    return values.mean(), values.mean() - half, values.mean() + half


def test_step_5_the_seed_questions_with_their_intervals_from_the_runs():
    app = open_lesson("5")
    runs = json.loads((ROOT / "studies" / "seeds" / "study.json").read_text())["runs"]

    def per_seed(variant, value):
        return {run["seed"]: value(run) for run in runs if run["variant"] == variant}

    assert not app.dataframe  # plain tables: no data grid for the browser to load
    tables = [frame.value for frame in app.table]
    reset, activations = tables[0], tables[1]
    measures = {"keeps an early verdict (k = 16)": lambda run: run["probe"]["verdict_first"]["16"],
                "drops the past after “but” (k = 8)": lambda run: run["probe"]["contrast"]["8"],
                "held-out accuracy": lambda run: run["heldout_accuracy"]}
    for row, (measure, value) in zip(reset.to_dict("records"), measures.items()):
        gru, other = per_seed("gru", value), per_seed("gru-noreset", value)
        differences = [gru[seed] - other[seed] for seed in sorted(gru)]
        mean, low, high = _t_interval(differences)
        assert (row["measure"], row["seeds"]) == (measure, len(differences))
        assert row["mean difference"] == pytest.approx(mean, abs=2e-6)
        assert row["95% interval"] == f"{low:+.3f} to {high:+.3f}"
        assert row["GRU better on"] == f"{sum(d > 0 for d in differences)}/{len(differences)} seeds"
        assert row["answer"] == ("no measurable difference" if low < 0 < high else row["answer"])
    assert set(reset["answer"]) == {"no measurable difference"}  # the shipped study's answer, said plainly
    relu = activations[(activations["compared"] == "gru − gru-relu")].set_index("measure")
    largest = {variant: per_seed(variant, lambda run: run["max_abs_hidden"]) for variant in ("gru", "gru-relu")}
    mean, low, high = _t_interval([largest["gru"][s] - largest["gru-relu"][s] for s in sorted(largest["gru-relu"])])
    assert relu.loc["largest |h| on the validation set", "mean difference"] == pytest.approx(mean, abs=2e-6)
    assert relu.loc["largest |h| on the validation set", "answer"] == "the GRU is better"  # bounded by tanh
    assert relu.loc["training diverged (1/0)", "answer"] == "no difference: the same on every seed (3)"
    said = texts(app)
    assert "Why a reset gate? No measurable difference on any of the 3 comparisons (5 seeds each)." in said
    better = activations[activations["answer"] == "the GRU is better"]
    assert ("Why tanh and sigmoid? Measurably better with the GRU: " + "; ".join(
        f"{row['measure']} ({row['compared']}, {row['GRU better on']})" for _, row in better.iterrows())
        + f". No measurable difference on the other {len(activations) - len(better)}.") in said


def test_the_next_step_button_and_a_bad_link():
    app = open_lesson(None)
    assert app.subheader[0].value.startswith("Step 1 of 5") and not app.error
    app.button(key="lesson_next").click()
    run(app)
    assert app.query_params["step"] == ["2"] or app.query_params["step"] == "2"
    assert app.subheader[0].value.startswith("Step 2 of 5")
    app = open_lesson("<script>")
    assert [element.value for element in app.error] == [
        "The link asks for a step the lesson does not have: it has steps 1 to 5. Showing step 1."]
    assert "<script>" not in texts(app)
    assert re.match(r"Step 1 of 5", app.subheader[0].value)


def test_without_the_shipped_models_the_lesson_says_so_and_still_answers_the_seed_questions(tmp_path, monkeypatch):
    write_tiny_model(tmp_path / "tiny-gru", "gru", seed=0, projection=False)
    monkeypatch.setenv("GRU_VIZ_MODELS", str(tmp_path))
    app = open_lesson("3")
    assert [element.value for element in app.info] == [
        f"The lesson reads the three shipped models; the models folder lacks {GRU}, {NO_RESET}, {RNN}."]
    assert not app.get("plotly_chart") and not app.get("vega_lite_chart") and not app.error
    app = open_lesson("5")
    assert len(app.table) == 2 and not app.info  # the seed study needs no model
