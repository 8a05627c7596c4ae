"""Across seeds: the seed post's questions answered by the seed study, each claim with one dot per training run,
its mean and 95% interval, and one sentence that says what holds and what does not.

Reads ``studies/seeds/study.json`` (``python -m gru_viz study``); computes nothing but the layout.
"""

from __future__ import annotations

import streamlit as st

from gru_viz import figures, paths, study
from views.parts import first_screen
from views.parts.markdown import literal

SECTIONS = [
    ("Does the update gate keep an early verdict?",
     "A phrase with a verdict, then k neutral plot sentences: is the verdict still read at the end? Accuracy "
     "on the memory probe's reviews (hand-written plot sentences no training run sees), GRU minus vanilla RNN; "
     "and the two models' accuracy on unseen reviews.",
     ["gru_keeps_verdict_k8", "gru_keeps_verdict_k16", "gru_beats_rnn_accuracy"]),
    ("Why a reset gate?",
     "The same GRU trained with its reset gate held at 1 (r ≡ 1). A difference near zero means the reset gate "
     "buys nothing measurable on that test with this recipe; it does not mean the gate is idle.",
     ["reset_helps_retention", "reset_helps_contrast", "reset_helps_accuracy"]),
    ("Vanishing gradients",
     "How much of a gradient arriving at the last word reaches a word 64 words back, on long reviews: log10 of "
     "the typical norm of ∂h_T/∂h_t relative to the last word (0 is all of it, −3 a thousandth).",
     ["rnn_gradient_vanishes", "gru_gradient_persists"]),
    ("Does neutral text read neutral?",
     "The median distance of P(positive) from 0.5 on the probe's plot sentences: 0 is undecided, 0.5 a confident "
     "verdict on plain description.",
     ["neutral_reads_neutral"]),
    ("Do units with a short memory use their reset gate?",
     "Per seed, the rank correlation over the 64 units between a unit's timescale τ and how often its reset gate "
     "is shut (r < 0.1). Negative means the short-memory units are the resetters.",
     ["short_memory_units_reset"]),
]
ACTIVATION_MEASURES = {"heldout_accuracy": "held-out accuracy, GRU − variant",
                       "retention_k16": "retention at k = 16, GRU − variant"}


@st.cache_data(max_entries=4, show_spinner=False)
def load_study(path: str, version: int) -> dict:
    """The study at ``path`` (read again when its modification time, ``version``, changes)."""
    return study.read_study(path)


def draw_claim(claim: dict, measure: str | None = None, title: str | None = None) -> None:
    st.vega_lite_chart(figures.claim_spec(claim, measure, title=title), width="stretch",
                       key=f"seeds_{claim['claim']}_{measure or ''}")


found = paths.default_study_file()
st.header("The seed's questions, across training seeds")
if found is None:
    st.info("No seed study ships with this checkout. `python -m gru_viz study --out studies/seeds` makes one.")
    st.stop()
try:
    result = load_study(str(found), found.stat().st_mtime_ns)
except (OSError, ValueError) as error:
    st.error("The seed study cannot be read:")
    st.text(paths.public_message(error))  # literally, and without the server's folders
    st.stop()
settings = result["settings"]
claims = {claim["claim"]: claim for claim in result["claims"]}
seeds = {variant: sum(run["variant"] == variant for run in result["runs"]) for variant in settings["variants"]}
st.caption(literal(
    "One training run is an anecdote. Each variant below was trained with several seeds on the same recipe ("
    + ", ".join(f"{variant}: {count}" for variant, count in seeds.items())
    + f" seeds; the {settings['budget']} budget), each without the validation sentences' fragments, so its "
    "accuracy on the 766 unseen validation sentences is a held-out estimate. A dot is one seed; the black tick "
    "is the mean, the grey bar its 95% interval (Student's t over seeds). A difference is seed-paired: the same "
    "seed gives both models the same data order.") + " Measured by `python -m gru_viz study`; these are not the "
    "shipped models, which were trained longer.")

for heading, explanation, names in SECTIONS:
    st.subheader(heading)
    st.caption(literal(explanation))
    for name in names:
        claim = claims.get(name)
        if claim is None:  # a study made before this claim existed
            continue
        st.markdown(f"**{literal(claim['statement'])}** {literal(study.verdict(claim))}")
        draw_claim(claim)
    if heading == SECTIONS[0][0]:  # a dozen charts follow: the first section's are the first screen
        first_screen.rest_of_page()

st.subheader("Why tanh and sigmoid?")
st.caption(literal(
    "The GRU against the same cell with a hard sigmoid for both gates (clamp(x/6 + 1/2, 0, 1)), a ReLU candidate, "
    "or no squashing of the candidate at all. Positive differences favour sigmoid and tanh. The largest |h| on the "
    "validation set says whether the memory stays bounded; a tanh candidate keeps it within ±1 by construction."))
for variant in study.ACTIVATION_VARIANTS:
    claim = claims.get(f"activations_{variant}")
    if claim is None:
        continue
    st.markdown(f"**GRU against {variant}.** {literal(study.verdict(claim))}")
    columns = st.columns(len(ACTIVATION_MEASURES))
    for column, (measure, title) in zip(columns, ACTIVATION_MEASURES.items()):
        with column:
            draw_claim(claim, measure, title)
