"""Example sentences for the page's one-click buttons.

The seed's pair shows the verdict forming over a few words. The long-range examples are built exactly as the
memory probe builds its texts (``gru_viz.probe.review``, seed 0: the first draw, not a picked one), from the
seed's sentences and the probe's hand-written plot sentences, so the probe's curve at the same k, shown beside
them on the page, tells how often a model gets such a text right: an example is typical, not a showcase.
"""

from __future__ import annotations

from dataclasses import dataclass

from gru_viz.probe import review

__all__ = ["Example", "EXAMPLES", "SEED_PAIR", "NEUTRAL_TAIL"]

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
