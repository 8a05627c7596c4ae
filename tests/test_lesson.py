"""gru_viz.lesson on small models and a study with known numbers: links, probe rates, the forced GRU against the
tanh RNN with its weights (exactly equal), and the seed study's answers said plainly."""

from __future__ import annotations

import numpy as np
import pytest

from gru_viz import lesson, study
from gru_viz.examples import Example
from gru_viz.probe import review
from tests.library_helpers import tiny_model

NEUTRAL = ["the film is set in lisbon .", "the story follows a family ."]


def test_step_number_accepts_only_the_steps():
    assert [lesson.step_number(value) for value in ("1", "5", "0", "6", " 2", "2.0", "", None, 3)] == [
        1, 5, None, None, None, None, None, None, None]


def test_probe_rate_reads_the_card_and_says_how_many_tests():
    card = {"probe": {"retention": {"verdict_last": {"8": 0.8767}}, "contrast": {"4": 0.9967},
                      "settings": {"phrases_per_polarity": [150, 150]}}}
    rate = lesson.probe_rate(card, "verdict_last", 8)
    assert (rate.rate, rate.count, str(rate)) == (0.8767, 300, "passes 87.7% of such tests (n = 300)")
    assert str(lesson.probe_rate(card, "contrast", 4)) == "passes 99.7% of such tests (n = 300)"  # never "100%"
    assert lesson.probe_rate(card, "contrast", 8) is None and lesson.probe_rate({}, "contrast", 4) is None


def test_the_forced_gru_is_the_tanh_rnn_with_its_candidate_weights_exactly():
    gru, rnn = tiny_model("gru", seed=3), tiny_model("rnn", seed=4)
    text = review("i love this movie so much", 1, test="contrast", opening="the movie is really boring",
                  neutral=["the film is a movie ."])
    example = Example("x", text, "", "contrast", 1, True, "i love this movie so much")
    shown = lesson.vanilla_lesson(gru, rnn, example, names=("g", "r"), position=2, unit=1)
    assert shown.difference == 0.0 and shown.forced.shape == (len(shown.tokens), 8)
    clamped = gru.trace(text, clamp_update=0.0, clamp_reset=1.0)
    np.testing.assert_allclose(shown.forced, clamped.hidden, atol=1e-6)  # the float32 clamped trace agrees
    assert [reading.name for reading in shown.readings] == ["g", "g, forced r ≡ 1, z ≡ 0", "r (trained)"]


def _study(gru, noreset):
    runs = [{"variant": variant, "seed": seed, "heldout_accuracy": value, "diverged": False, "max_abs_hidden": 1.0,
             "gradient_flow": {"log10_norm": [0.0] * len(study.FLOW_DISTANCES)},
             "probe": {"neutral_median_distance": 0.05, "verdict_first": {"8": value, "16": value},
                       "contrast": {"8": value}}}
            for variant, values in (("gru", gru), ("gru-noreset", noreset)) for seed, value in enumerate(values)]
    return {"settings": {}, "runs": runs, "claims": study.claims(runs)}


@pytest.mark.parametrize(("noreset", "finding"), [
    ([0.7, 0.71, 0.69], "the GRU is better"),             # differences 0.1, 0.1, 0.1 ± 0.01
    ([0.8, 0.7, 0.9], "no measurable difference"),         # differences 0, 0.1, −0.1
    ([0.8, 0.8, 0.8], "no difference: the same on every seed (3)"),
    ([0.9, 0.91, 0.89], "the GRU without a reset gate is better"),
])
def test_seed_answers_say_plainly_what_holds(noreset, finding):
    answers = lesson.seed_answers(_study([0.8, 0.8, 0.8], noreset))
    unmeasured = [answer for answer in answers if answer.question == lesson.ACTIVATION_QUESTION]
    assert {answer.finding for answer in unmeasured} == {"not measured"}  # no activation variant was trained
    answers = [answer for answer in answers if answer.question == lesson.RESET_QUESTION]
    assert len(answers) == 3 and {answer.finding for answer in answers} == {finding}
    differences = 0.8 - np.array(noreset)
    assert answers[0].mean == pytest.approx(differences.mean(), abs=1e-6)
    assert answers[0].holds == f"{int((differences > 1e-9).sum())}/3 seeds"
