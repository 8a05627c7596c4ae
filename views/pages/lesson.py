"""Lesson: the seed post's story in five steps on the three shipped models, for a teacher to give in class.

``?step=1`` … ``?step=5`` in the link opens a step; a row of links and a "Next step" button move between them.
Each step opens with one plain sentence, the algebra under it; every number comes from ``gru_viz.lesson``,
computed from the models as the page draws (cached in ``views/parts/caches.py``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import pandas as pd
import streamlit as st

from gru_viz import figures, lesson, paths, study
from views.parts import caches, first_screen
from views.parts.charts import figure_download, vega_chart
from views.parts.markdown import literal

GRU, NO_RESET, RNN = paths.DEFAULT_MODEL, paths.NO_RESET_MODEL, paths.RNN_MODEL
THIS_PAGE = "views/pages/lesson.py"
PLAIN = {  # the sentence a student reads first
    1: "A vanilla RNN squashes its memory through the same weights at every word, so what the last word could "
       "teach an early word shrinks by orders of magnitude; the GRU's update gate lets it through.",
    2: "The update gate z decides, unit by unit, how much memory to keep: where it stays near 1, the verdict of "
       "the first sentence survives a whole plot summary.",
    3: "At “but” the reset gate shuts on many units, among them the one whose vote on the verdict flips: its next "
       "candidate is written from the word alone, and the update gate lets it overwrite the old verdict.",
    4: "With the reset gate always open (r ≡ 1) and the update gate always shut (z ≡ 0), a GRU's equations are "
       "exactly a vanilla RNN's; but a trained GRU forced that way is not an RNN trained that way.",
    5: "The seed asked why a GRU needs a reset gate, and why sigmoid gates and a tanh candidate; training each "
       "design several times with different seeds answers both, with error bars.",
}
# gathered on short lines: KaTeX does not wrap, and a line wider than an 800 px column is cut
GRADIENT_ALGEBRA = (r"\begin{gathered}\frac{\partial h_T}{\partial h_t} = \prod_{s=t+1}^{T} "
                    r"\frac{\partial h_s}{\partial h_{s-1}} \\[4pt]"
                    r"\text{RNN: } \frac{\partial h_s}{\partial h_{s-1}} = \operatorname{diag}(1 - h_s^2)\,W_{hh}"
                    r" \\[4pt] \text{GRU: } \frac{\partial h_s}{\partial h_{s-1}} = \operatorname{diag}(z_s) + \dots"
                    r"\end{gathered}")
UPDATE_ALGEBRA = (r"h_t = z_t \odot h_{t-1} + (1 - z_t) \odot n_t \quad\Longrightarrow\quad \text{of } h_t "
                  r"\text{, the end still holds } \textstyle\prod_{s=t+1}^{T} z_s")
RESET_ALGEBRA = (r"n_t = \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big)"
                 r"\quad\xrightarrow{\;r_t \to 0\;}\quad n_t = \tanh(W_{in} x_t + b_{in})")
VANILLA_ALGEBRA = (r"\begin{gathered}r \equiv 1,\ z \equiv 0:\quad h_t = 0 \cdot h_{t-1} + 1 \cdot "
                   r"\tanh(W_{in} x_t + b_{in} + 1 \cdot (W_{hn} h_{t-1} + b_{hn})) \\"
                   r"= \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}) \quad \text{with } W_{ih} = W_{in},\ "
                   r"W_{hh} = W_{hn},\ b_{ih} = b_{in},\ b_{hh} = b_{hn}\end{gathered}")


def go_to(step: int) -> None:
    st.query_params["step"] = str(step)


def review_text(example, label: str) -> None:
    with st.expander(label):
        st.text(example.text)  # literal: the probe's plot sentences as they are
        st.caption(literal(f"Built as the memory probe builds its {example.test.replace('_', ' ')} tests at "
                           f"k = {example.distance} (seed 0, the first draw), so each model's rate on such tests "
                           "says how typical its reading is."))


def readings(items) -> None:
    for reading in items:
        (st.markdown if reading.right else st.warning)(literal(reading.summary()))


def gradient_step(models: dict) -> None:
    shown = caches.lesson_gradient(tuple(caches.named_model(name)[0] for name in (GRU, RNN)),
                                   _models={name: models[name] for name in (GRU, RNN)})
    back = len(shown.tokens) - 1
    st.markdown(literal(f"On this review, of a gradient arriving at the last word, the first word ({back} words "
                        f"back) receives a norm of {shown.first_word(GRU):.3g} through the GRU and "
                        f"{shown.first_word(RNN):.3g} through the RNN (both are √H = "
                        f"{shown.flow[GRU][-1]:.3g} at the last word)."))
    flow = (shown.tokens, shown.flow[GRU], shown.flow[RNN])
    names = (f"GRU ({GRU})", f"vanilla RNN ({RNN})")
    vega_chart(figures.gradient_flow_spec(*flow, names=names), "chart_lesson_gradient",
               partial(figures.gradient_flow_figure, *flow, names=names))
    first_screen.rest_of_page()
    readings(shown.readings)
    review_text(lesson.VERDICT_FIRST, "The review (a verdict, then 8 plot sentences)")


def memory_step(models: dict) -> None:
    test = st.radio("Review", ("verdict_first", "verdict_last"), key="lesson_review", horizontal=True,
                    format_func={"verdict_first": "verdict first, then 8 plot sentences",
                                 "verdict_last": "8 plot sentences, then the verdict"}.get)
    shown = caches.lesson_memory(tuple(caches.named_model(name)[0] for name in models), test, GRU, _models=models)
    series = [(reading.name, reading.probability, reading.start_probability) for reading in shown.readings]
    vega_chart(figures.models_probability_spec(shown.readings[0].tokens, series), "chart_lesson_models",
               partial(figures.models_probability_figure, shown.readings[0].tokens, series))
    first_screen.rest_of_page()
    readings(shown.readings)
    plot = range(len(shown.update))[shown.plot]
    st.markdown(literal(f"The {GRU} units that carry its verdict, and how much of their memory survives the "
                        f"{len(plot)} plot words (∏ z over the plot): ")
                + ", ".join(f"unit {unit}: {kept:.3g}" for unit, kept in zip(shown.carriers[:4], shown.kept[:4]))
                + ".")
    carriers = (shown.update, shown.readings[0].tokens, shown.carriers, shown.shares)
    vega_chart(figures.carriers_spec(*carriers), "chart_lesson_update", partial(figures.carriers_figure, *carriers))
    st.caption("Rows: the units with the largest share of the GRU's verdict (in brackets). Yellow is z near 1: the "
               "unit keeps its memory through that word; dark is z near 0: the word overwrites it.")
    review_text(lesson.VERDICT_FIRST if test == "verdict_first" else lesson.VERDICT_LAST, "The review")


def reset_step(models: dict) -> None:
    key, _ = caches.named_model(GRU)
    shown = caches.lesson_reset(key, GRU, _model=models[GRU])
    step = shown.step
    st.markdown(literal(f"At “{shown.tokens[shown.position]}” (word {shown.position}), {shown.shut} of "
                        f"{len(shown.reset)} units of {GRU} have r < {lesson.SHUT}, {shown.carriers_shut} of the "
                        f"{len(shown.carriers)} that carry its verdict. Unit {shown.unit} flips: its "
                        f"vote w·h on the verdict goes from {shown.before:+.3f} before “but” to {shown.after:+.3f} "
                        f"at the end. Its r = {step.reset:.2e} multiplies a memory term of "
                        f"{step.candidate_terms.from_memory:+.3f}, so n is the word's alone: "
                        f"h goes from {step.previous:+.3f} to {step.hidden:+.3f}."))
    gate = {"values": shown.reset, "word": shown.tokens[shown.position], "marked": shown.unit, "shut": lesson.SHUT}
    vega_chart(figures.gate_across_units_spec(**gate), "chart_lesson_reset",
               partial(figures.gate_across_units_figure, **gate))
    first_screen.rest_of_page()
    st.latex(figures.cell_latex(step))
    st.caption(f"Unit {shown.unit} at “{step.token}”, PyTorch's four GRU equations with the model's own numbers.")
    readings([shown.reading])
    review_text(lesson.CONTRAST, "The review (a verdict, 4 plot sentences, then “but” and the other verdict)")


def vanilla_step(models: dict) -> None:
    key, _ = caches.named_model(GRU)
    reset = caches.lesson_reset(key, GRU, _model=models[GRU])
    shown = caches.lesson_vanilla((key, caches.named_model(RNN)[0]), (GRU, RNN), reset.position, reset.unit,
                                  _gru=models[GRU], _rnn=models[RNN])
    word, memory = shown.step_inputs
    st.latex(figures.vanilla_latex(word, memory, float(shown.forced[shown.position, shown.unit]),
                                   float(shown.vanilla[shown.position, shown.unit]), shown.unit))
    st.markdown(literal(f"Unit {shown.unit} at “{shown.tokens[shown.position]}”, float64. Over all "
                        f"{len(shown.tokens)} words and {shown.forced.shape[1]} units, the largest difference "
                        f"between the forced GRU and the tanh RNN with its weights is {shown.difference:g}."))
    st.markdown("**But forcing is not training.**")
    series = [(reading.name, reading.probability, reading.start_probability) for reading in shown.readings]
    title = "P(positive) after each word: the GRU free, forced, and the RNN"
    vega_chart(figures.models_probability_spec(shown.tokens, series, title=title), "chart_lesson_forced",
               partial(figures.models_probability_figure, shown.tokens, series, title=title))
    first_screen.rest_of_page()
    shown_readings = list(shown.readings)
    if st.toggle("Score the forced GRU on the memory probe's contrast tests too", key="lesson_probe_forced",
                 help="The 300 tests the cards' rates count, read again with r ≡ 1, z ≡ 0: about 15 s the first "
                      "time."):
        rate = caches.lesson_forced_rate(tuple(caches.named_model(name)[0] for name in models), GRU,
                                         _models=models)
        shown_readings[1] = replace(shown_readings[1], rate=rate)
    readings(shown_readings)
    st.caption("The forced GRU keeps weights learned with its gates working; switching them off is a distribution "
               "shift, and its verdicts say little about what an RNN would learn. The trained RNN is that model.")
    review_text(lesson.CONTRAST, "The review")


def seeds_step() -> None:
    found = paths.default_study_file()
    if found is None:
        st.info("No seed study ships with this checkout (`python -m gru_viz study --out studies/seeds`).")
        return
    try:
        answers = lesson.seed_answers(study.read_study(found))
    except ValueError as error:
        st.error(f"The seed study cannot be read: {error}")
        return
    for question in (lesson.RESET_QUESTION, lesson.ACTIVATION_QUESTION):
        asked = [answer for answer in answers if answer.question == question]
        st.markdown(f"**{question}** " + literal(lesson.answer_summary(asked)))
        rows = [{"compared": answer.subject, "measure": answer.measure, "mean difference": answer.mean,
                 "95% interval": "one seed" if answer.low is None else f"{answer.low:+.3f} to {answer.high:+.3f}",
                 "seeds": answer.seeds, "GRU better on": answer.holds, "answer": answer.finding}
                for answer in asked]
        # a plain HTML table: a data frame grid would make the browser load its chunk before it paints the step
        st.table(pd.DataFrame(rows).style.format({"mean difference": "{:+.3f}"}), hide_index=True)
    st.caption("A difference is the GRU minus the other design, paired by seed; its 95% interval is Student's t over "
               "the seeds. An interval that straddles 0 is no measurable difference at this number of seeds; it does "
               "not show the gate is idle. These runs are the seed study's (a shorter budget), not the shipped "
               "models.")
    st.page_link("views/pages/seeds.py", label="Every claim, one dot per seed: Across seeds")


# ---- which step ----
linked = st.query_params.get("step")
step = lesson.step_number(linked) or 1
if linked is not None and lesson.step_number(linked) is None:
    st.error("The link asks for a step the lesson does not have: it has steps 1 to 5. Showing step 1.")
st.header("Lesson: how a GRU remembers, in five steps")
with st.container(horizontal=True):
    for number, title in lesson.STEPS.items():
        st.page_link(THIS_PAGE, label=f"{number}. {title}", query_params={"step": str(number)},
                     disabled=number == step)

st.caption(f"Every step reads the three shipped models, {GRU} (a GRU), {NO_RESET} (the same GRU trained with r ≡ 1) "
           f"and {RNN} (a vanilla tanh RNN), whichever model the other pages show, and computes its numbers as you "
           "watch.")
folders = caches.model_folders(caches.models_root())
missing = [name for name in (GRU, NO_RESET, RNN) if name not in folders]
if missing and step != 5:
    st.info("The lesson reads the three shipped models; the models folder lacks " + ", ".join(missing) + ".")
    st.stop()
models = {name: caches.named_model(name)[1] for name in (GRU, NO_RESET, RNN) if name in folders}

# ---- the step ----
st.subheader(f"Step {step} of {len(lesson.STEPS)}: {lesson.STEPS[step]}")
st.markdown(f"**{literal(PLAIN[step])}**")
algebra = {1: GRADIENT_ALGEBRA, 2: UPDATE_ALGEBRA, 3: RESET_ALGEBRA, 4: VANILLA_ALGEBRA}.get(step)
if algebra:
    st.latex(algebra)
{1: lambda: gradient_step(models), 2: lambda: memory_step(models), 3: lambda: reset_step(models),
 4: lambda: vanilla_step(models), 5: seeds_step}[step]()  # steps 1-4 end a new tab's first run at their chart

# ---- next ----
back, forward = st.columns(2)
if step > 1:
    back.button("← Previous step", key="lesson_previous", on_click=go_to, args=(step - 1,))
forward.button("Next step →" if step < len(lesson.STEPS) else "Back to step 1", key="lesson_next", type="primary",
               on_click=go_to, args=(step + 1 if step < len(lesson.STEPS) else 1,))
figure_download()
