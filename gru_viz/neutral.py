"""Neutral plot clauses for training: what a review says about the story, never whether it is good.

SST-2 has no neutral phrases (GLUE dropped them), so a model trained on it alone reads plot description as a
strong verdict. Training mixes in these generated clauses with a soft target of 0.5, and builds multi-sentence
"reviews" from them (``gru_viz.train``): a labelled phrase with plot sentences before and after it, and contrast
pairs joined by "but".

Risks, stated: the clauses come from fixed templates over hand-picked word lists, so the model can learn
"this style means neutral" rather than "description carries no verdict"; words chosen as neutral can still
carry a mild polarity in SST-2 (e.g. "family", "war"); and a polar word outside the lists never appears in a
neutral clause. ``gru_viz.probe`` measures neutrality on hand-written sentences that share neither words lists
nor templates with this module (``gru_viz/data/neutral_plot.txt``), so it measures generalisation.

>>> import numpy as np
>>> clauses = neutral_sentences(np.random.default_rng(0), 3)
>>> len(clauses), all(clause.endswith(" .") for clause in clauses)
(3, True)
"""

from __future__ import annotations

import re

import numpy as np

__all__ = ["neutral_sentences"]


def _words(text: str) -> list[str]:
    """A word list written as prose; a hyphen joins a multi-word entry ('a-small-town')."""
    return text.split()


PEOPLE = _words("""man woman girl boy teacher lawyer doctor nurse farmer soldier detective journalist priest student
mother father sister brother uncle aunt cousin grandfather neighbor widow mayor sheriff pilot sailor fisherman
mechanic waitress banker painter musician writer photographer scientist professor engineer clerk driver cook
baker carpenter secretary manager officer agent judge guard librarian shopkeeper stranger tenant landlord boss
nephew niece son daughter husband wife roommate classmate coach captain king queen prince monk nun orphan
teenager veteran miner plumber dentist pharmacist tailor janitor architect editor diplomat butler gardener
salesman bartender reporter inspector sergeant surgeon chemist historian translator""")
GROUPS = _words("""family couple twins brothers sisters cousins neighbors friends students soldiers villagers
passengers workers tourists children parents""")
AGES = _words("""young old retired middle-aged elderly former new local married divorced widowed older younger
teenage american british french german italian irish russian polish swedish chinese japanese korean indian
mexican brazilian canadian australian""")
NAMES = _words("""john mary david sarah michael anna peter maria james laura tom kate frank helen paul lisa george emma
jack nina henry rose sam claire max julia ben alice carlos yuki ahmed olga pierre ingrid hans marco elena
raj mei omar lucy walter irene victor diane ray joan""")
PLACES = _words("""a-small-town the-city a-farm the-coast an-island a-village paris london rome berlin tokyo boston
texas ohio new-york the-suburbs a-hospital a-school a-hotel a-bank an-office a-factory a-restaurant a-bar
a-church a-ship a-train a-house an-apartment the-countryside the-mountains the-desert a-lake a-police-station
a-museum a-library a-store a-gas-station a-motel a-ranch a-university a-newspaper a-law-firm a-garage
a-warehouse a-harbor a-port-town a-market a-castle a-monastery a-military-base a-courthouse a-post-office
a-bookstore a-cafe a-train-station a-border-town a-cabin a-boarding-house vienna madrid dublin moscow
cairo mexico-city san-francisco seattle detroit new-jersey kansas alaska the-midwest the-south""")
TIMES = _words("""in-1962 in-the-1970s during-the-war after-the-war one-summer one-winter over-the-weekend
on-christmas-eve the-next-morning years-later at-night in-the-spring after-college every-sunday for-three-days
in-the-fall in-1985 in-the-1950s on-a-tuesday before-dawn the-following-year in-august last-year
in-the-early-1900s during-the-holidays after-the-funeral before-the-wedding""")
MOVES = _words("""moves-to returns-to travels-to drives-to lives-in works-at grows-up-in visits leaves arrives-at
stays-at takes-a-job-at opens-a-shop-in teaches-at studies-at settles-in walks-to flies-to goes-back-to
spends-a-year-in""")
ACTS = _words("""meets marries follows visits calls writes-to hires interviews looks-for waits-for talks-to
works-with lives-with travels-with sits-next-to drives-with shares-an-office-with borrows-money-from
sells-a-car-to rents-a-room-to""")
HANDLES = _words("""sells buys rents borrows repairs paints builds cleans delivers carries finds keeps moves opens
packs counts reads inherits mails orders""")
THINGS = _words("""a-letter a-box a-car a-house a-boat a-painting a-map a-key a-phone a-suitcase a-photograph a-book
a-diary a-piano a-dog a-cat a-horse a-garden a-package an-envelope a-watch a-ring a-truck a-bicycle a-camera
a-notebook the-papers a-recipe a-radio a-typewriter a-chair a-table a-lamp a-coat a-ticket a-newspaper
a-bag a-guitar a-violin a-clock a-fence a-barn a-cabinet a-desk a-boat-engine a-sewing-machine""")
FILM_SUBJECTS = _words("""the-film the-movie the-story the-plot the-first-act the-second-half the-opening-scene
the-final-act the-picture the-narrative""")
FILM_VERBS = _words("""follows centers-on is-about concerns tells-the-story-of focuses-on depicts revolves-around
introduces""")
FILM_FACTS = [
    "is set in {place} {time}", "was shot in {place}", "takes place in {place}", "runs about {minutes} minutes",
    "is based on a novel by a {age} {person}", "is in {language} with subtitles", "was filmed {time}",
    "is told from the point of view of the {person}", "moves between {place} and {place2}",
    "is the director 's {ordinal} film", "was released {time}", "uses a narrator who is a {person}",
]
LANGUAGES = _words("english french spanish german italian russian japanese chinese portuguese korean")
ORDINALS = _words("first second third fourth fifth sixth")
MINUTES = [str(m) for m in range(80, 181, 5)]

CLAUSES = [
    "the {age} {person} {move} {place} {time}",
    "{name} is a {person} who {move} {place}",
    "{film} {film_verb} a {age} {person} and {poss} {person2}",
    "{film} {film_fact}",
    "{name} {act} a {person} from {place}",
    "{time} , the {person} {handle} {thing}",
    "the {group} {move} {place} {time}",
    "{name} and {name2} {handle_plural} {thing} in {place}",
    "the {person} 's {person2} {move} {place}",
    "{name} {handle} {thing} and {move} {place}",
    "a {person} named {name} {act} the {person2}",
    "the {person} {act} {name} {time}",
    "{name} 's {person} works as a {person2} in {place}",
    "there is a {person} , a {person2} and {thing} in {place}",
    "{film} {film_verb} the {group} who live in {place}",
]


_ARTICLE = re.compile(r"(^| )a ([aeiou])")  # "a elderly woman" → "an elderly woman"


def _word(rng: np.random.Generator, words: list[str]) -> str:
    return words[rng.integers(len(words))].replace("-", " ")


def _plural(verb: str) -> str:
    """'sells' → 'sell', for two subjects (every verb in HANDLES is one regular word)."""
    return verb[:-3] + "y" if verb.endswith("ies") else verb[:-1]


def neutral_sentences(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` plot sentences in SST-2's spelling (lower case, ' .' at the end), drawn with ``rng``."""
    sentences = []
    for _ in range(count):
        slots = {
            "age": _word(rng, AGES), "person": _word(rng, PEOPLE), "person2": _word(rng, PEOPLE),
            "name": _word(rng, NAMES), "name2": _word(rng, NAMES), "move": _word(rng, MOVES),
            "place": _word(rng, PLACES), "place2": _word(rng, PLACES), "time": _word(rng, TIMES),
            "act": _word(rng, ACTS), "handle": _word(rng, HANDLES), "thing": _word(rng, THINGS),
            "group": _word(rng, GROUPS), "film": _word(rng, FILM_SUBJECTS), "film_verb": _word(rng, FILM_VERBS),
            "poss": _word(rng, ["his", "her", "their"]), "language": _word(rng, LANGUAGES),
            "ordinal": _word(rng, ORDINALS), "minutes": _word(rng, MINUTES),
        }
        slots["handle_plural"] = _plural(slots["handle"])
        slots["film_fact"] = FILM_FACTS[rng.integers(len(FILM_FACTS))].format(**slots)
        clause = CLAUSES[rng.integers(len(CLAUSES))].format(**slots)
        sentences.append(_ARTICLE.sub(r"\1an \2", clause) + " .")
    return sentences
