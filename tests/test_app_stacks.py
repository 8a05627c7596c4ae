"""The page on a model of another shape: a 2-layer bidirectional 3-class GRU, picked by layer and direction through
the link (``?layer=``, ``?direction=``) and the picker, with the charts' numbers checked against the sentence's own
trace and a float64 GRU written here; hostile cards and link values are one-line messages or defaults. AppTest."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from gru_viz.model import ModelConfig, SentimentNet, load_model, save_model
from gru_viz.text import Vocabulary, tokenize
from tests.helpers import (
    SENTENCE,
    open_page,
    page_app,
    run,
    story,
    switch_on_every_toggle,
    write_tiny_model,
)

LABELS = ["sad", "neutral", "happy"]


def _write_stack(folder):
    vocab = Vocabulary(["<pad>", "<unk>"] + sorted(set(tokenize(SENTENCE).normalized)))
    torch.manual_seed(4)
    net = SentimentNet(ModelConfig(vocab_size=len(vocab), embed_dim=6, hidden_size=5, num_layers=2,
                                   bidirectional=True, num_classes=3))
    with torch.no_grad():
        net.head.weight.mul_(4)
    save_model(net, vocab, {"name": "stack", "labels": LABELS}, folder)


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    write_tiny_model(folder / "sst2-gru", "gru", seed=0, projection=False)
    _write_stack(folder / "stack")
    _write_stack(folder / "hostile")
    card = json.loads((folder / "hostile" / "card.json").read_text())
    card["config"]["num_layers"] = 10**9
    (folder / "hostile" / "card.json").write_text(json.dumps(card))
    return folder


@pytest.fixture
def app(models_dir, monkeypatch):
    monkeypatch.setenv("GRU_VIZ_MODELS", str(models_dir))
    app = page_app()
    app.query_params["text"] = SENTENCE
    app.query_params["model"] = "stack"
    return app


def _units_row(app) -> np.ndarray:
    """The story chart's bottom row as (T, K) in the order drawn (words, then units by their labels)."""
    _, rows = story(app)["units"]
    units = list(dict.fromkeys(row["unit"] for row in rows))
    return units, np.array([row["value"] for row in rows]).reshape(-1, len(units))


def _prefix_probabilities(model, ids) -> np.ndarray:
    """Every prefix's class probabilities in float64: each prefix run through the stack on its own."""
    state = {name: tensor.double().numpy() for name, tensor in model.state_dict().items()}
    rows = []
    for k in range(1, len(ids) + 1):
        x = state["embedding.weight"][ids[:k]]  # (k, E)
        for layer in range(2):
            outputs = []
            for direction, order in ((0, range(k)), (1, range(k - 1, -1, -1))):
                suffix = f"_l{layer}" + ("_reverse" if direction else "")
                w_ih, w_hh = state[f"rnn.weight_ih{suffix}"], state[f"rnn.weight_hh{suffix}"]
                b_ih, b_hh = state[f"rnn.bias_ih{suffix}"], state[f"rnn.bias_hh{suffix}"]
                h, out = np.zeros(5), np.zeros((k, 5))
                for t in order:
                    gi, gh = w_ih @ x[t] + b_ih, w_hh @ h + b_hh
                    r, z = (1 / (1 + np.exp(-(gi[:10] + gh[:10])))).reshape(2, 5)
                    h = (1 - z) * np.tanh(gi[10:] + r * gh[10:]) + z * h
                    out[t] = h
                outputs.append(out)
            x = np.concatenate(outputs, axis=1)  # (k, 10)
        features = np.concatenate([x[-1, :5], x[0, 5:]])  # the top layer's h_n: forward, then backward
        logits = state["head.weight"] @ features + state["head.bias"]
        rows.append(np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum())
    return np.array(rows)  # (T, 3)


def test_the_link_picks_a_layer_and_direction_and_the_charts_hold_its_values(app, models_dir):
    app.query_params["layer"] = "1"
    app.query_params["direction"] = "backward"
    run(app)
    assert app.selectbox(key="layer").value == 1 and app.radio(key="direction").value == "backward"
    model = load_model(models_dir / "stack")
    sentence = model.trace(SENTENCE)
    expected = _prefix_probabilities(model, list(sentence.ids))
    predicted = int(np.argmax(expected[-1]))

    # the verdict names the class; every class is one click away
    assert [(metric.label, metric.value) for metric in app.metric] == [
        (f"Verdict, P = {expected[-1, predicted]:.2f}", LABELS[predicted])]
    (table,) = [frame.value for frame in app.dataframe]
    assert table["class"].tolist() == LABELS
    np.testing.assert_allclose(table["P after the last word"], expected[-1], atol=1e-6)

    # the probability line: the predicted class after each prefix; the units row: layer 1's backward z
    _, words = story(app)["probability"]
    np.testing.assert_allclose([row["p"] for row in words[1:]], expected[:, predicted], atol=1e-6)
    units, values = _units_row(app)
    assert units == [f"unit {u}" for u in range(5)]  # by index: no share of the verdict at this view
    np.testing.assert_array_equal(values, sentence.at(0, 1).update.astype(np.float64))
    assert any("splits by unit only" in info.value for info in app.info)

    # the picker moves the view and the link follows
    app.selectbox(key="layer").set_value(2)
    app.radio(key="direction").set_value("forward")
    run(app)
    assert (app.query_params["layer"], app.query_params["direction"]) == ("2", "forward")
    np.testing.assert_array_equal(_units_row(app)[1], sentence.at(1, 0).update.astype(np.float64))


@pytest.mark.parametrize("layer, direction", [("7", "sideways"), ("0", "Forward"), ("-1", ""), ("1e9", "x" * 500)])
def test_bad_link_values_fall_back_to_the_top_layer_forward(app, layer, direction):
    app.query_params["layer"] = layer
    app.query_params["direction"] = direction
    run(app)
    assert app.selectbox(key="layer").value == 2 and app.radio(key="direction").value == "forward"
    assert (app.query_params["layer"], app.query_params["direction"]) == ("2", "forward")


def test_every_page_and_view_runs_on_the_stack_and_says_what_it_cannot_show(app):
    app.query_params["layer"] = "1"
    run(app)
    switch_on_every_toggle(app)
    assert any("retention decomposition" in info.value for info in app.info)
    for page in ("cell", "compare", "dynamics", "dataset"):
        open_page(app, page)
        switch_on_every_toggle(app)
        assert app.selectbox(key="layer").value == 1 if page != "dataset" else True
    assert any("one layer, one direction and one logit" in info.value for info in app.info)


def test_a_one_layer_model_shows_no_picker_and_leaves_the_link_alone(app):
    app.query_params["model"] = "sst2-gru"
    app.query_params["layer"] = "2"
    run(app)
    assert not [box for box in app.selectbox if box.key == "layer"]
    assert "layer" not in app.query_params and "direction" not in app.query_params


def test_a_hostile_card_is_a_one_line_error(app):
    app.query_params["model"] = "hostile"
    run(app)
    assert [error.value for error in app.error] == ["The model hostile could not be loaded:"]
    (message,) = [text.value for text in app.text]
    assert "num_layers must be a whole number from 1 to 16" in message and "\n" not in message


def test_connectivity_of_a_stack_is_drawn_for_the_picked_layer_and_direction(app, models_dir):
    from gru_viz.analysis import layer_connectivity
    from tests.helpers import charts

    app.query_params["layer"] = "1"
    app.query_params["direction"] = "backward"
    open_page(run(app), "dynamics")
    app.toggle(key="research_connectivity_on").set_value(True)
    run(app)
    assert any("one layer and direction at a time" in info.value for info in app.info)
    heatmap = charts(app)["chart_connectivity"]["data"][0]
    assert heatmap["name"] == "stack, layer 1 backward"
    model = load_model(models_dir / "stack")
    expected = layer_connectivity(model.gru, model.embed(model.trace(SENTENCE).ids), 0, 1)  # its own float64 oracle
    drawn = np.array([[np.nan if v is None else v for v in row] for row in heatmap["customdata"]], dtype=float)
    upper = np.triu(np.ones_like(expected, dtype=bool))
    np.testing.assert_allclose(drawn[upper], expected[upper], rtol=1e-12)
    assert np.isnan(drawn[~upper]).all()
