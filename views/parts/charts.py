"""Drawing a chart on a page: a Plotly chart whose camera button saves a PNG named after it, a Vega-Lite chart with
its Plotly twin kept for the download, the one HTML download of the charts a page drew in this run, the two
memory-statistics charts that two views share, and the fields' names as the page's widgets say them."""

from __future__ import annotations

from functools import partial

import streamlit as st

from gru_viz import export, figures

# the trace's fields as the widgets name them, in the order the Read page offers them
FIELD_LABELS = {"hidden": "memory h", "reset": "reset gate r", "candidate": "candidate n", "update": "update gate z"}


def chart(figure, key: str) -> None:
    """A Plotly chart whose camera button saves a PNG named after the chart; remembered for the HTML download."""
    remember_figure(key, figure)
    st.plotly_chart(figure, key=key, config=export.plotly_config(key.removeprefix("chart_")), theme=None)


def vega_chart(spec: dict, key: str, figure) -> None:
    """A Vega-Lite chart, drawn without Plotly's 4.7 MB bundle (a page whose first render holds a Plotly chart
    paints nothing until the browser has evaluated it); ``figure``, its Plotly twin (or a function that builds
    it), is what the HTML download offers under the same key."""
    remember_figure(key, figure)
    st.vega_lite_chart(spec, width="stretch", key=key)


def remember_figure(key: str, figure) -> None:
    """Offer ``figure`` (a ``go.Figure``, or a function that builds one when the download is asked for) in this
    run's HTML download (``figure_download``)."""
    st.session_state.setdefault("_page_figures", {})[key] = figure


def forget_figures() -> None:
    """End this run's list of charts without offering the download (a page whose download section is closed)."""
    st.session_state.pop("_page_figures", None)


def _figure_html(figure) -> bytes:
    return export.figure_to_html(figure() if callable(figure) else figure)


def figure_download() -> None:
    """One HTML download of any chart drawn on this page in this run."""
    shown = st.session_state.pop("_page_figures", {})
    if not shown:
        return
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    chosen = left.selectbox("Save a chart as an interactive HTML page (each chart's camera button saves a PNG)",
                            sorted(shown), key="html_figure")
    right.download_button("Download HTML", partial(_figure_html, shown[chosen]), on_click="ignore",
                          file_name=f"{export.safe_file_stem(chosen, 'figure')}.html", mime="text/html",
                          key="download_html", width="stretch")


def memory_charts(stats, prefix: str, *, unit_link: str | None = None) -> dict[str, int]:
    """The saturation and timescale charts of ``analysis.MemoryStatistics`` side by side (live on *Across the data
    set*, from an index in the corpus section), in Vega-Lite; a click on a unit opens ``unit_link`` (a URL with
    ``{unit}`` in it) when given. Returns how many units carry each label."""
    left, right = st.columns(2)
    with left:
        vega_chart(figures.saturation_spec(stats, unit_link=unit_link), f"chart_{prefix}saturation",
                   partial(figures.saturation_figure, stats))
    with right:
        vega_chart(figures.timescale_spec(stats.timescale, stats.labels, unit_link=unit_link),
                   f"chart_{prefix}timescale", partial(figures.timescale_figure, stats.timescale, stats.labels))
    return {label: stats.labels.count(label) for label in ("integrator", "resetter", "fast", "mixed")}
