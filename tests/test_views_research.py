"""``views/parts/research.py``: each section renders with Streamlit's AppTest, draws its chart only on request, and
shows the numbers of the library call it wires (checked here against the same call made directly)."""

from __future__ import annotations

import json

import numpy as np
from streamlit.testing.v1 import AppTest

from gru_viz import analysis
from gru_viz.examples import SEED_PAIR
from gru_viz.model import load_model
from gru_viz.paths import default_data_file, default_model_dir
from gru_viz.train import read_tsv
from tests.helpers import decode
from views.parts import research

TIMEOUT = 300  # seconds: a cold start imports torch and Captum on 2 shared cores


def _patching_page():
    from gru_viz.examples import SEED_PAIR
    from gru_viz.model import load_model
    from gru_viz.paths import default_model_dir
    from views.parts import research

    research.patching_section(load_model(default_model_dir()), SEED_PAIR[0], SEED_PAIR[1], model_key="gru")


def _dynamics_page():
    from gru_viz.model import load_model
    from gru_viz.paths import default_model_dir
    from views.parts import research

    gru, rnn = load_model(default_model_dir("sst2-gru")), load_model(default_model_dir("sst2-rnn"))
    research.connectivity_section({"sst2-gru": gru, "sst2-rnn": rnn}, "not bad at all",
                                  model_keys={"sst2-gru": "gru", "sst2-rnn": "rnn"})
    research.fixed_points_section(gru, "not bad at all", model_key="gru")
    research.attribution_section(gru, "not bad at all", model_key="gru")


def _figure(app, index=0):
    """The figure JSON the browser receives for the index-th chart."""
    return json.loads(app.get("plotly_chart")[index].proto.spec)


def test_patching_section_draws_the_seed_pair_grid():
    app = AppTest.from_function(_patching_page, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert app.subheader[0].value.startswith("Activation patching")
    spec = _figure(app)
    model = load_model(default_model_dir())
    expected = analysis.patching_grid(model, *SEED_PAIR)
    np.testing.assert_allclose(decode(spec["data"][0]["z"]), expected, atol=1e-12)
    assert "P(positive)" in app.caption[0].value
    # the unit-group view: one column per group of head_unit_groups
    app.radio(key="research_patching_mode").set_value("unit groups, the source's final state").run()
    assert not app.exception
    groups = analysis.head_unit_groups(model)
    np.testing.assert_allclose(decode(_figure(app)["data"][0]["z"]),
                               analysis.patching_by_units(model, *SEED_PAIR, groups), atol=1e-12)


def test_dynamics_sections_draw_only_on_request_then_their_numbers():
    app = AppTest.from_function(_dynamics_page, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert [s.value.split(":")[0] for s in app.subheader] == ["Connectivity", "Fixed points",
                                                              "Integrated gradients beside the exact logit change"]
    assert len(app.get("plotly_chart")) == 0  # heavy views wait for their toggle

    app.toggle(key="research_connectivity_on").set_value(True).run()
    assert not app.exception
    spec = _figure(app)
    gru = load_model(default_model_dir("sst2-gru"))
    x = gru.embed(gru.tokenize("not bad at all")[1])
    expected = analysis.connectivity(gru.gru, x)
    got = np.array([[np.nan if v is None else v for v in row] for row in spec["data"][0]["z"]], dtype=float)
    lower = np.tril(np.ones((4, 4), dtype=bool))
    np.testing.assert_allclose(got[lower], np.log10(expected[lower]), rtol=1e-12)
    assert len(spec["data"]) == 2  # GRU beside RNN

    app.toggle(key="research_ig_on").set_value(True).run()
    assert not app.exception
    bars = _figure(app, 1)["data"]
    result = analysis.integrated_gradients(gru, "not bad at all")
    np.testing.assert_allclose(decode(bars[0]["y"]), result.attributions, atol=1e-9)
    np.testing.assert_allclose(decode(bars[1]["y"]), result.logit_changes, atol=1e-9)
    assert any("completeness delta" in caption.value for caption in app.caption)


def test_fixed_points_section_draws_points_into_the_path():
    app = AppTest.from_function(_dynamics_page, default_timeout=TIMEOUT).run()
    app.toggle(key="research_fixed_on").set_value(True).run()
    assert not app.exception
    names = [trace.get("name") for trace in _figure(app)["data"]]
    assert "slowest direction" in names and any(str(name).startswith("fixed point") for name in names)
    table = app.dataframe[0].value
    assert (table["residual ‖F(h) − h‖"] <= 1e-10).all()
    model = load_model(default_model_dir())
    texts = [sentence for sentence, _ in read_tsv(default_data_file("val"))[:research.FIXED_POINT_SENTENCES]]
    found = analysis.fixed_points(model.gru, analysis.constant_input(model, "mean"),
                                  analysis.visited_states(model, texts, count=research.FIXED_POINT_STARTS))
    assert list(table["kind"]) == list(found.kinds)
    np.testing.assert_allclose(table["logit at the point"], found.points @ model.readout_weight + model.readout_bias,
                               atol=1e-9)
    assert list(table["verdict"]) == ["positive" if value > 0 else "negative" for value in table["logit at the point"]]
    assert f"**{len(found)} fixed points**" in app.markdown[0].value
    # starts Newton could not finish are said as a failure beside the count, with the whole tally of what was dropped
    infos = [info.value for info in app.info if info.value.startswith("Newton did not converge")]
    if found.dropped["not_converged"]:
        assert infos == [f"Newton did not converge from {found.dropped['not_converged']} of {found.candidates} "
                         f"starts; they are left out, so fixed points near them may be missing from this list. Of "
                         f"{found.candidates} candidates, {found.dropped['box']} ran onto or past the box |h_i| = 1, "
                         f"{found.dropped['not_converged']} did not converge and {found.dropped['duplicate']} were "
                         f"duplicates."]
    else:
        assert infos == []
    eigenvalues = _figure(app, 1)["data"]
    kinds = sorted(set(found.kinds))
    assert sorted(trace["name"] for trace in eigenvalues[1:]) == sorted(
        f"{kind} ({int((found.kinds == kind).sum())})" for kind in kinds)  # one legend entry per kind
    assert len(app.get("plotly_chart")) == 2  # the path with the points, and the eigenvalues
    # a word outside the vocabulary is a message, not a traceback
    app.selectbox(key="research_fixed_input").set_value("a word…").run()
    app.text_input(key="research_fixed_word").set_value("qqqzzzx").run()
    assert not app.exception
    assert any("not in the model's vocabulary" in info.value for info in app.info)


def _attribution_with_two_points():
    """The attribution section as the page draws it, with integration cut to two points so it cannot converge."""
    import streamlit as st

    from gru_viz import analysis
    from gru_viz.model import load_model
    from gru_viz.paths import default_model_dir
    from views.parts import research

    exact = analysis.integrated_gradients
    analysis.integrated_gradients = lambda model, text, **options: exact(model, text, steps=2, **options)
    try:
        st.session_state["research_ig_on"] = True
        research.attribution_section(load_model(default_model_dir()),
                                     "the plot is thin but the acting is great , and I would happily watch it again",
                                     model_key=("two-points",))
    finally:
        analysis.integrated_gradients = exact


def test_unconverged_integrated_gradients_are_flagged_not_presented():
    app = AppTest.from_function(_attribution_with_two_points, default_timeout=TIMEOUT)
    app.run()
    assert not app.exception, [e.message for e in app.exception]
    assert len(app.warning) == 1 and "did not converge" in app.warning[0].value
    assert "2 integration points" in app.warning[0].value


def _fixed_points_cut_short():
    """The fixed-point section on a tiny model (its search is cut short by the test, through ``_fixed_points``)."""
    from tests.library_helpers import tiny_model
    from views.parts import research

    research.fixed_points_section(tiny_model(), "not bad at all", model_key="tiny")


def test_starts_newton_could_not_finish_are_said_as_a_possible_miss(monkeypatch):
    from gru_viz import analysis
    from tests.library_helpers import tiny_model
    from views.parts import research

    # one Newton step per candidate: most starts cannot finish (the script runs in this process, so it sees this)
    monkeypatch.setattr(research, "_fixed_points", lambda model_key, which, _model: analysis.fixed_points(
        _model.gru, analysis.constant_input(_model, which), newton_steps=1, adam_steps=20))
    app = AppTest.from_function(_fixed_points_cut_short, default_timeout=TIMEOUT).run()
    app.toggle(key="research_fixed_on").set_value(True).run()
    assert not app.exception
    model = tiny_model()
    found = analysis.fixed_points(model.gru, analysis.constant_input(model, "mean"), newton_steps=1, adam_steps=20)
    failed = found.dropped["not_converged"]
    assert failed > 0 and len(found) > 0
    [said] = [info.value for info in app.info if info.value.startswith("Newton did not converge")]
    assert said.startswith(f"Newton did not converge from {failed} of {found.candidates} starts; they are left out, "
                           f"so fixed points near them may be missing from this list.")
