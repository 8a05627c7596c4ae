"""Page sections of the research tools: activation patching, connectivity, fixed points and integrated gradients.
The pages call these; each section draws one view with Streamlit and only wires widgets to ``gru_viz.analysis``
and ``gru_viz.figures``.

- ``patching_section(model, base_text, source_text, model_key=...)``: the compare page.
- ``dynamics_sections(model, text, model_key=...)``: the dynamics page; it draws
  ``connectivity_section``, ``fixed_points_section`` and ``attribution_section``.

Slow results are cached with the model passed as ``_model`` (not hashed) beside a hashable ``model_key``
(the pages' cache key of the model; default: its name and folder). Heavy views draw only on request.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from gru_viz import analysis, figures, paths
from gru_viz.analysis.fixed_points import RESIDUAL_TOLERANCE, SLOW_THRESHOLD
from gru_viz.analysis.integrated_gradients import DELTA_TOLERANCE
from gru_viz.examples import EXAMPLES, SEED_PAIR
from gru_viz.model import is_positive
from views.parts import caches, workers
from views.parts.charts import chart

PATCHING_MAX_WORDS = 60  # T_b × T_s patched runs: 60 × 60 reads in about half a second
CONNECTIVITY_MODELS = paths.SHIPPED_MODELS  # shown side by side where they ship
FIXED_POINT_SENTENCES = 400  # validation sentences whose visited states start the search
FIXED_POINT_STARTS = 192
# integrated gradients may take up to 5,440 integration points (64 + 256 + 1,024 + 4,096), each a float64 read of
# every word: 44 s for 16 words on a busy 2-core machine (benchmarks/research_bench), so a request reads fewer words
ATTRIBUTION_MAX_WORDS = 40
INPUTS = {"the mean word": "mean", "zero (the padding embedding)": "zero", "a word…": None}
SHAPE_NOTE = ("{view} is shown for one layer, one direction and one logit read from the last state: it reads the "
              "memory the head reads. Pick such a model for it.")


def _key(model, model_key):
    return model_key if model_key is not None else (model.name, str(model.path))


# ---- cached computations: the model is passed as _model, the key makes the cache entry ----------------


@st.cache_data(max_entries=32, show_spinner="Patching every base word with every source word…")
def _patching(model_key, base: str, source: str, mode: str, _model):
    return workers.run(workers.patching, _model, base, source, mode)


@st.cache_data(max_entries=32, show_spinner="Chaining the step Jacobians (float64)…")
def _connectivity(model_key, text: str, _model):
    return workers.run(workers.connectivity, _model, text, caches.PAGE_MAX_TOKENS)


@st.cache_data(max_entries=32, show_spinner="Chaining one layer's step Jacobians (float64)…")
def _layer_connectivity(model_key, text: str, layer: int, direction: int, _model):
    _, ids = _model.tokenize(text, caches.PAGE_MAX_TOKENS)
    return analysis.layer_connectivity(_model.gru, _model.embed(ids), layer, direction)  # embedded (T, E)


@st.cache_resource(max_entries=16, show_spinner="Searching for fixed points (a few seconds, once per model and "
                                                "input)…")
def _fixed_points(model_key, which: str, _model):
    try:
        rows = _read_sentences(paths.default_data_file("val"))
    except (ValueError, OSError):  # no data set beside this checkout: the example sentences still visit states
        rows = []
    texts = rows[:FIXED_POINT_SENTENCES] or [example.text for example in EXAMPLES]
    return workers.run(workers.fixed_points, _model, which, texts, FIXED_POINT_STARTS)


def _read_sentences(path) -> list[str]:
    from gru_viz.train import read_tsv

    return [sentence for sentence, _ in read_tsv(path)]


@st.cache_data(max_entries=64, show_spinner="Integrating gradients along the path from padding (Captum)…")
def _attribution(model_key, text: str, _model):
    return workers.run(analysis.integrated_gradients, _model, text, max_tokens=ATTRIBUTION_MAX_WORDS)


# ---- sections ------------------------------------------------------------------------------------------


def patching_section(model, base_text: str = SEED_PAIR[0], source_text: str = SEED_PAIR[1], *,
                     model_key=None) -> None:
    """The patching heatmap of ``base_text`` (rows) with states copied in from ``source_text``."""
    st.subheader("Activation patching: carry one sentence's memory into the other")
    if not model.single_path:
        st.info(SHAPE_NOTE.format(view="Activation patching"))
        return
    mode = st.radio("Patch", ["all units, every source word", "unit groups, the source's final state"],
                    key="research_patching_mode", horizontal=True,
                    help="Rows: the base word after which the base's hidden state is replaced. Columns: the source "
                         "word whose state is copied in, or which units are copied from the source's last state.")
    try:
        base, source = model.trace(base_text), model.trace(source_text)
    except ValueError as error:
        st.info(f"Patching needs two sentences: {error}")
        return
    if max(len(base.tokens), len(source.tokens)) > PATCHING_MAX_WORDS:
        st.info(f"The patching heatmap reads at most {PATCHING_MAX_WORDS} words per sentence; shorten the texts.")
        return
    if not st.toggle("Compute the patching heatmap", value=True, key="research_patching_on",
                     help=f"{len(base.tokens)} × {len(source.tokens)} patched runs; cached per sentence pair."):
        return
    grid, columns = _patching(_key(model, model_key), base_text, source_text,
                              "words" if mode.startswith("all") else "units", _model=model)
    figure = figures.patching_figure(
        grid, base.tokens, columns, base_probability=float(base.probability[-1]),
        source_probability=float(source.probability[-1]),
        column_title="source word" if mode.startswith("all") else "units copied from the source's last state")
    chart(figure, "chart_patching")
    st.caption("Each cell is P(positive) of the *base* sentence when, after the row's word, its hidden state is "
               "replaced by the source's state after the column's word (or only the column's units, from the "
               "source's last state), and the rest of the base is read from there. The bottom row patches the "
               "base's final state, so it is the source's running verdict. A cell says how much of the source's "
               "verdict a patched memory carries through the rest of the base; it does not say which words "
               "caused it, and a state from another sentence may be one the base never visits.")


def connectivity_section(models: dict, text: str, *, model_keys: dict | None = None, note: str | None = None,
                         layered=None) -> None:
    """T×T connectivity of ``text`` for each model of ``models`` ({name: SentimentModel}), side by side; ``note``:
    a line on how the chosen model is shown; ``layered``: (model, key, layer, direction) of a stack, shown first,
    one layer at a time (``analysis.layer_connectivity``)."""
    st.subheader("Connectivity: which earlier states each state still depends on")
    if note:
        st.info(note)
    if not models:
        st.caption("No model to show.")
        return
    if not st.toggle("Compute the T×T connectivity", key="research_connectivity_on",
                     help="Every ‖∂h_t/∂h_s‖ in float64: a second or two for 300 words, per model."):
        return
    matrices, tokens = {}, {}
    try:
        if layered is not None:
            model, key, layer, direction = layered
            name = f"{model.name}, layer {layer + 1} {('forward', 'backward')[direction]}"
            matrices[name] = _layer_connectivity(key, text, layer, direction, _model=model)
            tokens[name] = model.tokenize(text, caches.PAGE_MAX_TOKENS)[0].tokens
        for name, model in models.items():
            key = (model_keys or {}).get(name) or _key(model, None)
            matrices[name] = _connectivity(key, text, _model=model)
            tokens[name] = model.trace(text, max_tokens=caches.PAGE_MAX_TOKENS).tokens
    except ValueError as error:
        st.info(str(error))
        return
    chart(figures.connectivity_figure(matrices, tokens), "chart_connectivity")
    st.caption("Row t, column s: `‖∂h_t/∂h_s‖`, the Frobenius norm of how the state after word t changes with a "
               "small change of the state after word s, along this sentence's own path (the diagonal is √H, "
               "nothing above it). Dark far from the diagonal means a long memory (the colour darkens with the "
               "norm). It measures sensitivity, not "
               "use: a large norm can lie in directions the verdict never reads, and it is linear, so it says "
               "nothing about large changes such as swapping a word.")


def fixed_points_section(model, text: str, *, model_key=None) -> None:
    """Fixed points of the model's step under a constant input, drawn into the sentence's 2-D path."""
    st.subheader("Fixed points: where the memory settles (a line attractor, or separate attractors?)")
    if not model.single_path:
        st.info(SHAPE_NOTE.format(view="The fixed-point search") + " A layer above the first reads the layer "
                "below's outputs, which change with every word: there is no constant input to settle under.")
        return
    left, right = st.columns([2, 1])
    choice = left.selectbox("Constant input", list(INPUTS), key="research_fixed_input",
                            help="The word the network keeps reading while the state settles.")
    which = INPUTS[choice]
    if which is None:
        which = right.text_input("Word", value="movie", key="research_fixed_word").strip()
    if not st.toggle("Find the fixed points", key="research_fixed_on",
                     help="Newton in float64 from states visited on validation sentences, from their minima of "
                          "½‖F(h) − h‖² and from where the map carries them: a few seconds once per model and "
                          "input, then cached."):
        return
    try:
        found = _fixed_points(_key(model, model_key), which, _model=model)
        sentence = model.trace(text, max_tokens=caches.PAGE_MAX_TOKENS)
    except ValueError as error:
        st.info(str(error))
        return
    readout = model.readout_weight  # (H,)
    cosine = analysis.readout_cosine(found.directions, readout)
    dropped = (f"Of {found.candidates} candidates, {found.dropped['box']} ran onto or past the box |h_i| = 1, "
               f"{found.dropped['not_converged']} did not converge and {found.dropped['duplicate']} were "
               "duplicates.")
    if not len(found):
        st.info(f"No fixed point with ‖F(h) − h‖ ≤ {RESIDUAL_TOLERANCE:g} inside the box for this input. {dropped}")
        return
    logit = found.points @ readout + model.readout_bias  # (K,) where each point sits on the verdict
    kinds = found.kinds
    verdicts = np.where(is_positive(1 / (1 + np.exp(-logit))), "positive", "negative")  # (K,)
    attractors = "; ".join(f"logit {value:+.2f}, {verdict}" for value, verdict
                           in zip(logit[kinds == "attractor"], verdicts[kinds == "attractor"]))
    st.markdown(f"**{len(found)} fixed points** for the input {which!r}: {_kind_counts(kinds)}"
                + (f" (attractors at {attractors})." if attractors else "."))
    failed = found.dropped["not_converged"]
    if failed:  # a search that failed from some starts may have missed points: said beside the count, not below
        st.info(f"Newton did not converge from {failed} of {found.candidates} starts; they are left out, so fixed "
                f"points near them may be missing from this list. {dropped}")
    basis = analysis.projection_basis(model.card, sentence.path)
    path = figures.trajectory_figure([figures.sentence_path(sentence, basis)], dims=2, explained=basis.explained)
    chart(figures.fixed_points_figure(
        path, found.points, found.directions, found.slowest, basis, readout_cosine=cosine,
        title=f"{len(found)} fixed points for the input {which!r}, in the sentence's PCA view"), "chart_fixed_points")
    table = {"kind": kinds, "logit at the point": logit,
             "verdict": verdicts,
             "residual ‖F(h) − h‖": found.residual, "largest |λ|": found.slowest,
             "τ of the slowest mode (steps)": found.timescales[:, 0],
             f"modes with |λ| ≥ {SLOW_THRESHOLD}": found.slow_modes(), "modes with |λ| > 1": found.growing_modes,
             "|cos(slow direction, readout)|": cosine}
    st.dataframe({name: np.asarray(values) for name, values in table.items()}, key="research_fixed_table")
    labels = [f"#{k} {kind}, logit {value:+.2f}" for k, (kind, value) in enumerate(zip(kinds, logit))]
    chart(figures.eigenvalue_figure(found.eigenvalues, labels, kinds=kinds), "chart_fixed_eigenvalues")
    st.caption("A fixed point h* = F(h*) is a state the network keeps while it reads the constant input. Each one "
               f"here is checked by that definition: ‖F(h) − h‖ ≤ {RESIDUAL_TOLERANCE:g} in float64, every unit "
               "strictly inside (−1, 1). " + dropped + " The eigenvalues λ of ∂F/∂h at a point say how each "
               "direction fades: τ = −1/ln|λ| steps (negative: the direction grows). An attractor has every |λ| < 1; a "
               "saddle has at least one |λ| > 1, so a state near it leaves along that direction. Modes with "
               f"|λ| ≥ {SLOW_THRESHOLD} hold a memory of 100 steps or more. A line attractor would show as "
               "many points along a line, each with one |λ| ≈ 1 along it and a slow direction aligned with the "
               "readout (cos near 1). Running the map forward from visited states finds the attractors they fall "
               "into; saddles are found only near the starts of the search, so more may exist. "
               "These are the dynamics under one repeated input, not under real text; a point found in the "
               f"projection may lie far from the path in the {model.gru.hidden_size - 2} directions the plot "
               "does not show.")


def _kind_counts(kinds) -> str:
    """How many points of each kind, e.g. "2 attractors, 3 saddles" (kinds in alphabetical order)."""
    names, counts = np.unique(np.asarray(kinds), return_counts=True)
    return ", ".join(f"{count} {name}{'s' if count > 1 else ''}" for name, count in zip(names, counts))


def attribution_section(model, text: str, *, model_key=None) -> None:
    """Integrated gradients (Captum, from the padding embedding) beside the exact per-word logit change."""
    st.subheader("Integrated gradients beside the exact logit change")
    if not model.single_path:
        st.info(SHAPE_NOTE.format(view="Integrated gradients"))
        return
    st.caption(f"Reads the first {ATTRIBUTION_MAX_WORDS} words: each integration point reads every word again, up "
               "to 5,440 points.")
    if not st.toggle("Compute integrated gradients", key="research_ig_on",
                     help="Captum's IntegratedGradients on the word embeddings; more integration points are taken "
                          f"until the completeness delta is below {DELTA_TOLERANCE:g}."):
        return
    try:
        result = _attribution(_key(model, model_key), text, _model=model)
    except ValueError as error:
        st.info(str(error))
        return
    if not result.converged:
        st.warning(f"Integrated gradients did not converge on this text: after {result.steps} integration points "
                   f"the credits miss the logit change by {result.delta:+.2g} (tolerance {result.tolerance:g}). The "
                   "blue bars below are not attributions to read; the red bars, the exact changes, still are.")
    chart(figures.attribution_figure(
        result.tokens, result.attributions, result.logit_changes, delta=result.delta, logit=result.logit,
        baseline_logit=result.baseline_logit, start_logit=result.start_logit), "chart_attribution")
    st.caption(f"Blue: integrated gradients of the final logit on each word's embedding, from a baseline of "
               f"padding embeddings (zeros), {result.steps} integration points; they sum to f(x) − f(baseline) up "
               f"to the completeness delta ({result.delta:.1e}). Red: the exact change of the running logit when "
               "the word was read. They answer different questions — credit for the final verdict against what "
               "each word did at its moment — so they disagree where a word's effect depends on later words or "
               "on the words before it. Neither is a causal effect of removing the word.")


def dynamics_sections(model, text: str, *, model_key=None, view: tuple[int, int] = (0, 0)) -> None:
    """Connectivity (the shipped GRU, no-reset GRU and RNN beside the chosen model), fixed points and
    integrated gradients of ``text``: the research views of the dynamics page. ``view``: the (layer, direction)
    shown of a model with several layers or two directions."""
    models, keys = _comparison_models(model, model_key)
    note = layered = None
    if not model.single_path and model.arch == "gru":
        layered = (model, _key(model, model_key), *view)
        note = ("This model's connectivity is shown one layer and direction at a time (the ones picked above), with "
                "the layer's input held at what it read: the layer below's outputs, or the words.")
    connectivity_section(models, text, model_keys=keys, note=note, layered=layered)
    fixed_points_section(model, text, model_key=model_key)
    attribution_section(model, text, model_key=model_key)


def _comparison_models(model, model_key):
    """({name: model}, {name: key}): the chosen model, then the shipped comparison models that exist."""
    models, keys = {}, {}
    if model.single_path:
        models[model.name], keys[model.name] = model, _key(model, model_key)
    folders = caches.model_folders(caches.models_root())
    for name in CONNECTIVITY_MODELS:
        if name in folders and name not in models:
            try:
                key, other = caches.named_model(name)
            except (ValueError, OSError):
                continue
            models[name], keys[name] = other, key
    return models, keys
