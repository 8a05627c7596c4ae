"""The cached pieces of *Read a sentence*, in a module of their own so that the server's warm-up
(``views/startup.py``) fills the same caches the page reads: a page module runs when imported.

Each cache is keyed by (model key, text, choices); the sentence and its unit table ride along unhashed
(``_sentence``, ``_changes``) because they are functions of that key.
"""

from __future__ import annotations

import streamlit as st

from gru_viz import analysis, figures
from views import shared

TOP_UNITS = 12  # rows of the unit heatmaps by default: the units that carry the verdict
STORY_UNITS = 8  # rows under the P(positive) line in the first chart


def story_field(sentence) -> str:
    return "update" if sentence.arch == "gru" else "hidden"  # the vanilla RNN has no gates


@st.cache_resource(max_entries=64, show_spinner=False)
def story_specs(model_key: tuple, text: str, _sentence, _changes) -> dict[str, dict]:
    """The first chart's three Vega-Lite rows (``gru_viz.figures.story``)."""
    units = analysis.rank_units(_changes, STORY_UNITS)
    return figures.story_specs(_sentence.tokens, _sentence.probability, _sentence.start_probability,
                                   _sentence.logit_changes, getattr(_sentence, story_field(_sentence)), units,
                                   analysis.unit_shares(_changes)[units], field=story_field(_sentence))


def story_figure(sentence, changes):
    """The same story as one Plotly figure, for the HTML download (built only when it is asked for)."""
    units = analysis.rank_units(changes, STORY_UNITS)
    return figures.story_figure(sentence.tokens, sentence.probability, sentence.start_probability,
                                      getattr(sentence, story_field(sentence)), units,
                                      analysis.unit_shares(changes)[units], field=story_field(sentence))


def story(model_key: tuple, text: str, sentence):
    """(unit changes, story specs) of the traced ``sentence`` of ``text``: what the first screen draws."""
    changes = shared.unit_changes(model_key, text, sentence)
    return changes, story_specs(model_key, text, _sentence=sentence, _changes=changes)


@st.cache_resource(max_entries=64, show_spinner=False)
def retention_figure(model_key: tuple, text: str, _sentence):
    return figures.word_change_figure(_sentence.tokens, _sentence.logit_changes,
                                            start_logit=_sentence.start_logit,
                                            retention=analysis.sentence_logit_split(_sentence).words)


@st.cache_resource(max_entries=64, show_spinner=False)
def units_figure(model_key: tuple, text: str, field: str, scope: str, order: str, _sentence, _changes):
    units = analysis.shown_units(_sentence, None if scope == "all" else TOP_UNITS, order)
    return figures.unit_heatmaps_figure({field: getattr(_sentence, field)}, _sentence.tokens, units,
                                              analysis.unit_shares(_changes)[units])


@st.cache_resource(max_entries=64, show_spinner=False)
def trajectory_figure(model_key: tuple, text: str, dims: int, _sentence, _card):
    basis = analysis.projection_basis(_card, _sentence.path)
    return (figures.trajectory_figure([figures.sentence_path(_sentence, basis)], dims=dims,
                                      explained=basis.explained), basis.source)
