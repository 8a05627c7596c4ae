"""Figures by subject: arrays (or the analyses' named results) in, a Plotly ``go.Figure`` out, and for every chart a
page draws when it opens, a Vega-Lite spec too (``*_spec``, ``*_specs``: a plain dict), which the browser draws
without evaluating Plotly's bundle first; the Plotly twin is what the HTML download and notebooks use. Nothing
here computes a number the page shows.

- ``style``:    the template, colour scales, the fields' titles and ranges, the rule for which words are ringed.
- ``sentence``: a sentence read: the story, each word's change of the logit, unit heatmaps, the memory's path,
  and two readings side by side (two sentences, free against forced gates, activation patching).
- ``cell``:     one unit through the sentence, and the cell's equations with the model's numbers.
- ``story``:    the Read page's first chart as Vega-Lite (drawn without Plotly's bundle), and the word axis and
  field colours every Vega-Lite spec shares.
- ``dataset``:  over a data set: gate saturation, timescales, unit search, the ablation, gradient flow by
  distance, the memory probe's curves; the first five also as Vega-Lite (``*_spec``).
- ``dynamics``: a sentence's gradient flow, connectivity, fixed points and their eigenvalues, integrated gradients.
- ``unit``:     one unit's page: its histograms over a corpus, its contexts as shaded text, steering (the
  histograms and steering also as Vega-Lite).
- ``study``:    the seed study's claims as Vega-Lite: one dot per training seed, the mean and its 95% interval.
- ``table``:    small tables as plain HTML (numbers formatted, exact on hover; text escaped).
- ``trace``:    any ``GRUTrace`` (from ``trace_gru``, ``capture`` or a model), for notebooks: gate heatmaps of a
  layer, a direction and a batch item, and the hidden state's path.
- ``lesson``:   the lesson's charts: several models reading one sentence, one gate across every unit at a word
  (each also as Vega-Lite).

Builders skip Plotly's validation for speed; the tests validate every one. Every public name is re-exported here.

>>> import numpy as np
>>> figure = word_change_figure(["not", "bad"], np.array([-0.5, 1.5]), start_logit=0.1)
>>> figure.data[0].y.tolist()
[-0.5, 1.5]
"""

from __future__ import annotations

from gru_viz.figures.cell import cell_latex, unit_over_words_figure, unit_over_words_spec
from gru_viz.figures.dataset import (
    ablation_figure,
    ablation_spec,
    dataset_gradient_flow_figure,
    dataset_gradient_flow_spec,
    probe_figure,
    saturation_figure,
    saturation_spec,
    timescale_figure,
    timescale_spec,
    top_activations_figure,
    top_activations_spec,
)
from gru_viz.figures.dynamics import (
    attribution_figure,
    connectivity_figure,
    eigenvalue_figure,
    fixed_points_figure,
    gradient_flow_figure,
    gradient_flow_spec,
)
from gru_viz.figures.lesson import (
    carriers_figure,
    carriers_spec,
    gate_across_units_figure,
    gate_across_units_spec,
    models_probability_figure,
    models_probability_spec,
    vanilla_latex,
)
from gru_viz.figures.sentence import (
    TrajectoryPath,
    compare_prediction_figure,
    compare_prediction_spec,
    difference_heatmap,
    models_prediction_figure,
    models_prediction_spec,
    patching_figure,
    probability_comparison_figure,
    sentence_path,
    story_figure,
    trajectory_figure,
    unit_heatmap_spec,
    unit_heatmaps_figure,
    word_change_figure,
)
from gru_viz.figures.story import START, field_colour_scale, story_specs, word_key, word_x
from gru_viz.figures.study import claim_rows, claim_spec
from gru_viz.figures.style import (
    FIELD_RANGES,
    FIELD_SYMBOLS,
    FIELD_TITLES,
    MIN_MARKED_MOVE,
    marked_moves,
    new_figure,
    plotly_text,
    unit_labels,
    word_axis,
)
from gru_viz.figures.table import values_table_html
from gru_viz.figures.trace import DIRECTIONS, hidden_path, trace_heatmaps
from gru_viz.figures.unit import (
    shaded_contexts_html,
    shaded_words_html,
    steering_figure,
    steering_spec,
    unit_histograms_figure,
    unit_histograms_specs,
)

__all__ = [
    # the house style
    "FIELD_RANGES", "FIELD_SYMBOLS", "FIELD_TITLES", "MIN_MARKED_MOVE", "marked_moves", "new_figure", "plotly_text",
    "unit_labels", "word_axis",
    # a sentence read, and two readings side by side
    "TrajectoryPath", "sentence_path", "story_figure", "trajectory_figure", "unit_heatmaps_figure",
    "word_change_figure", "compare_prediction_figure", "compare_prediction_spec", "models_prediction_figure",
    "models_prediction_spec", "unit_heatmap_spec", "difference_heatmap",
    "patching_figure", "probability_comparison_figure",
    # the cell
    "cell_latex", "unit_over_words_figure", "unit_over_words_spec",
    # the Read page's first chart, in Vega-Lite
    "START", "field_colour_scale", "story_specs", "word_key", "word_x",
    # the seed study's claims, in Vega-Lite
    "claim_rows", "claim_spec",
    # over a data set
    "ablation_figure", "dataset_gradient_flow_figure", "probe_figure", "saturation_figure", "timescale_figure",
    "top_activations_figure",
    # over a data set, in Vega-Lite (the charts *Across the data set* draws on load)
    "ablation_spec", "dataset_gradient_flow_spec", "saturation_spec", "timescale_spec", "top_activations_spec",
    # one unit's page
    "shaded_contexts_html", "shaded_words_html", "steering_figure", "unit_histograms_figure",
    "steering_spec", "unit_histograms_specs",
    # small tables as plain HTML
    "values_table_html",
    # the memory's dynamics
    "attribution_figure", "connectivity_figure", "eigenvalue_figure", "fixed_points_figure", "gradient_flow_figure",
    "gradient_flow_spec",
    # any trace, by layer, direction and batch item (notebooks)
    "DIRECTIONS", "hidden_path", "trace_heatmaps",
    # the lesson
    "carriers_figure", "carriers_spec", "gate_across_units_figure", "gate_across_units_spec",
    "models_probability_figure", "models_probability_spec", "vanilla_latex",
]
