"""The lesson: the seed post's story in five steps, each step's numbers computed from the shipped models as one
object the page draws.

1. ``gradient_lesson``: why a vanilla RNN forgets (‖∂h_T/∂h_t‖ by word, GRU against RNN).
2. ``memory_lesson``: the update gate keeps an early verdict (three models on one review; z of the carriers).
3. ``reset_lesson``: the reset gate drops the past at "but" (r across units; the cell of the unit that flips).
4. ``vanilla_lesson``: r ≡ 1, z ≡ 0 is a vanilla RNN, exactly; and a GRU forced so is not a trained RNN.
5. ``seed_answers``: "why a reset gate?" and "why tanh and sigmoid?" from the seed study.

Every example is one of the memory probe's tests (``gru_viz.examples``), so each ``Reading`` carries the model's
rate on such tests (``ProbeRate``) and whether it reads this one right.

>>> step_number("3"), step_number("six"), step_number(None)
(3, None, None)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from gru_viz.analysis.cell import CellStep, sentence_cell_step
from gru_viz.analysis.gradients import sentence_gradient_flow
from gru_viz.analysis.interventions import CLAMP_MODES
from gru_viz.analysis.ranking import rank_units, sentence_logit_changes, unit_shares
from gru_viz.examples import EXAMPLES, Example
from gru_viz.model import is_positive
from gru_viz.probe import card_curves, probe_cases
from gru_viz.step import Step
from gru_viz.text import tokenize

__all__ = ["CONTRAST", "STEPS", "VERDICT_FIRST", "VERDICT_LAST", "GradientLesson", "MemoryLesson", "ProbeRate",
           "Reading", "ResetLesson", "SeedAnswer", "VanillaLesson", "answer_summary", "forced_probe_rate",
           "gradient_lesson", "memory_lesson", "probe_rate", "read_example", "reset_lesson", "seed_answers",
           "step_number", "vanilla_lesson"]

STEPS = {1: "Why a vanilla RNN forgets", 2: "The update gate keeps an early verdict",
         3: "The reset gate drops the past at “but”", 4: "r ≡ 1, z ≡ 0 is a vanilla RNN",
         5: "The seed's two questions, across training seeds"}
VERDICT_FIRST, VERDICT_LAST, CONTRAST = (next(example for example in EXAMPLES if example.test == test)
                                         for test in ("verdict_first", "verdict_last", "contrast"))
SHUT = 0.1  # a reset gate below this lets less than a tenth of the memory into the candidate
CARRIERS = 8  # the units that carry the verdict, shown under the story


def step_number(value) -> int | None:
    """The step a link names (``?step=3``), or None when it names none of ``STEPS``."""
    return int(value) if isinstance(value, str) and value in {str(n) for n in STEPS} else None


@dataclass(frozen=True)
class ProbeRate:
    """How often a model passes the memory probe's tests of one kind: ``rate`` of ``count`` texts (test, k)."""

    test: str
    distance: int
    rate: float
    count: int

    def __str__(self) -> str:
        return f"passes {self.rate:.1%} of such tests (n = {self.count})"  # 99.7% must not read as 100%


def probe_rate(card: dict, test: str, distance: int) -> ProbeRate | None:
    """The card's recorded probe rate for ``test`` at k = ``distance``, or None when the card has none."""
    curves = card_curves(card) if isinstance(card, dict) else None
    if not curves or distance not in curves.get(test, {}):
        return None
    count = sum(card["probe"].get("settings", {}).get("phrases_per_polarity", [0, 0]))
    return ProbeRate(test, distance, curves[test][distance], int(count))


@dataclass(frozen=True)
class Reading:
    """One model reading one example.

    name: the model's name; tokens (T words); probability (T,) P(positive) after each word; start_probability
    before any word; expected: the right verdict (True positive); rate: the model's ``ProbeRate`` on such tests.
    """

    name: str
    tokens: list[str]
    probability: np.ndarray
    start_probability: float
    expected: bool
    rate: ProbeRate | None

    @property
    def final(self) -> float:
        return float(self.probability[-1])

    @property
    def right(self) -> bool:
        return bool(is_positive(self.final) == self.expected)

    def summary(self) -> str:
        """One line a class reads: the verdict, whether it is right, and how typical that is.

        >>> rate = ProbeRate("verdict_last", 8, 0.8767, 300)
        >>> print(Reading("gru", ["a"], np.array([0.11]), 0.5, True, rate).summary())   # doctest: +NORMALIZE_WHITESPACE
        gru: P(positive) = 0.110, negative: wrong.
        This model passes 87.7% of such tests (n = 300); this is one it fails.
        """
        verdict = "positive" if is_positive(self.final) else "negative"
        line = f"{self.name}: P(positive) = {self.final:.3f}, {verdict}: {'right' if self.right else 'wrong'}."
        if self.rate is None:
            return line + " No probe rate is recorded for it."
        return line + f" This model {self.rate}" + ("." if self.right else "; this is one it fails.")


def read_example(models: dict, example: Example) -> list[Reading]:
    """Each model (name → ``SentimentModel``) reading ``example``, one of the probe's tests."""
    readings = []
    for name, model in models.items():
        sentence = model.trace(example.text)
        readings.append(Reading(name, sentence.tokens, sentence.probability, sentence.start_probability,
                                bool(example.positive), probe_rate(model.card, example.test, example.distance)))
    return readings


@dataclass(frozen=True)
class GradientLesson:
    """Step 1. tokens (T words); flow: name → (T,) ‖∂h_T/∂h_t‖_F per word (``analysis.gradient_flow``);
    readings of the same review."""

    tokens: list[str]
    flow: dict[str, np.ndarray]
    readings: list[Reading]

    def first_word(self, name: str) -> float:
        """‖∂h_T/∂h_0‖: how much of the last word's gradient reaches the first word, T − 1 words back."""
        return float(self.flow[name][0])


def gradient_lesson(models: dict, example: Example) -> GradientLesson:
    """Gradient flow on ``example`` for each model (a GRU and an RNN)."""
    readings = read_example(models, example)
    flow = {name: sentence_gradient_flow(model, example.text) for name, model in models.items()}
    return GradientLesson(readings[0].tokens, flow, readings)


@dataclass(frozen=True)
class MemoryLesson:
    """Step 2. readings: each model on the review; carriers (U,) the GRU's units with the largest share of its
    verdict, shares (U,) those shares; update (T, H) the GRU's z; plot: the plot's word positions (slice);
    kept (U,) ∏ z over the plot of each carrier: the share of its memory that survives the whole plot."""

    readings: list[Reading]
    carriers: np.ndarray
    shares: np.ndarray
    update: np.ndarray
    plot: slice
    kept: np.ndarray


def _plot_span(example: Example, steps: int) -> slice:
    """Where the plot sentences are: after the phrase and its "." (verdict first), or before the phrase."""
    phrase = len(tokenize(example.phrase).tokens)
    return slice(phrase + 1, steps) if example.test == "verdict_first" else slice(0, steps - phrase)


def memory_lesson(models: dict, example: Example, gru: str) -> MemoryLesson:
    """The models on ``example`` (verdict first or last), and the update gate of model ``gru``'s carriers."""
    sentence = models[gru].trace(example.text)
    changes = sentence_logit_changes(sentence)  # (T, H)
    carriers = rank_units(changes, CARRIERS)
    plot = _plot_span(example, len(sentence.tokens))
    update = sentence.update.astype(np.float64)  # (T, H)
    kept = np.prod(update[plot][:, carriers], axis=0)  # (U,)
    return MemoryLesson(read_example(models, example), carriers, unit_shares(changes)[carriers], update, plot, kept)


@dataclass(frozen=True)
class ResetLesson:
    """Step 3, on model ``name`` reading a contrast example.

    tokens; position: the word "but"; reset (H,) r at "but"; shut: how many units have r < ``SHUT`` there;
    carriers (U,): the units with the largest share of the verdict, of which ``carriers_shut`` have r < ``SHUT``;
    unit: the unit that flips (its vote w_u·h_u changes sign from before "but" to the end, by the most);
    before, after: that vote before "but" and after the last word; step: its ``CellStep`` at "but";
    reading: the model's ``Reading`` of the example.
    """

    name: str
    tokens: list[str]
    position: int
    reset: np.ndarray
    shut: int
    carriers: np.ndarray
    carriers_shut: int
    unit: int
    before: float
    after: float
    step: CellStep
    reading: Reading


def _turn(sentence) -> int:
    """The position of the last "but": where a contrast review turns."""
    turns = [t for t, word in enumerate(sentence.normalized) if word == "but"]
    if not turns:
        raise ValueError("the sentence has no 'but' to turn at")
    return turns[-1]


def _flipping_unit(sentence, position: int) -> tuple[int, float, float]:
    """(unit, vote before, vote at the end) of the unit whose vote w_u·h_u changes sign most after ``position``;
    the unit that changes most when no vote changes sign."""
    weight = sentence.head_weight  # (H,)
    before = weight * (sentence.hidden[position - 1] if position else sentence.h0)  # (H,)
    after = weight * sentence.hidden[-1]  # (H,)
    change = np.abs(after - before)
    flips = np.flatnonzero(np.sign(before) != np.sign(after))
    candidates = flips if len(flips) else np.arange(len(weight))
    unit = int(candidates[np.argmax(change[candidates])])
    return unit, float(before[unit]), float(after[unit])


def reset_lesson(model, name: str, example: Example) -> ResetLesson:
    """The reset gate at the turn of ``example`` (a contrast review) for ``model`` (a GRU)."""
    sentence = model.trace(example.text)
    position = _turn(sentence)
    reset = sentence.reset[position].astype(np.float64)  # (H,)
    unit, before, after = _flipping_unit(sentence, position)
    carriers = rank_units(sentence_logit_changes(sentence), CARRIERS)
    return ResetLesson(name, sentence.tokens, position, reset, int((reset < SHUT).sum()), carriers,
                       int((reset[carriers] < SHUT).sum()), unit, before, after,
                       sentence_cell_step(model, sentence, position, unit), read_example({name: model}, example)[0])


@dataclass(frozen=True)
class VanillaLesson:
    """Step 4. forced (T, H) float64 states of the GRU step with r ≡ 1, z ≡ 0; vanilla (T, H) states of the tanh
    RNN step whose weights are the GRU's candidate rows (W_in, W_hn, b_in, b_hn), from h0 = 0; difference:
    max |forced − vanilla| over every word and unit (0 exactly: the same arithmetic). position, unit: the word
    and unit the cell shows, with ``step_inputs`` = (W_in x + b_in, W_hn h + b_hn) of that unit there.
    readings: the GRU free, the GRU forced (r ≡ 1, z ≡ 0) and the trained RNN on the same example."""

    tokens: list[str]
    forced: np.ndarray
    vanilla: np.ndarray
    difference: float
    position: int
    unit: int
    step_inputs: tuple[float, float]
    readings: list[Reading]


def _candidate_rnn(step: Step) -> Step:
    """The tanh RNN step made of a GRU step's candidate rows: h_t = tanh(W_in x + b_in + W_hn h + b_hn)."""
    rows = slice(2 * step.units, 3 * step.units)
    return Step("rnn", step.weight_ih[rows], step.weight_hh[rows], step.bias_ih[rows], step.bias_hh[rows])


def vanilla_lesson(gru, rnn, example: Example, *, names: tuple[str, str], position: int, unit: int) -> VanillaLesson:
    """The GRU ``gru`` forced to r ≡ 1, z ≡ 0 against the tanh RNN with its weights (every word of ``example``),
    and beside them the trained RNN ``rnn``. ``names``: (GRU's, RNN's)."""
    sentence = gru.trace(example.text)
    x = gru.embed(sentence.ids.tolist()).double()  # (T, E)
    step = Step.of(gru.gru, dtype=torch.float64)
    plain = _candidate_rnn(step)
    units = step.units
    opened, shut = torch.ones(units, dtype=torch.float64), torch.zeros(units, dtype=torch.float64)
    h_forced = h_vanilla = torch.zeros(units, dtype=torch.float64)  # (H,)
    forced, vanilla, inputs = [], [], None
    for t in range(len(x)):
        if t == position:
            inputs = (float(plain.input_part(x[t])[unit]), float((h_vanilla @ plain.weight_hh.T + plain.bias_hh)[unit]))
        h_forced = step.gates(step.input_part(x[t]), h_forced, forced_reset=opened, forced_update=shut).hidden
        h_vanilla = plain(x[t], h_vanilla)
        forced.append(h_forced)
        vanilla.append(h_vanilla)
    forced, vanilla = torch.stack(forced).numpy(), torch.stack(vanilla).numpy()  # (T, H) each
    clamped = gru.trace(example.text, **CLAMP_MODES["vanilla-RNN mode"])
    trained = rnn.trace(example.text)
    expected = bool(example.positive)
    readings = [read_example({names[0]: gru}, example)[0],
                Reading(f"{names[0]}, forced r ≡ 1, z ≡ 0", clamped.tokens, clamped.probability,
                        clamped.start_probability, expected, None),
                Reading(f"{names[1]} (trained)", trained.tokens, trained.probability, trained.start_probability,
                        expected, probe_rate(rnn.card, example.test, example.distance))]
    return VanillaLesson(sentence.tokens, forced, vanilla, float(np.abs(forced - vanilla).max()), position, unit,
                         inputs, readings)


def forced_probe_rate(models: dict, gru: str, example: Example) -> ProbeRate:
    """The rate of model ``gru`` forced to r ≡ 1, z ≡ 0 on the probe's tests of ``example``'s kind, drawn as the
    cards' rates were (phrases every model in ``models`` reads right alone). Reads the validation set: seconds."""
    cases = probe_cases(models, example.test, example.distance)
    probability = models[gru].predict_proba([text for text, _ in cases], **CLAMP_MODES["vanilla-RNN mode"])
    right = is_positive(probability) == np.array([label == 1 for _, label in cases])
    return ProbeRate(example.test, example.distance, float(right.mean()), len(cases))


@dataclass(frozen=True)
class SeedAnswer:
    """One measured comparison of the seed study: ``subject`` (what is compared, "gru − variant"), ``measure``
    in words, the per-seed ``differences``, their mean with its 95% interval (``low``, ``high``; None for one
    seed), ``seeds`` (n), ``holds`` ("k/N seeds" where the GRU is better) and ``finding`` in plain words."""

    question: str
    subject: str
    measure: str
    differences: dict[str, float]
    mean: float | None
    low: float | None
    high: float | None
    seeds: int
    holds: str
    finding: str


LOWER_IS_BETTER = ("max_abs_hidden", "diverged")  # the GRU is better where these are smaller
MEASURES = {"heldout_accuracy": "held-out accuracy", "retention_k16": "keeps an early verdict (k = 16)",
            "max_abs_hidden": "largest |h| on the validation set", "diverged": "training diverged (1/0)"}
RESET_CLAIMS = {"reset_helps_retention": "keeps an early verdict (k = 16)",
                "reset_helps_contrast": "drops the past after “but” (k = 8)",
                "reset_helps_accuracy": "held-out accuracy"}
RESET_QUESTION, ACTIVATION_QUESTION = "Why a reset gate?", "Why tanh and sigmoid?"


def _finding(difference: dict, lower_is_better: bool, other: str) -> str:
    values = list(difference["differences"].values())
    if not difference["n"]:
        return "not measured"
    if all(value == 0 for value in values):
        return f"no difference: the same on every seed ({difference['n']})"
    if difference["low"] is None:
        return "one seed: an anecdote"
    low, high = difference["low"], difference["high"]
    if lower_is_better:
        low, high = -high, -low
    if low > 0:
        return "the GRU is better"
    if high < 0:
        return f"{other} is better"
    return "no measurable difference"


def _answer(question: str, subject: str, measure: str, difference: dict, holds: str, lower: bool,
            other: str) -> SeedAnswer:
    return SeedAnswer(question, subject, measure, dict(difference["differences"]), difference["mean"],
                      difference["low"], difference["high"], int(difference["n"]), holds,
                      _finding(difference, lower, other))


def seed_answers(study: dict) -> list[SeedAnswer]:
    """The seed's two questions answered from a study (``study.read_study``): the reset gate's three claims
    (gru − gru-noreset), then each activation variant's measures (gru − variant). Claims missing from the study
    are left out."""
    claims = {claim["claim"]: claim for claim in study.get("claims", [])}
    answers = []
    for name, measure in RESET_CLAIMS.items():
        if name in claims:
            claim = claims[name]
            answers.append(_answer(RESET_QUESTION, "gru − gru-noreset", measure, claim["difference"], claim["holds"],
                                   False, "the GRU without a reset gate"))
    for name, claim in claims.items():
        if name.startswith("activations_"):
            variant = claim["variants"][1]
            for key, entry in claim["measures"].items():
                answers.append(_answer(ACTIVATION_QUESTION, f"gru − {variant}", MEASURES.get(key, key),
                                       entry["difference"], entry["holds"], key in LOWER_IS_BETTER, variant))
    return answers


def answer_summary(answers: list[SeedAnswer]) -> str:
    """One question's answers in a sentence a class reads: which comparisons show a measurable difference, on
    how many seeds, and that the rest show none.

    >>> same = SeedAnswer("q", "gru − x", "accuracy", {}, 0.0, -0.1, 0.1, 5, "3/5 seeds", "no measurable difference")
    >>> answer_summary([same, same])
    'No measurable difference on any of the 2 comparisons (5 seeds each).'
    >>> better = SeedAnswer("q", "gru − relu", "largest |h|", {}, -21.5, -29.7, -13.4, 3, "3/3 seeds",
    ...                     "the GRU is better")
    >>> answer_summary([better, same])
    'Measurably better with the GRU: largest |h| (gru − relu, 3/3 seeds). No measurable difference on the other 1.'
    """
    if not answers:
        return "The seed study holds no comparison for this question."
    better = [answer for answer in answers if answer.finding == "the GRU is better"]
    worse = [answer for answer in answers if answer.finding.endswith(" is better") and answer not in better]
    rest = len(answers) - len(better) - len(worse)
    if not better and not worse:
        seeds = sorted({answer.seeds for answer in answers})
        return (f"No measurable difference on any of the {len(answers)} comparisons "
                f"({'/'.join(map(str, seeds))} seeds each).")
    parts = []
    if better:
        parts.append("Measurably better with the GRU: " + "; ".join(
            f"{answer.measure} ({answer.subject}, {answer.holds})" for answer in better) + ".")
    if worse:
        parts.append("Measurably worse with the GRU: " + "; ".join(
            f"{answer.measure} ({answer.subject}, GRU better on {answer.holds})" for answer in worse) + ".")
    if rest:
        parts.append(f"No measurable difference on the other {rest}.")
    return " ".join(parts)
