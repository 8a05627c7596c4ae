"""Analyses on traces: what each word wrote into memory, how gradient flows back through time, what
happens when gates are forced, and how each unit uses its gates over a whole data set.

Every function here takes arrays, modules or a loaded ``SentimentModel`` and returns arrays or one named
result object; the page and the CLI only display them. Nothing here writes to a model: interventions go
through the clamps of ``trace_gru``, which never modify the module.

One module per concept, every public name re-exported here:

- ``decomposition``: h_T and the final logit as exact sums over words; how far each word moved P.
- ``gradients``:     ‖∂h_T/∂h_t‖ for a sentence and by distance over a data set.
- ``interventions``: clamps, a sentence free vs clamped, accuracy with gates forced (ablation).
- ``units``:         gate saturation and timescales per unit, unit search, heatmap row orders.
- ``projection``:    principal axes of hidden states and the 2-D/3-D path.
- ``datasets``:      reading a list of texts (ids, tokens, embeddings) for the data-set analyses.

>>> from gru_viz.model import load_model
>>> model = load_model("models/sst2-gru")
>>> sentence = model.trace("not bad at all")
>>> clamp = clamp_array((len(sentence.tokens), model.gru.hidden_size), units=[3, 7], positions=slice(1, 3))
>>> run = intervene(model, "not bad at all", clamp_update=clamp)      # free and clamped side by side
>>> run.probability_change.shape
(4,)
"""

from __future__ import annotations

from gru_viz.analysis.datasets import Progress, embed_texts, encode_texts, real_steps, tokenize_texts
from gru_viz.analysis.decomposition import (
    LogitSplit,
    decompose_final_state,
    largest_moves,
    probability_moves,
    word_logit_contributions,
)
from gru_viz.analysis.gradients import (
    GradientFlowByDistance,
    dataset_gradient_flow,
    gradient_flow,
    sentence_gradient_flow,
    step_jacobians,
)
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
from gru_viz.analysis.projection import PrincipalAxes, Projection, fit_pca, project, projection_basis
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

__all__ = ["ABLATIONS", "ABLATION_MEANINGS", "CLAMP_MODES", "CLUSTER_LIMIT", "FAST_TIMESCALE", "FIELDS",
           "INTEGRATOR_FRACTION", "INTERVENTION_MODES", "RESETTER_FRACTION", "SATURATION", "UNIT_ORDERS",
           "Activation", "GradientFlowByDistance", "Intervention", "LogitSplit", "MemoryStatistics", "PrincipalAxes",
           "Progress", "Projection", "ablation", "ablation_accuracy",
           "ablation_probabilities", "activation_rows", "clamp_array", "cluster_order", "dataset_gradient_flow",
           "decompose_final_state", "embed_texts", "encode_texts", "fit_pca", "gradient_flow", "head_units",
           "intervene", "intervention_clamps", "largest_moves", "memory_statistics", "one_per_sentence",
           "probability_moves", "project", "projection_basis", "real_steps", "sentence_gradient_flow",
           "step_jacobians", "tokenize_texts", "top_activations", "unit_order", "verdict_flips",
           "word_logit_contributions"]


# concept modules, re-exported so callers import from gru_viz.analysis
from gru_viz.analysis.cell import CellStep, GateTerms, cell_step, sentence_cell_step
from gru_viz.analysis.ranking import (
    ROW_ORDERS,
    logit_change_by_unit,
    rank_units,
    sentence_logit_changes,
    sentence_logit_split,
    shown_units,
    unit_shares,
)

__all__ += ["ROW_ORDERS", "CellStep", "GateTerms", "cell_step", "logit_change_by_unit", "rank_units",
            "sentence_cell_step", "sentence_logit_changes", "sentence_logit_split", "shown_units", "unit_shares"]

# issue 12: research tools (patching, connectivity, fixed points, integrated gradients)
from gru_viz.analysis.connectivity import connectivity  # noqa: E402
from gru_viz.analysis.fixed_points import (  # noqa: E402
    FixedPoints,
    constant_input,
    fixed_points,
    readout_cosine,
    step_map,
    timescales,
    visited_states,
)
from gru_viz.analysis.integrated_gradients import WordAttribution, integrated_gradients  # noqa: E402
from gru_viz.analysis.patching import head_unit_groups, patch_hidden, patching_by_units, patching_grid  # noqa: E402

__all__ += ["FixedPoints", "WordAttribution", "connectivity", "constant_input", "fixed_points", "head_unit_groups",
            "integrated_gradients", "patch_hidden", "patching_by_units", "patching_grid", "readout_cosine",
            "step_map", "timescales", "visited_states"]
