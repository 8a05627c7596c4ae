"""The memory probe: its texts are built as documented, and its accuracies are what the models answer."""

import json

import numpy as np
import pytest

from gru_viz.cli import main
from gru_viz.model import load_model
from gru_viz.probe import DISTANCES, SHORT, composite, load_neutral, probe_phrases, run_probe

POSITIVE = ["good good good good", "good fun good fun"]
NEGATIVE = ["bad bad bad bad", "bad dull bad dull"]
NEUTRAL = ["the man walks to the store .", "a woman reads a letter ."]


class FirstWordModel:
    """Decides on the first word only: a perfect memory that never forgets."""

    def predict_proba(self, texts):
        return np.array([1.0 if text.split()[0] == "good" else 0.0 for text in texts])


class LastWordsModel:
    """Decides on the last polar word, and says 'negative' when the last three words hold none: no memory."""

    def predict_proba(self, texts):
        out = []
        for text in texts:
            tail = text.split()[-4:]
            polar = [word for word in tail if word in ("good", "bad", "fun", "dull")]
            out.append(1.0 if polar and polar[-1] in ("good", "fun") else 0.0)
        return np.array(out)


def _stub_probe(model):
    texts, labels = POSITIVE + NEGATIVE, [1, 1, 0, 0]
    return run_probe({"stub": model}, texts, labels, neutral=NEUTRAL, samples=2)["models"]["stub"]


def test_composite_ends_every_sentence_but_the_last():
    assert composite(["great fun", "the film is set in rome ."]) == "great fun . the film is set in rome ."
    assert composite(["what a mess !", "but it works"]) == "what a mess ! but it works"


def test_a_model_that_never_forgets_keeps_every_early_verdict_and_fails_every_contrast():
    scores = _stub_probe(FirstWordModel())
    assert all(value == 1.0 for value in scores["retention"]["verdict_first"].values())
    # verdict last behind plot text: the first word is plot, which this model reads as negative
    assert scores["retention"]["verdict_last"]["0"] == 1.0
    assert all(scores["retention"]["verdict_last"][str(k)] == 0.5 for k in DISTANCES if k)
    assert all(scores["contrast"][str(k)] == 0.0 for k in DISTANCES)
    assert scores["neutral_median_distance"] == 0.5


def test_a_model_without_memory_loses_early_verdicts_and_wins_every_contrast():
    scores = _stub_probe(LastWordsModel())
    assert scores["retention"]["verdict_first"]["0"] == 1.0
    assert all(scores["retention"]["verdict_first"][str(k)] == 0.5 for k in DISTANCES if k)
    assert all(value == 1.0 for value in scores["retention"]["verdict_last"].values())
    assert all(value == 1.0 for value in scores["contrast"].values())


@pytest.fixture(scope="module")
def gru():
    return load_model("models/sst2-gru")


def test_the_shipped_gru_probe_matches_its_own_traces(gru, tmp_path):
    texts = ["a gorgeous , witty , seductive movie", "a sometimes tedious film", "the acting is superb",
             "an ugly , pointless mess of a movie", "the year 's best and most unpredictable comedy",
             "it 's a bad sign when you 're rooting for the film to end"]
    labels = [1, 0, 1, 0, 1, 0]
    neutral = load_neutral()[:6]
    result = run_probe({"gru": gru}, texts, labels, neutral=neutral, samples=3)
    scores = result["models"]["gru"]
    reference = [gru.trace(sentence).probability[-1] for sentence in neutral]
    np.testing.assert_allclose(scores["neutral_probabilities"], reference, atol=1e-4)
    assert scores["neutral_median_distance"] == pytest.approx(np.median(np.abs(np.array(reference) - 0.5)),
                                                              abs=1e-4)
    # k = 0 is the phrase alone, and only phrases the model gets right alone are drawn
    assert scores["retention"]["verdict_first"]["0"] == 1.0
    assert scores["retention"]["verdict_last"]["0"] == 1.0


def test_drawn_phrases_are_short_and_right_for_every_model(gru):
    rnn = load_model("models/sst2-rnn")
    texts = ["a gorgeous , witty , seductive movie", "a sometimes tedious film", "bad", "good " * 20]
    positive, negative = probe_phrases({"gru": gru, "rnn": rnn}, texts, [1, 0, 0, 1], samples=5)
    for phrase, label in [(p, 1) for p in positive] + [(n, 0) for n in negative]:
        assert SHORT[0] <= len(phrase.split()) <= SHORT[1]
        for model in (gru, rnn):
            assert (model.trace(phrase).probability[-1] > 0.5) == bool(label)


def test_neutral_file_is_large_enough_and_unused_in_training():
    sentences = load_neutral()
    assert len(sentences) >= 40
    from gru_viz.neutral import neutral_sentences

    # the probe's sentences are hand-written, never produced by the generator's templates
    generated = set(neutral_sentences(np.random.default_rng(0), 20000))
    assert not set(sentences) & generated


def test_cli_probe_json(capsys, tmp_path):
    data = tmp_path / "val.tsv"
    data.write_text("sentence\tlabel\n" + "".join(f"{t}\t{label}\n" for t, label in [
        ("a gorgeous , witty , seductive movie", 1), ("a sometimes tedious film", 0),
        ("the acting is superb", 1), ("an ugly , pointless mess of a movie", 0)]))
    assert main(["probe", "--model", "models/sst2-gru", "--data", str(data), "--samples", "2", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    scores = result["models"]["sst2-gru"]
    assert set(scores) == {"neutral_median_distance", "neutral_probabilities", "retention", "contrast"}
    assert set(scores["retention"]) == {"verdict_first", "verdict_last"}
    assert list(scores["contrast"]) == [str(k) for k in DISTANCES]
    assert result["settings"]["distances"] == list(DISTANCES)


def test_cli_probe_bad_model_is_one_line(capsys, tmp_path):
    assert main(["probe", "--model", str(tmp_path / "missing")]) == 2
    assert "no such model folder" in capsys.readouterr().err


@pytest.mark.parametrize("successes, tests", [(263, 300), (0, 40), (40, 40), (7, 31), (150, 300)])
def test_wilson_interval_is_where_the_score_test_stops_rejecting(successes, tests):
    from gru_viz.probe import wilson_interval

    # the interval's ends are the p where |p̂ − p| = z·sqrt(p(1 − p)/n): the roots of a quadratic in p, solved here
    z, rate = 1.959963984540054, successes / tests
    a, b, c = 1 + z * z / tests, -(2 * rate + z * z / tests), rate * rate
    roots = sorted(np.roots([a, b, c]).real)
    np.testing.assert_allclose(wilson_interval(successes, tests, z=z), roots, atol=1e-12)


def test_a_rate_is_said_with_its_sample_and_too_few_tests_are_too_few_to_tell():
    from gru_viz.probe import MIN_TESTS, card_tests, describe_rate

    assert card_tests({"probe": {"settings": {"phrases_per_polarity": [150, 150]}}}) == 300
    assert describe_rate(0.8767, 300) == "88% of 300 tests (95% interval 83%–91%)"
    assert describe_rate(0.9, MIN_TESTS - 1).startswith("too few to tell")
    assert describe_rate(0.9, None) == "90% (number of tests not recorded)"
