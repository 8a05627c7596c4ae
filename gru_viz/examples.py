"""Example sentences for the page's one-click buttons.

The seed's pair shows the verdict forming over a few words. The long-range examples are built exactly as the
memory probe builds its texts (``gru_viz.probe.review``, seed 0: the first draw, not a picked one), from the
seed's sentences and the probe's hand-written plot sentences, so the probe's curve at the same k, shown beside
them on the page, tells how often a model gets such a text right: an example is typical, not a showcase.
"""

from __future__ import annotations

from dataclasses import dataclass

from gru_viz.model import is_positive
from gru_viz.probe import card_curves, card_tests, describe_rate, review

__all__ = ["Example", "EXAMPLES", "SEED_PAIR", "NEUTRAL_TAIL", "how_it_reads"]

SEED_PAIR = ("I love this movie so much", "But the movie is really boring")

NEUTRAL_TAIL = ("the film follows a family as they move from the city to a small town by the sea "
                "and slowly settle into their new house .")


@dataclass(frozen=True)
class Example:
    label: str  # the button's text
    text: str
    why: str  # the button's tooltip
    test: str | None = None  # the probe's test this example is drawn as (None: not a probe test)
    distance: int | None = None  # k, the plot sentences in it
    positive: bool | None = None  # the right verdict, as the probe scores it
    phrase: str | None = None  # the phrase whose verdict is the right one

    @property
    def verdict(self) -> str | None:
        """The right reading, "positive" or "negative" (None: not a probe test)."""
        return None if self.positive is None else ("positive" if self.positive else "negative")

    @property
    def k(self) -> int | None:
        return self.distance


EXAMPLES = (
    Example("I love this movie so much", SEED_PAIR[0], "The seed's positive sentence."),
    Example("But the movie is really boring", SEED_PAIR[1], "The seed's negative sentence."),
    Example("Love it, then 8 plot sentences", review(SEED_PAIR[0], 8),
            "Verdict first: the memory probe's test at k = 8 (its curve is beside the chart). The verdict must "
            "survive about 90 words of plot.", "verdict_first", 8, True, SEED_PAIR[0]),
    Example("8 plot sentences, then love it", review(SEED_PAIR[0], 8, test="verdict_last"),
            "Verdict last: the probe's test at k = 8. The plot comes first; can a short verdict at the end "
            "still decide?", "verdict_last", 8, True, SEED_PAIR[0]),
    Example("Love it … but boring", review(
        "the movie is really boring", 4, test="contrast", opening=SEED_PAIR[0]),
            "Contrast: the probe's test at k = 4. After 'but', the last sentence's verdict is the right one: the "
            "memory must let go of the opening's. (All three shipped models pass this test; see the README.)",
            "contrast", 4, False, "the movie is really boring"),
)


def how_it_reads(example: Example, probability: float, model_name: str, card: dict | None) -> str:
    """One sentence on how a model reads a probe-built ``example`` (its final P(positive) ``probability``):
    whether it gets the example right, and the probe's pass rate at the example's test and k, with its sample,
    from the model's ``card`` (when recorded). A wrong reading is said first, as a failure.

    >>> card = {"probe": {"retention": {"verdict_last": {"8": 0.8767}},
    ...                   "settings": {"phrases_per_polarity": [150, 150]}}}
    >>> print(how_it_reads(EXAMPLES[3], 0.11, "sst2-gru", card))  # doctest: +NORMALIZE_WHITESPACE
    sst2-gru gets this example wrong: it reads negative (P = 0.110) where the verdict is positive. The probe
    passes this test (k = 8) on 88% of 300 tests (95% interval 83%–91%): this is one of the failures.
    """
    said = "positive" if is_positive(probability) else "negative"
    right = said == example.verdict
    head = (f"{model_name} reads this example right: {said} (P = {probability:.3f})." if right else
            f"{model_name} gets this example wrong: it reads {said} (P = {probability:.3f}) where the verdict is "
            f"{example.verdict}.")
    rate = (card_curves(card) or {}).get(example.test, {}).get(example.k) if isinstance(card, dict) else None
    if rate is None:
        return head + " This model's card records no probe rate for this test."
    return (head + f" The probe passes this test (k = {example.k}) on {describe_rate(rate, card_tests(card))}"
            + ("." if right else ": this is one of the failures."))
