"""The memory probe: does a model keep a verdict through plot description, and forget it after "but"?

    python -m gru_viz probe [--model DIR ...] [--json]

For each model it measures, on sentences no training run ever sees:

- **neutral calibration**: P(positive) of each hand-written plot sentence in ``gru_viz/data/neutral_plot.txt``;
  the median |P − 0.5| (0 is perfectly undecided, 0.5 is a confident verdict on plain description);
- **retention**: short validation phrases that every compared model classifies right alone, followed by
  ("verdict first") or preceded by ("verdict last") k = 0, 1, 2, 4, 8, 16 of those plot sentences; the
  accuracy by k. "Verdict first" is the seed's "I love this movie so much …" surviving a plot summary;
- **contrast**: a phrase of one polarity, k plot sentences, then "but" and a phrase of the other polarity (the
  seed's "… But the movie is really boring"); right means the last phrase's verdict.

A phrase that does not end a sentence gets " ." before what follows, as a review would write it. The draws are
seeded, so every run of the same models on the same data prints the same figures.

>>> from gru_viz.model import load_model
>>> result = run_probe({"sst2-gru": load_model("models/sst2-gru")}, samples=20)
>>> sorted(result["models"]["sst2-gru"])
['contrast', 'neutral_median_distance', 'neutral_probabilities', 'retention']
>>> sorted(result["models"]["sst2-gru"]["retention"])
['verdict_first', 'verdict_last']
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from gru_viz.model import VERDICT_THRESHOLD, is_positive
from gru_viz.text import tokenize

__all__ = ["DISTANCES", "MIN_TESTS", "card_curves", "card_tests", "composite", "describe_rate", "load_neutral",
           "probe_cases", "probe_phrases", "record_probe", "review", "run_probe", "wilson_interval"]

DISTANCES = (0, 1, 2, 4, 8, 16)  # plot sentences between (or around) the verdict and the end
SHORT = (4, 12)  # "short" validation phrases: this many tokens, inclusive
ENDS = (".", "!", "?")
MIN_TESTS = 30  # a pass rate measured on fewer tests is "too few to tell": its 95% interval spans ~±0.18 or more


def load_neutral(path=None) -> list[str]:
    """The hand-written neutral plot sentences (one per line, '#' comments skipped)."""
    if path is None:
        text = resources.files("gru_viz").joinpath("data/neutral_plot.txt").read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    sentences = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    if not sentences:
        raise ValueError(f"{path or 'neutral_plot.txt'}: holds no sentences")
    return sentences


def _ended(phrase: str) -> str:
    phrase = phrase.strip()
    return phrase if phrase.endswith(ENDS) else phrase + " ."


def composite(parts: list[str]) -> str:
    """Join phrases into one review: each part that is not the last ends as a sentence."""
    return " ".join([_ended(part) for part in parts[:-1]] + [parts[-1].strip()])


def review(phrase: str, k: int, *, test: str = "verdict_first", opening: str | None = None, seed: int = 0,
           neutral: list[str] | None = None) -> str:
    """One probe-style text around ``phrase``: k of the probe's plot sentences drawn with ``seed``, after it
    ("verdict_first"), before it ("verdict_last"), or between ``opening`` and "but ``phrase``" ("contrast").
    The page's long-range examples are built this way, so the probe's curve at k says how typical they are.

    >>> review("i love this movie so much", 1, neutral=["the film is set in lisbon ."])
    'i love this movie so much . the film is set in lisbon .'
    >>> review("the movie is really boring", 1, test="contrast", opening="i love this movie",
    ...        neutral=["the film is set in lisbon ."])
    'i love this movie . the film is set in lisbon . but the movie is really boring'
    """
    neutral = load_neutral() if neutral is None else neutral
    plot = _neutral_run(np.random.default_rng(seed), neutral, k)
    if test == "verdict_first":
        return composite([phrase, *plot])
    if test == "verdict_last":
        return composite([*plot, phrase])
    if test == "contrast":
        if opening is None:
            raise ValueError("a contrast review needs an opening phrase of the other polarity")
        return composite([opening, *plot, "but " + phrase])
    raise ValueError(f"test must be verdict_first, verdict_last or contrast, got {test!r}")


def probe_phrases(models: dict, texts: list[str], labels, *, samples: int, seed: int = 0) -> tuple[list, list]:
    """Up to ``samples`` short phrases per polarity that every model classifies right alone:
    (positive phrases, negative phrases), drawn with ``seed``."""
    labels = np.asarray(labels)
    lengths = np.array([len(tokenize(text).tokens) for text in texts])
    candidates = np.flatnonzero((lengths >= SHORT[0]) & (lengths <= SHORT[1]))
    right = np.ones(len(candidates), dtype=bool)
    for model in models.values():
        predicted = is_positive(model.predict_proba([texts[i] for i in candidates]))
        right &= predicted == labels[candidates].astype(bool)
    chosen = candidates[right]
    rng = np.random.default_rng(seed)
    groups = []
    for label in (1, 0):
        pool = chosen[labels[chosen] == label]
        groups.append([texts[i] for i in rng.permutation(pool)[:samples]])
    return groups[0], groups[1]


def _neutral_run(rng, neutral: list[str], count: int) -> list[str]:
    return [neutral[i] for i in rng.choice(len(neutral), size=count, replace=count > len(neutral))]


def _cases(positive, negative, neutral, seed) -> dict:
    """The probe's texts and right answers (1 positive), per test and distance k; the same for every model."""
    rng = np.random.default_rng(seed)
    phrases = [(p, 1) for p in positive] + [(n, 0) for n in negative]
    cases = {"verdict_first": {}, "verdict_last": {}, "contrast": {}}
    for k in DISTANCES:
        first, last, contrast = [], [], []
        for index, (phrase, label) in enumerate(phrases):
            plot = _neutral_run(rng, neutral, k)
            first.append((composite([phrase, *plot]), label))
            plot = _neutral_run(rng, neutral, k)
            last.append((composite([*plot, phrase]), label))
            others = negative if label == 1 else positive
            opening = others[index % len(others)]
            plot = _neutral_run(rng, neutral, k)
            contrast.append((composite([opening, *plot, "but " + phrase]), label))
        cases["verdict_first"][k], cases["verdict_last"][k], cases["contrast"][k] = first, last, contrast
    return cases


def probe_cases(models: dict, test: str, distance: int, texts: list[str] | None = None, labels=None, *,
                neutral: list[str] | None = None, samples: int = 150, seed: int = 0) -> list[tuple[str, int]]:
    """The probe's texts of one test ("verdict_first", "verdict_last" or "contrast") at k = ``distance`` with their
    right answers (1 positive), exactly as ``run_probe`` draws them for ``models``: so another model (a GRU with
    forced gates, say) can be scored on the very tests the cards' rates count."""
    if texts is None:
        texts, labels = _shipped_validation()
    neutral = load_neutral() if neutral is None else neutral
    positive, negative = probe_phrases(models, texts, labels, samples=samples, seed=seed)
    cases = _cases(positive, negative, neutral, seed)
    if test not in cases or distance not in cases[test]:
        raise ValueError(f"the probe has no {test} test at k = {distance}")
    return cases[test][distance]


def run_probe(models: dict, texts: list[str] | None = None, labels=None, *, neutral: list[str] | None = None,
              samples: int = 150, seed: int = 0) -> dict:
    """The probe's figures for each model in ``models`` (name → ``SentimentModel``).

    ``texts``/``labels``: the labelled phrases to draw verdicts from (default: the shipped validation set).
    Returns {"settings": …, "models": {name: {"neutral_median_distance", "neutral_probabilities",
    "retention": {"verdict_first": {k: accuracy}, "verdict_last": {…}}, "contrast": {k: accuracy}}}}.
    """
    if not models:
        raise ValueError("the probe needs at least one model")
    if texts is None:
        texts, labels = _shipped_validation()
    neutral = load_neutral() if neutral is None else neutral
    positive, negative = probe_phrases(models, texts, labels, samples=samples, seed=seed)
    if not positive or not negative:
        raise ValueError("no short phrase of each polarity is classified right by every model")
    cases = _cases(positive, negative, neutral, seed)
    result = {"settings": {"distances": list(DISTANCES), "phrases_per_polarity": [len(positive), len(negative)],
                           "short_tokens": list(SHORT), "neutral_sentences": len(neutral), "seed": seed},
              "models": {}}
    for name, model in models.items():
        neutral_p = model.predict_proba(neutral)
        scores = {}
        for test, by_k in cases.items():
            scores[test] = {}
            for k, items in by_k.items():
                p = model.predict_proba([text for text, _ in items])
                right = is_positive(p) == np.array([label == 1 for _, label in items])
                scores[test][str(k)] = round(float(right.mean()), 4)
        result["models"][name] = {
            "neutral_median_distance": round(float(np.median(np.abs(neutral_p - VERDICT_THRESHOLD))), 4),
            "neutral_probabilities": [round(float(p), 4) for p in neutral_p],
            "retention": {"verdict_first": scores["verdict_first"], "verdict_last": scores["verdict_last"]},
            "contrast": scores["contrast"],
        }
    return result


def record_probe(result: dict, folders: dict) -> None:
    """Write each model's figures into its card under "probe" (with the settings they were measured with), so
    the page can show a model's curves beside its examples without running the probe. ``folders``: name → model
    folder, the names ``result`` uses."""
    for name, folder in folders.items():
        card_path = Path(folder) / "card.json"
        card = json.loads(card_path.read_text(encoding="utf-8"))
        figures = {k: v for k, v in result["models"][name].items() if k != "neutral_probabilities"}
        card["probe"] = {**figures, "settings": result["settings"],
                         "compared_with": sorted(set(result["models"]) - {name})}
        card_path.write_text(json.dumps(card, indent=2) + "\n")


def card_curves(card: dict) -> dict[str, dict[int, float]] | None:
    """A card's recorded probe curves as {test: {k: accuracy}} (tests: verdict_first, verdict_last, contrast),
    or None when the card has none (a model that was never probed).

    >>> card_curves({"probe": {"retention": {"verdict_first": {"0": 1.0, "8": 0.9}, "verdict_last": {"0": 1.0}},
    ...                        "contrast": {"0": 0.95}}})
    {'verdict_first': {0: 1.0, 8: 0.9}, 'verdict_last': {0: 1.0}, 'contrast': {0: 0.95}}
    >>> card_curves({}) is None
    True
    """
    probe = card.get("probe")
    if not isinstance(probe, dict):
        return None
    tests = {**probe.get("retention", {}), "contrast": probe.get("contrast", {})}
    return {test: {int(k): float(v) for k, v in by_k.items()} for test, by_k in tests.items()}


def card_tests(card: dict) -> int | None:
    """How many tests each point of a card's probe curves was measured on (every test and k draws one text per
    phrase: the phrases of both polarities), or None when the card does not say.

    >>> card_tests({"probe": {"settings": {"phrases_per_polarity": [150, 150]}}})
    300
    >>> card_tests({"probe": {}}) is None
    True
    """
    try:
        count = sum(int(n) for n in card["probe"]["settings"]["phrases_per_polarity"])
    except (KeyError, TypeError, ValueError):
        return None
    return count if count > 0 else None


def wilson_interval(successes: int, tests: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a pass rate ``successes / tests`` (95% at z = 1.96): unlike rate ± z·SE it
    stays inside [0, 1] and is not zero-width at a rate of 0 or 1.

    >>> [round(bound, 4) for bound in wilson_interval(263, 300)]
    [0.8346, 0.9092]
    >>> [round(bound, 4) for bound in wilson_interval(10, 10)]
    [0.7225, 1.0]
    """
    if tests <= 0 or not 0 <= successes <= tests:
        raise ValueError(f"a pass rate needs 0 ≤ successes ≤ tests and tests > 0, got {successes} of {tests}")
    rate = successes / tests
    centre = (rate + z * z / (2 * tests)) / (1 + z * z / tests)
    half = z / (1 + z * z / tests) * np.sqrt(rate * (1 - rate) / tests + z * z / (4 * tests * tests))
    return float(max(0.0, centre - half)), float(min(1.0, centre + half))


def describe_rate(rate: float, tests: int | None) -> str:
    """A probe pass rate said with its sample: "88% of 300 tests (95% interval 83%–91%)", "88% (number of tests
    not recorded)", or "too few to tell" under ``MIN_TESTS``.

    >>> describe_rate(0.8767, 300)
    '88% of 300 tests (95% interval 83%–91%)'
    >>> describe_rate(0.9, 10)
    'too few to tell: 9 of 10 tests'
    """
    if tests is None:
        return f"{rate:.0%} (number of tests not recorded)"
    successes = int(round(rate * tests))
    if tests < MIN_TESTS:
        return f"too few to tell: {successes} of {tests} tests"
    low, high = wilson_interval(successes, tests)
    return f"{rate:.0%} of {tests} tests (95% interval {low:.0%}–{high:.0%})"


def _shipped_validation() -> tuple[list[str], list[int]]:
    from gru_viz.paths import default_data_dir
    from gru_viz.text import parse_labelled_tsv

    path = default_data_dir() / "val.tsv"
    try:
        return parse_labelled_tsv(path.read_bytes(), str(path))
    except OSError as error:
        raise ValueError(f"{path}: cannot read the validation data ({error.strerror})") from None
