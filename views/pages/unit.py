"""Units: one hidden unit on a page of its own, as Neuronpedia and LSTMVis give one: what the verdict makes of it,
its values over the whole corpus, the words where it is highest and lowest, what taking it away costs, your own
sentence read through it, and a push along it. ``unit?unit=N&model=…`` (N from 0, as every "unit N" label).

Everything about the corpus is read from the index that ships with the model (``models/<model>/index``); the
page computes only your sentence and the steering.
"""

from __future__ import annotations

import html
from functools import partial

import streamlit as st

from gru_viz import figures
from gru_viz.corpus import describe_unit
from views.parts import caches, corpus, first_screen, state
from views.parts import unit as sections
from views.parts.charts import figure_download, remember_figure, vega_chart

model_key, model = state.current_model()
units = model.gru.hidden_size
unit = state.unit_from_link(units)

# ---- which unit ----
choose, neighbours, side = st.columns([1, 2, 1])
with side:
    state.model_picker()
unit = int(choose.number_input(f"Unit (0 to {units - 1})", 0, units - 1, key=state.UNIT_KEY))
state.write_unit_link(unit)
with neighbours:
    previous_link, next_link = st.columns(2)
    previous_link.page_link("views/pages/unit.py", label=f"← unit {(unit - 1) % units}",
                            query_params={"unit": (unit - 1) % units, "model": model.name})
    next_link.page_link("views/pages/unit.py", label=f"unit {(unit + 1) % units} →",
                        query_params={"unit": (unit + 1) % units, "model": model.name})

index = corpus.model_index(model, model_key=model_key)
st.header(f"Unit {unit} of {units} in {model.name}")
if index is None:
    st.info("No corpus index ships with this model, so its corpus statistics, contexts and ablation are not shown "
            "(build one with `python -m gru_viz index --data … --heldout … --out models/<model>/index`).")
    profile = None
    st.metric("Readout weight w", f"{model.readout_weight[unit]:+.4f}")
else:
    profile = caches.unit_profile(model_key, str(index.folder), index.manifest.created, unit, _index=index,
                                  _model=model)
    st.html(f"<p style='font-size:1.15rem'><b>{html.escape(describe_unit(profile))}</b></p>")
    columns = st.columns(5)
    columns[0].metric("Readout weight w", f"{profile.readout_weight:+.4f}",
                      help="The verdict's logit is w · h_T + b: this unit's weight in it.")
    if profile.mean_share is not None:
        columns[1].metric("Verdict share", f"{profile.share_fraction:.1%}",
                          help=f"Mean |w (h_T − h_0)| of this unit over the mean of all units' sum. Its signed mean "
                               f"w (h_T − h_0) over the corpus is {profile.mean_share:+.4f}.")
    if profile.arch == "gru":
        columns[2].metric("τ (words)", f"{profile.timescale:.2f}", help="τ = −1/ln(mean z): the memory's timescale.")
        columns[3].metric("Mean z", f"{profile.update_mean:.3f}")
        columns[4].metric("Mean r", f"{profile.reset_mean:.3f}")
    st.caption(f"Over all {profile.sentences:,} sentences ({profile.tokens:,} words) of the index that ships with "
               f"{model.name}; label by the rules of *Across the data set*: {profile.label}.")

    # ---- over the corpus ----
    if profile.histograms:
        remember_figure("chart_unit_histograms", partial(figures.unit_histograms_figure, profile.histograms, unit))
        for column, (field, spec) in zip(st.columns(len(profile.histograms)),
                                         figures.unit_histograms_specs(profile.histograms, unit).items()):
            column.vega_lite_chart(spec, width="stretch", key=f"chart_unit_histograms_{field}")
        first_screen.rest_of_page()
    window = index.manifest.options["window"]
    high, low = st.columns(2)
    with high:
        st.subheader(f"Highest h: {len(profile.top)} sentences")
        sections.contexts(profile, profile.top, profile.top_texts, model.name, window=window)
    with low:
        st.subheader(f"Lowest h: {len(profile.bottom)} sentences")
        sections.contexts(profile, profile.bottom, profile.bottom_texts, model.name, window=window)
    st.caption(f"Each sentence at the word where unit {unit}'s h is most extreme (boxed), {window} words either side, "
               "shaded by h (blue positive, red negative); a click opens the sentence on *Read a sentence*.")

    # ---- ablation ----
    if profile.ablation is not None:
        st.subheader("Taking the unit away")
        sections.ablation(profile)

# ---- your own sentence ----
st.subheader(f"Your sentence, through unit {unit}")
st.text_area("Sentence", key="text", height=68, help="The same sentence on every page; Ctrl+Enter applies it.")
text = st.session_state["text"]
sentence = state.read_sentence(model_key, model, text)
if sentence is not None:
    st.html(figures.shaded_words_html(sentence.tokens, sentence.hidden[:, unit]))
    vega_chart(caches.unit_spec(model_key, text, unit, None, _sentence=sentence), "chart_unit_sentence",
               partial(caches.unit_figure, model_key, text, unit, None, _sentence=sentence))
    fields = {"h": sentence.hidden, "z": sentence.update, "r": sentence.reset, "n": sentence.candidate}
    # a plain HTML table: st.dataframe's grid code costs the browser ~0.3 s before it paints the page
    st.html(figures.values_table_html([{"word": word, **{name: float(values[t, unit]) for name, values in
                                                         fields.items()}} for t, word in enumerate(sentence.tokens)],
                                      {name: "+.4f" for name in fields}, max_height=320))

    # ---- steering: on request, as on Compare; its widgets and chart cost the page's first paint ~0.3 s ----
    st.subheader(f"Steering: push the memory along unit {unit}, or along the verdict direction")
    if st.toggle("Steer this sentence", key="unit_steer_on",
                 help="Add α times the unit's direction (or the verdict direction) to h after every word, and read on "
                      "from the pushed memory."):
        sections.steering(model_key, model, text, unit=unit, key="unit_steer",
                          verdict_direction=sections.verdict_direction(model, model_key))
figure_download()
