"""Texts the benchmarks type: new to every cache, the same on every run (seeded)."""

from __future__ import annotations

import numpy as np

WORDS = ("the movie is a film with some really good and bad moments , but the story and acting never quite work "
         "for me ; still I love how slow funny boring sharp warm dull clever").split()


def sentences(count: int, length: int = 20, seed: int = 0) -> list[str]:
    """``count`` different ``length``-word texts from a fixed word list (seeded): each one new to every cache."""
    rng = np.random.default_rng(seed)
    made: list[str] = []
    while len(made) < count:
        text = " ".join(rng.choice(WORDS, size=length))
        if text not in made:
            made.append(text)
    return made
