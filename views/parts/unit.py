"""The sections of the unit page that *Compare & intervene* shares (steering) or that hold a table: each wires
widgets to ``gru_viz`` and draws; nothing here computes a number. Charts are Vega-Lite and tables plain HTML
(``figures.values_table_html``), so the page paints without Plotly's bundle or ``st.dataframe``'s grid code."""

from __future__ import annotations

from functools import partial

import numpy as np
import streamlit as st

from gru_viz import analysis, figures
from views.parts import caches, corpus, state
from views.parts.charts import vega_chart

ALPHA_RANGE = (-3.0, 3.0)  # h lies in [−1, 1]: a push of ±3 along a unit saturates it; more shows nothing new
DIRECTIONS = ("this unit", "the verdict direction")


def verdict_direction(model, model_key: tuple):
    """The verdict direction of the index that ships with ``model`` ((H,), finite), or None without one."""
    index = corpus.model_index(model, model_key=model_key)
    if index is None or index.verdict is None or not np.isfinite(index.verdict["direction"]).all():
        return None
    return index.verdict["direction"]


def contexts(profile, hits, texts, model_name: str, *, window: int) -> None:
    """A unit's contexts as shaded text, each a link that opens its sentence on *Read a sentence*."""
    links = [state.page_link_url("read", text=text, model=model_name) for text in texts]
    st.html(figures.shaded_contexts_html(hits, links, window=window))


def ablation(profile) -> None:
    """The unit's ablation on the held-out file: accuracy under each condition and the sentences that flip."""
    rows = [{"condition": f"h of unit {profile.unit} {condition}" + (" at h0" if condition == "frozen" else " (h ≡ 0)"),
             "accuracy": result["accuracy"], "change": result["change"], "verdicts flipped": len(result["flips"])}
            for condition, result in profile.ablation.items()]
    st.html(figures.values_table_html(rows, {"accuracy": ".4f", "change": "+.4f", "verdicts flipped": ",.0f"}))
    flips = profile.ablation["zeroed"]["flips"]
    same = profile.ablation["zeroed"]["accuracy"] == profile.ablation["frozen"]["accuracy"]
    st.caption(f"On {profile.heldout} (accuracy {profile.free_accuracy:.4f} with every unit free), with unit "
               f"{profile.unit}'s h set after every word, so later words and the verdict read the changed memory."
               + (" The model starts from h0 = 0, so freezing at h0 is zeroing." if same else ""))
    if flips:  # on request: even inside a closed expander, the list was drawn and delayed the first chart
        listed = st.expander(f"The {len(flips)} sentences whose verdict flips with the unit zeroed",
                             key="unit_flips_open", on_change="rerun")
        if listed.open:
            listed.html(figures.values_table_html(
                [{"line": flip["line"], "sentence": flip["text"], "label": "positive" if flip["label"] else "negative",
                  "P(positive), free": flip["free"], "P(positive), zeroed": flip["ablated"]} for flip in flips],
                {"P(positive), free": ".3f", "P(positive), zeroed": ".3f"}, max_height=400))


def steering(model_key: tuple, model, text: str, *, unit: int | None, verdict_direction, key: str) -> None:
    """A slider α and a direction (``unit``'s basis vector when given, the index's verdict direction when there is
    one), and the chart of P(positive) after each word, steered against free (``analysis.steer``)."""
    choices = ([f"unit {unit}"] if unit is not None else []) + (["the verdict direction"] if verdict_direction
                                                                 is not None else [])
    if not choices:
        st.caption("No direction to steer along: this model ships no corpus index, so there is no verdict "
                   "direction.")
        return
    if unit is None:  # Compare & intervene: the unit is chosen here
        pick, direction_column, alpha_column = st.columns([1, 1, 2])
        chosen_unit = pick.number_input("Unit", 0, model.gru.hidden_size - 1, 0, key=f"{key}_unit")
        choices = [f"unit {chosen_unit}"] + choices
    else:
        direction_column, alpha_column = st.columns([1, 2])
        chosen_unit = unit
    name = direction_column.radio("Direction", choices, key=f"{key}_direction", horizontal=True)
    alpha = alpha_column.slider("α (added to h after every word)", *ALPHA_RANGE, 1.0, 0.1, key=f"{key}_alpha")
    vector = (verdict_direction if name == "the verdict direction"
              else analysis.unit_direction(model, int(chosen_unit)))
    tokens, steered, free = caches.steer(model_key, text, name, float(alpha), _model=model, _direction=vector)
    vega_chart(figures.steering_spec(tokens, steered, free, alpha=float(alpha), direction=name), f"chart_{key}",
               partial(figures.steering_figure, tokens, steered, free, alpha=float(alpha), direction=name))
    st.caption(f"After the last word P(positive) is {free[-1]:.3f} free and {steered[-1]:.3f} with "
               f"{float(alpha):+g} · {name} added to h after every word; each step reads the pushed memory, so the "
               "push must survive the gates to matter. The verdict direction is the mean final h of positive "
               "minus negative training sentences.")
