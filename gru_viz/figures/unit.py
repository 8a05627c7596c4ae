"""One unit's page: its histograms over a corpus, its contexts as shaded text, and P(positive) steered against free.

The page draws the histograms and the steering as Vega-Lite (``unit_histograms_specs``, ``steering_spec``: plain
dicts, drawn without Plotly's 4.7 MB bundle, see ``figures.story``); their Plotly twins (``unit_histograms_figure``,
``steering_figure``) are the same charts for the HTML download.

Shaded text is HTML built here, with every word escaped (``html.escape``), so a sentence that holds markup is
shown as the characters typed. A word's background is the unit's value there on the diverging scale (red
negative, blue positive, white 0); words further than the stored window from the hit are plain.

>>> shaded_words_html(["<b>", "good"], [0.0, 1.0]).split("</span> ")[0]
'<span class="unit-words"><span style="background:rgba(33,102,172,0.000)" title="0">&lt;b&gt;'
"""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from gru_viz.figures.sentence import probability_comparison_figure
from gru_viz.figures.story import word_key
from gru_viz.figures.style import FIELD_TITLES, SERIES_COLORS, new_figure
from gru_viz.model import VERDICT_THRESHOLD

__all__ = ["shaded_contexts_html", "shaded_words_html", "steering_figure", "steering_spec", "unit_histograms_figure",
           "unit_histograms_specs"]

_POSITIVE_RGB, _NEGATIVE_RGB = "33,102,172", "178,24,43"  # DIVERGING's ends, as rgba() wants them
_SYMBOLS = {"hidden": "h", "update": "z", "reset": "r", "candidate": "n"}
_MAX_OPACITY = 0.55  # |value| = 1 at this opacity: dark enough to read the sign, light enough to read the word


def _shade(value: float) -> str:
    if not np.isfinite(value):
        return ""
    rgb = _POSITIVE_RGB if value >= 0 else _NEGATIVE_RGB
    opacity = min(abs(float(value)), 1.0) * _MAX_OPACITY
    return f' style="background:rgba({rgb},{opacity:.3f})" title="{float(value):.4g}"'


def shaded_words_html(tokens, values, *, center: int | None = None, window: int | None = None,
                      link: str | None = None) -> str:
    """Words ``tokens`` (T,) shaded by ``values`` (T,) (NaN: unshaded), as one inline HTML line. With ``center``
    and ``window``, only the words within ``window`` of ``center``, the centre word boxed, and "…" where the
    sentence goes on. ``link`` (a URL, escaped here) makes the line a link."""
    start, stop = 0, len(tokens)
    if center is not None and window is not None:
        start, stop = max(center - window, 0), min(center + window + 1, len(tokens))
    words = []
    for position in range(start, stop):
        shade = _shade(values[position])
        box = ' class="unit-hit"' if position == center else ""
        words.append(f"<span{box}{shade}>{html.escape(str(tokens[position]))}</span>")
    line = ("… " if start > 0 else "") + " ".join(words) + (" …" if stop < len(tokens) else "")
    if link is not None:
        line = f'<a href="{html.escape(link, quote=True)}" target="_self">{line}</a>'
    return f'<span class="unit-words">{line}</span>'


def shaded_contexts_html(hits, links: list[str], *, window: int = 5) -> str:
    """One line per hit (``analysis.Activation``: tokens, position, value, values (T,)): its value, then the
    words ``window`` either side of the hit, shaded, linking to ``links[i]``. A list a page shows as it is."""
    if len(links) != len(hits):
        raise ValueError(f"need one link per context: {len(hits)} contexts, {len(links)} links")
    rows = [f"<li><code>{hit.value:+.3f}</code> "
            f"{shaded_words_html(hit.tokens, hit.values, center=hit.position, window=window, link=link)}</li>"
            for hit, link in zip(hits, links)]
    style = ("<style>.unit-contexts{list-style:none;padding-left:0;margin:0;line-height:1.9}"
             ".unit-contexts a{color:inherit;text-decoration:none}.unit-contexts a:hover{text-decoration:underline}"
             ".unit-hit{outline:2px solid #000;padding:0 2px}.unit-words span{padding:1px 2px;border-radius:3px}"
             "</style>")
    return f'{style}<ul class="unit-contexts">{"".join(rows)}</ul>'


def unit_histograms_figure(histograms: dict, unit: int) -> go.Figure:
    """Side-by-side bar charts of a unit's fields over a corpus: ``histograms`` {field: (bin_low, bin_high,
    count)} as ``CorpusIndex.histogram`` gives them, in the order given; the y axis is the share of words."""
    if not histograms:
        raise ValueError("there are no histograms to draw")
    data, layout = [], {}
    count = len(histograms)
    gap = 0.06
    width = (1 - gap * (count - 1)) / count
    for index, (field, (low, high, counts)) in enumerate(histograms.items()):
        suffix = "" if index == 0 else str(index + 1)
        total = max(int(np.sum(counts)), 1)
        data.append({"type": "bar", "x": (np.asarray(low) + np.asarray(high)) / 2, "y": np.asarray(counts) / total,
                     "width": np.asarray(high) - np.asarray(low), "customdata": np.stack([low, high, counts], -1),
                     "marker": {"color": SERIES_COLORS[index % len(SERIES_COLORS)]},
                     "name": _SYMBOLS[field], "xaxis": f"x{suffix}", "yaxis": f"y{suffix}", "showlegend": False,
                     "hovertemplate": (f"{_SYMBOLS[field]} in [%{{customdata[0]:.3f}}, %{{customdata[1]:.3f}}): "
                                       "%{customdata[2]:,} words (%{y:.2%})<extra></extra>")})
        left = index * (width + gap)
        layout[f"xaxis{suffix}"] = {"domain": [left, left + width], "anchor": f"y{suffix}",
                                    "range": [float(low[0]), float(high[-1])],
                                    "title": {"text": f"{_SYMBOLS[field]}: {FIELD_TITLES[field]}"}}
        layout[f"yaxis{suffix}"] = {"anchor": f"x{suffix}", "tickformat": ".0%",
                                    "title": {"text": "share of words" if index == 0 else ""}}
    layout.update({"title": {"text": f"Unit {int(unit)} over every word of the corpus"}, "height": 300,
                   "bargap": 0, "margin": {"t": 40, "b": 10, "l": 50, "r": 10}})
    return new_figure(data, layout)


def steering_figure(tokens: list[str], steered, free, *, alpha: float, direction: str) -> go.Figure:
    """P(positive) after each word, free against steered by α·``direction`` (a name, e.g. "unit 3")."""
    figure = probability_comparison_figure(tokens, free, steered,
                                           names=("free", f"steered: {alpha:+g} · {direction}"))
    figure.update_layout(title={"text": f"P(positive) after each word: free against steered ({alpha:+g} · "
                                        f"{html.escape(direction, quote=False)})"})
    return figure


def unit_histograms_specs(histograms: dict, unit: int) -> dict[str, dict]:
    """``unit_histograms_figure`` as one Vega-Lite spec per field ({field: spec}, in the order given), for a page to
    draw side by side: each bin a bar from bin_low to bin_high, its height the share of words; the tooltip gives the
    bin, the count and the share.

    >>> specs = unit_histograms_specs({"update": ([0.0, 0.5], [0.5, 1.0], [1, 3])}, unit=2)
    >>> [(row["bin_low"], row["bin_high"], row["count"], row["share"]) for row in specs["update"]["data"]["values"]]
    [(0.0, 0.5, 1, 0.25), (0.5, 1.0, 3, 0.75)]
    """
    if not histograms:
        raise ValueError("there are no histograms to draw")
    specs = {}
    for index, (field, (low, high, counts)) in enumerate(histograms.items()):
        low, high = np.asarray(low, dtype=np.float64), np.asarray(high, dtype=np.float64)
        counts = np.asarray(counts, dtype=np.int64)
        total = max(int(counts.sum()), 1)
        symbol = _SYMBOLS[field]
        rows = [{"bin_low": float(a), "bin_high": float(b), "count": int(n), "share": int(n) / total}
                for a, b, n in zip(low, high, counts)]
        x = {"field": "bin_low", "type": "quantitative", "scale": {"domain": [float(low[0]), float(high[-1])]},
             "axis": {"title": f"{symbol}: {FIELD_TITLES[field]}"}}
        specs[field] = {
            "title": {"text": f"Unit {int(unit)}: {symbol} at every word", "anchor": "start",
                      "fontSize": 13},
            "data": {"values": rows}, "height": 200, "width": "container",
            "autosize": {"type": "fit-x", "contains": "padding"},
            "mark": {"type": "bar", "color": SERIES_COLORS[index % len(SERIES_COLORS)], "binSpacing": 0},
            "encoding": {"x": x, "x2": {"field": "bin_high"},
                         "y": {"field": "share", "type": "quantitative",
                               "axis": {"format": ".0%", "title": "share of words" if index == 0 else None}},
                         "y2": {"datum": 0},  # x and x2 alone make Vega-Lite lay a bar on its side
                         "tooltip": [{"field": "bin_low", "type": "quantitative", "title": f"{symbol} from",
                                      "format": ".3f"},
                                     {"field": "bin_high", "type": "quantitative", "title": "to", "format": ".3f"},
                                     {"field": "count", "type": "quantitative", "title": "words", "format": ","},
                                     {"field": "share", "type": "quantitative", "format": ".2%"}]},
            "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}
    return specs


def steering_spec(tokens: list[str], steered, free, *, alpha: float, direction: str) -> dict:
    """``steering_figure`` as one Vega-Lite spec: P(positive) after each word (T,), free (solid) against steered by
    α·``direction`` (dashed), the verdict line dotted at ``VERDICT_THRESHOLD``. Words travel as data, keyed by
    position (``figures.story.word_key``) so a repeated word keeps its own column.

    >>> spec = steering_spec(["a", "a"], [0.6, 0.9], [0.5, 0.4], alpha=1.0, direction="unit 3")
    >>> [(row["series"], row["word"], row["p"]) for row in spec["data"]["values"]]
    [('free', 'a', 0.5), ('free', 'a', 0.4), ('steered: +1 · unit 3', 'a', 0.6), ('steered: +1 · unit 3', 'a', 0.9)]
    """
    steered, free = np.asarray(steered, dtype=np.float64), np.asarray(free, dtype=np.float64)
    if not len(free) == len(steered) == len(tokens):
        raise ValueError(f"need one probability per token: {len(tokens)} tokens, {len(free)} and {len(steered)}")
    keys = [word_key(t, word) for t, word in enumerate(tokens)]
    names = ["free", f"steered: {alpha:+g} · {direction}"]
    rows = [{"key": keys[t], "word": word, "series": name, "p": float(values[t]),
             "steered_minus_free": float(steered[t] - free[t])}
            for name, values in zip(names, (free, steered)) for t, word in enumerate(tokens)]
    x = {"field": "key", "type": "ordinal", "scale": {"domain": keys},
         "axis": {"title": None, "labelExpr": "substring(datum.label, 5)", "labelOverlap": True,
                  "labelAngle": -40 if len(tokens) > 12 else 0, "labelLimit": 90, "ticks": False}}
    return {"title": {"text": f"P(positive) after each word: free against steered ({alpha:+g} · {direction})",
                      "anchor": "start"},
            "data": {"values": rows}, "height": 260, "width": "container",
            "autosize": {"type": "fit-x", "contains": "padding"},
            "layer": [
                {"mark": {"type": "rule", "strokeDash": [2, 3], "color": "#999999"},  # the verdict line
                 "encoding": {"y": {"datum": VERDICT_THRESHOLD}}},
                {"mark": {"type": "line", "point": True},
                 "encoding": {"x": x,
                              "y": {"field": "p", "type": "quantitative", "scale": {"domain": [0, 1]},
                                    "axis": {"title": "P(positive)"}},
                              "color": {"field": "series", "type": "nominal", "sort": names,
                                        "scale": {"domain": names, "range": SERIES_COLORS[:2]},
                                        # line samples: a dashed point symbol reads as a blot
                                        "legend": {"title": None, "orient": "bottom", "direction": "horizontal",
                                                   "labelLimit": 400, "symbolType": "stroke",
                                                   "symbolStrokeWidth": 2}},
                              "strokeDash": {"field": "series", "type": "nominal", "sort": names, "legend": None,
                                             "scale": {"domain": names, "range": [[1, 0], [6, 4]]}},
                              "tooltip": [{"field": "word", "type": "nominal", "title": "after"},
                                          {"field": "series", "type": "nominal", "title": "run"},
                                          {"field": "p", "type": "quantitative", "title": "P(positive)",
                                           "format": ".6f"},
                                          {"field": "steered_minus_free", "type": "quantitative",
                                           "title": "steered − free", "format": "+.6f"}]}}],
            "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 12}}}
