"""The unit page's figures (``gru_viz.figures.unit``) and the unit links other figures carry: valid Plotly and
Vega-Lite, the numbers given, and every word escaped."""

from __future__ import annotations

import html
import re

import altair as alt
import numpy as np

from gru_viz.analysis import Activation
from gru_viz.figures import (
    shaded_contexts_html,
    shaded_words_html,
    steering_figure,
    steering_spec,
    story_specs,
    unit_heatmaps_figure,
    unit_histograms_figure,
    unit_histograms_specs,
    values_table_html,
)
from tests.library_helpers import validated, vega_expressions

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



def test_histogram_specs_are_one_valid_chart_per_field_with_each_bin_exactly():
    edges = np.linspace(0, 1, 5)
    signed = edges * 2 - 1
    counts = {"update": np.array([1, 0, 3, 4]), "hidden": np.array([2, 2, 0, 0])}
    specs = unit_histograms_specs({"update": (edges[:-1], edges[1:], counts["update"]),
                                   "hidden": (signed[:-1], signed[1:], counts["hidden"])}, unit=3)
    assert list(specs) == ["update", "hidden"]
    for field, low, high in (("update", edges[:-1], edges[1:]), ("hidden", signed[:-1], signed[1:])):
        alt.Chart.from_dict(specs[field])  # raises on anything the schema does not allow
        rows = specs[field]["data"]["values"]
        assert [row["bin_low"] for row in rows] == low.tolist() and [row["bin_high"] for row in rows] == high.tolist()
        assert [row["count"] for row in rows] == counts[field].tolist()
        assert [row["share"] for row in rows] == [n / counts[field].sum() for n in counts[field].tolist()]
        assert specs[field]["encoding"]["x"]["scale"]["domain"] == [low[0], high[-1]]
        assert specs[field]["encoding"]["x2"] == {"field": "bin_high"}  # each bar spans its bin
    assert specs["hidden"]["title"]["text"] == "Unit 3: h at every word"


def test_steering_spec_holds_both_runs_exactly_with_words_as_data():
    tokens = ["a", "<b>bad</b>", "a"]
    steered, free = np.array([0.2, 0.9, 0.7]), np.array([0.3, 0.4, 0.45])
    spec = steering_spec(tokens, steered, free, alpha=-1.5, direction="unit 3")
    alt.LayerChart.from_dict(spec)
    rows = spec["data"]["values"]
    assert [row["p"] for row in rows if row["series"] == "free"] == free.tolist()
    assert [row["p"] for row in rows if row["series"] == "steered: -1.5 · unit 3"] == steered.tolist()
    assert [row["steered_minus_free"] for row in rows[:3]] == (steered - free).tolist()
    assert [row["word"] for row in rows[:3]] == tokens
    assert len({row["key"] for row in rows}) == 3  # the repeated "a" keeps its own column
    assert spec["layer"][0]["encoding"]["y"] == {"datum": 0.5}  # the verdict line
    assert vega_expressions(spec) and not any("bad" in expression for expression in vega_expressions(spec))
    assert "-1.5 · unit 3" in spec["title"]["text"]
    figure = steering_figure(tokens, steered, free, alpha=-1.5, direction="unit 3")
    assert figure.data[0].y.tolist() == free.tolist() and figure.data[1].y.tolist() == steered.tolist()


def test_a_values_table_escapes_text_and_prints_each_number_with_its_exact_value_on_hover():
    table = values_table_html([{"word": "<b>bad</b>", "h": -0.123456789, "n": 1.0},
                               {"word": "&", "h": 0.5, "n": -1e-9}], {"h": "+.4f", "n": ".2f"}, max_height=100)
    assert "<b>" not in table and "&lt;b&gt;bad&lt;/b&gt;" in table and "<td>&amp;</td>" in table
    cells = re.findall(r'<td class="number" title="([^"]+)">([^<]+)</td>', table)
    assert cells == [("-0.123456789", "-0.1235"), ("1.0", "1.00"), ("0.5", "+0.5000"), ("-1e-09", "-0.00")]
    assert [html.unescape(h) for h in re.findall(r"<th[^>]*>([^<]+)</th>", table)] == ["word", "h", "n"]
    assert "max-height:100px" in table
