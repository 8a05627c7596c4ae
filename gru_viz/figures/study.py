"""The seed study's claims as Vega-Lite specs (plain dicts): one dot per training seed, the mean, and its 95%
interval, so a reader sees the spread a single run hides.

A comparison claim shows the seed-paired difference (first − second variant) with a rule at zero; a claim on
one measure shows each variant's values. Variant and seed names travel as data, never inside an expression.

>>> claim = {"claim": "c", "variants": ["gru", "rnn"], "measure": "m",
...          "difference": {"differences": {"0": 0.1, "1": 0.2}, "mean": 0.15, "low": -0.49, "high": 0.79, "n": 2}}
>>> spec = claim_spec(claim)
>>> [(row["row"], row["value"]) for row in spec["layer"][0]["data"]["values"]]
[('gru − rnn', 0.1), ('gru − rnn', 0.2)]
>>> spec["layer"][1]["data"]["values"][0]["mean"]
0.15
"""

from __future__ import annotations

__all__ = ["claim_rows", "claim_spec"]

_ROW_PX = 34
_DOT = "#3b6fb6"
_MEAN = "#1a1a1a"


def claim_rows(claim: dict, measure: str | None = None) -> tuple[list[dict], list[dict]]:
    """(per-seed rows {"row", "seed", "value"}, summary rows {"row", "mean", "low", "high", "n"}) of one claim;
    ``measure`` picks one measure of a multi-measure claim (the activation comparisons)."""
    source = claim["measures"][measure] if measure is not None else claim
    if "difference" in source:
        first, second = claim["variants"]
        name = f"{first} − {second}"
        difference = source["difference"]
        dots = [{"row": name, "seed": seed, "value": value} for seed, value in difference["differences"].items()]
        return dots, [{"row": name, **{k: difference[k] for k in ("mean", "low", "high", "n")}}]
    dots, summary = [], []
    for variant in claim["variants"]:
        dots += [{"row": variant, "seed": seed, "value": value} for seed, value in source["values"][variant].items()]
        if source["summary"][variant]["n"]:
            summary.append({"row": variant, **source["summary"][variant]})
    return dots, summary


def claim_spec(claim: dict, measure: str | None = None, *, title: str | None = None) -> dict:
    """A Vega-Lite spec: per-seed dots, the mean (a black tick) and its 95% Student-t interval (a bar), one
    row per variant or difference; a dashed rule at zero for differences."""
    dots, summary = claim_rows(claim, measure)
    rows = list(dict.fromkeys(row["row"] for row in dots))
    y = {"field": "row", "type": "nominal", "title": None, "sort": rows, "axis": {"labelLimit": 160}}
    layers = [
        {"data": {"values": dots}, "mark": {"type": "circle", "size": 70, "opacity": 0.75, "color": _DOT},
         "encoding": {"x": {"field": "value", "type": "quantitative", "title": title or claim["measure"],
                            "scale": {"zero": False}, "axis": {"titleLimit": 900}},
                      "y": y, "tooltip": [{"field": "seed", "title": "seed"}, {"field": "value", "format": ".4f"}]}},
        {"data": {"values": [row for row in summary if row["low"] is not None]},
         "mark": {"type": "rule", "strokeWidth": 3, "color": _MEAN, "opacity": 0.45},
         "encoding": {"x": {"field": "low", "type": "quantitative"}, "x2": {"field": "high"}, "y": y}},
        {"data": {"values": summary}, "mark": {"type": "tick", "thickness": 3, "color": _MEAN, "size": 22},
         "encoding": {"x": {"field": "mean", "type": "quantitative"}, "y": y,
                      "tooltip": [{"field": "mean", "format": ".4f"}, {"field": "low", "format": ".4f"},
                                  {"field": "high", "format": ".4f"}, {"field": "n", "title": "seeds"}]}},
    ]
    if "difference" in (claim["measures"][measure] if measure is not None else claim):
        layers.append({"data": {"values": [{"zero": 0}]}, "mark": {"type": "rule", "strokeDash": [4, 3],
                                                                    "color": "#888"},
                       "encoding": {"x": {"field": "zero", "type": "quantitative"}}})
    # the rows set the height (a step per row), so one row and three rows both leave room for the axis below
    return {"$schema": "https://vega.github.io/schema/vega-lite/v5.json", "height": {"step": _ROW_PX},
            "layer": layers, "config": {"view": {"stroke": None}}}
