"""The unit page's figures (``gru_viz.figures.unit``) and the unit links other figures carry: valid Plotly and
Vega-Lite, the numbers given, and every word escaped."""

from __future__ import annotations

import altair as alt
import numpy as np

from gru_viz.analysis import Activation
from gru_viz.figures import (
    shaded_contexts_html,
    shaded_words_html,
    steering_figure,
    story_specs,
    unit_heatmaps_figure,
    unit_histograms_figure,
)
from tests.library_helpers import validated

TOKENS = ["not", "<b>bad</b>", "&", '"x"', "film"]


def test_histograms_show_each_fields_share_of_words():
    edges = np.linspace(0, 1, 5)
    signed = edges * 2 - 1
    figure = validated(unit_histograms_figure({"update": (edges[:-1], edges[1:], np.array([1, 0, 3, 4])),
                                               "hidden": (signed[:-1], signed[1:], np.array([2, 2, 0, 0]))}, unit=3))
    assert figure.data[0].y.tolist() == [0.125, 0.0, 0.375, 0.5]
    assert figure.data[1].y.tolist() == [0.5, 0.5, 0.0, 0.0]
    assert figure.layout.xaxis2.range == (-1.0, 1.0)


def test_shaded_words_are_escaped_and_shaded_by_value():
    line = shaded_words_html(TOKENS, np.array([0.5, -1.0, np.nan, 0.0, 2.0]), link='read?text=a"b&model=m')
    assert "&lt;b&gt;bad&lt;/b&gt;" in line and "&amp;" in line and "&quot;x&quot;" in line and "<b>" not in line
    assert 'href="read?text=a&quot;b&amp;model=m"' in line
    assert "rgba(178,24,43,0.550)" in line and "rgba(33,102,172,0.275)" in line  # red for −1, half blue for 0.5
    assert line.count("rgba(33,102,172,0.550)") == 1  # beyond 1: the colour of 1
    hit = Activation(sentence=0, position=2, value=0.0, tokens=TOKENS, values=np.zeros(5, dtype=np.float32))
    block = shaded_contexts_html([hit], ["read?text=x"], window=1)
    assert block.count("<span class=\"unit-hit\"") == 1 and "… " in block and " …" in block  # words cut on both sides
    assert ">not<" not in block and ">film<" not in block  # two words from the hit: outside a window of 1


def test_steering_figure_holds_both_runs():
    figure = validated(steering_figure(["a", "<i>b</i>"], [0.2, 0.9], [0.3, 0.4], alpha=1.5, direction="unit 3"))
    assert figure.data[0].y.tolist() == [0.3, 0.4] and figure.data[1].y.tolist() == [0.2, 0.9]
    assert "+1.5 · unit 3" in figure.layout.title.text


def test_unit_labels_link_to_the_unit_page():
    values = np.random.default_rng(0).random((5, 6))
    rows = story_specs(TOKENS, np.full(5, 0.5), 0.5, np.zeros(5), values, [4, 0], [0.9, -0.5],
                       unit_link="unit?unit={unit}&model=m")
    alt.Chart.from_dict(rows["units"])  # the href channel is valid Vega-Lite
    assert {(row["unit"], row["href"]) for row in rows["units"]["data"]["values"]} == {
        ("unit 4 (+0.90)", "unit?unit=4&model=m"), ("unit 0 (-0.50)", "unit?unit=0&model=m")}
    figure = validated(unit_heatmaps_figure({"update": values}, TOKENS, [4, 0], unit_link="unit?unit={unit}&model=m"))
    assert list(figure.layout.yaxis.ticktext) == ['<a href="unit?unit=4&amp;model=m" target="_self">unit 4</a>',
                                                  '<a href="unit?unit=0&amp;model=m" target="_self">unit 0</a>']
