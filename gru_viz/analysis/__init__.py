"""Analyses on traces: what each word wrote into memory, how gradient flows back through time, what
happens when gates are forced, and how each unit uses its gates over a whole data set.

Every function here takes arrays, modules or a loaded ``SentimentModel`` and returns arrays or one named
result object; the page and the CLI only display them. Nothing here writes to a model: interventions go
through the clamps of ``trace_gru``, which never modify the module.

One module per concept, every public name re-exported here (import from ``gru_viz.analysis``):

- ``datasets``:      reading a list of texts (ids, tokens, embeddings) for the data-set analyses.
- ``decomposition``: h_T and the final logit as exact sums over words; how far each word moved P.
- ``ranking``:       each unit's exact share of the logit's change; the units a heatmap shows.
- ``cell``:          one step of the cell for one unit, every term with the model's numbers.
- ``interventions``: clamps, a sentence free vs clamped, accuracy with gates forced (ablation).
- ``units``:         gate saturation and timescales per unit, unit search.
- ``unit_ablation``: accuracy with one unit's memory zeroed or frozen, for every unit.
- ``projection``:    principal axes of hidden states and the 2-D/3-D path.
- ``gradients``:     ‖∂h_T/∂h_t‖ for a sentence and by distance over a data set.
- ``connectivity``, ``patching``, ``fixed_points``, ``integrated_gradients``: the research tools.

Within the package a module imports its siblings by their own names, never this ``__init__``.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> sentence = model.trace("not bad at all")
>>> clamp = clamp_array((len(sentence.tokens), model.gru.hidden_size), units=[3, 7], positions=slice(1, 3))
>>> run = intervene(model, "not bad at all", clamp_update=clamp)      # free and clamped side by side
>>> run.probability_change.shape
(4,)
"""

from __future__ import annotations

from gru_viz.analysis.cell import CellStep, GateTerms, cell_step, sentence_cell_step
from gru_viz.analysis.connectivity import connectivity, layer_connectivity
from gru_viz.analysis.datasets import Progress, embed_texts, encode_texts, real_steps, tokenize_texts
from gru_viz.analysis.decomposition import (
    LogitSplit,
    decompose_final_state,
    largest_moves,
    probability_moves,
    word_logit_contributions,
)
from gru_viz.analysis.fixed_points import (
    FixedPoints,
    constant_input,
    fixed_points,
    readout_cosine,
    step_map,
    timescales,
    visited_states,
)
from gru_viz.analysis.gradients import (
    GradientFlowByDistance,
    dataset_gradient_flow,
    gradient_flow,
    sentence_gradient_flow,
    step_jacobians,
)
from gru_viz.analysis.integrated_gradients import WordAttribution, integrated_gradients
from gru_viz.analysis.interventions import (
    ABLATION_MEANINGS,
    ABLATIONS,
    CLAMP_MODES,
    INTERVENTION_MODES,
    Intervention,
    ablation,
    ablation_accuracy,
    ablation_probabilities,
    clamp_array,
    intervene,
    intervention_clamps,
    verdict_flips,
)
from gru_viz.analysis.patching import head_unit_groups, patch_hidden, patching_by_units, patching_grid
from gru_viz.analysis.projection import PrincipalAxes, Projection, fit_pca, project, projection_basis
from gru_viz.analysis.ranking import (
    ROW_ORDERS,
    logit_change_by_unit,
    rank_units,
    sentence_logit_changes,
    sentence_logit_split,
    shown_units,
    unit_shares,
)
from gru_viz.analysis.steering import steer, unit_direction
from gru_viz.analysis.unit_ablation import UNIT_ABLATIONS, UnitAblation, unit_ablation
from gru_viz.analysis.units import (
    CLUSTER_LIMIT,
    FAST_TIMESCALE,
    FIELDS,
    INTEGRATOR_FRACTION,
    RESETTER_FRACTION,
    SATURATION,
    UNIT_ORDERS,
    Activation,
    MemoryStatistics,
    activation_rows,
    cluster_order,
    head_units,
    memory_statistics,
    one_per_sentence,
    top_activations,
    unit_order,
)

__all__ = [
    # reading a list of texts
    "Progress", "embed_texts", "encode_texts", "real_steps", "tokenize_texts",
    # what each word wrote: the final state and logit as exact sums over words
    "LogitSplit", "decompose_final_state", "largest_moves", "probability_moves", "word_logit_contributions",
    # which units carry the verdict
    "ROW_ORDERS", "logit_change_by_unit", "rank_units", "sentence_logit_changes", "sentence_logit_split",
    "shown_units", "unit_shares",
    # one step of the cell, term by term
    "CellStep", "GateTerms", "cell_step", "sentence_cell_step",
    # gates forced: clamps, interventions, ablation
    "ABLATIONS", "ABLATION_MEANINGS", "CLAMP_MODES", "INTERVENTION_MODES", "Intervention", "ablation",
    "ablation_accuracy", "ablation_probabilities", "clamp_array", "intervene", "intervention_clamps",
    "verdict_flips",
    # each unit over a data set: saturation, timescales, labels, unit search
    "CLUSTER_LIMIT", "FAST_TIMESCALE", "FIELDS", "INTEGRATOR_FRACTION", "RESETTER_FRACTION", "SATURATION",
    "Activation", "MemoryStatistics", "activation_rows", "cluster_order", "head_units", "memory_statistics",
    "one_per_sentence", "top_activations", "UNIT_ORDERS", "unit_order",
    # the path of the hidden state
    "PrincipalAxes", "Projection", "fit_pca", "project", "projection_basis",
    # how far back a gradient reaches
    "GradientFlowByDistance", "dataset_gradient_flow", "gradient_flow", "sentence_gradient_flow", "step_jacobians",
    # research tools: patching, connectivity, fixed points, integrated gradients
    "head_unit_groups", "patch_hidden", "patching_by_units", "patching_grid",
    "connectivity", "layer_connectivity",
    "FixedPoints", "constant_input", "fixed_points", "readout_cosine", "step_map", "timescales", "visited_states",
    "WordAttribution", "integrated_gradients",
    # steering: push the memory along a direction and read on
    "steer", "unit_direction",
    # one unit taken away: accuracy and the verdicts that flip
    "UNIT_ABLATIONS", "UnitAblation", "unit_ablation",
]
