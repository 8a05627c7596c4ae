"""Example sentences for the page's one-click buttons.

The seed's pair shows the verdict forming over a few words. The long-range pair shares the same 25
neutral words and differs only in the first: whatever the model decides, it decided at word 0 and had
to carry through the rest, which is what the update gate is for (z near 1 keeps the memory).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Example", "EXAMPLES", "SEED_PAIR", "NEUTRAL_TAIL"]

SEED_PAIR = ("I love this movie so much", "But the movie is really boring")

NEUTRAL_TAIL = ("the film follows a family as they move from the city to a small town by the sea "
                "and slowly settle into their new house .")


@dataclass(frozen=True)
class Example:
    label: str  # the button's text
    text: str
    why: str  # the button's tooltip


EXAMPLES = (
    Example("I love this movie so much", SEED_PAIR[0], "The seed's positive sentence."),
    Example("But the movie is really boring", SEED_PAIR[1], "The seed's negative sentence."),
    Example("Brilliant : … (+25 neutral words)", f"Brilliant : {NEUTRAL_TAIL}",
            "Long range: only the first word carries sentiment; the GRU must keep it for 25 words."),
    Example("Dreadful : … (+25 neutral words)", f"Dreadful : {NEUTRAL_TAIL}",
            "The same 25 neutral words after a negative first word: does the verdict flip?"),
)
