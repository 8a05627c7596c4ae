"""*Across the data set*, over a whole corpus: the section that reads an index built by
``python -m gru_viz index`` (``gru_viz.corpus``) and shows per-unit statistics, unit search and the ablation
over every sentence of it, computing nothing.

The page calls ``corpus_section(model, model_key=...)``. A reader chooses among the indexes the server's folders
hold, by name, and never types or sees a server path: the model's own ``<models>/<model>/index``,
``$GRU_VIZ_INDEX`` (an index, or a folder of indexes) and ``artifacts/index-<model name>`` of the checkout. With no
index there it returns False and draws nothing, so the page computes live and says so. An index built with
another model is refused with ``st.error``.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import streamlit as st

from gru_viz import analysis, figures
from gru_viz.corpus import model_sha256, open_index
from views.parts import caches
from views.parts.charts import FIELD_LABELS, memory_charts, vega_chart

INDEX_ENV = "GRU_VIZ_INDEX"
MANIFEST = "manifest.json"


def index_choices(model_name: str) -> dict[str, Path]:
    """The corpus indexes a reader may open for ``model_name``, by the name the page shows (never a server path):
    "shipped with <model>", "$GRU_VIZ_INDEX" or "$GRU_VIZ_INDEX/<name>", "artifacts/index-<model>"."""
    candidates = {f"shipped with {model_name}": caches.models_root() / model_name / "index"}
    named = os.environ.get(INDEX_ENV, "").strip()
    if named:
        root = Path(named)
        if (root / MANIFEST).is_file():
            candidates[f"${INDEX_ENV}"] = root
        elif root.is_dir():
            for folder in sorted(root.iterdir()):
                candidates[f"${INDEX_ENV}/{folder.name}"] = folder
    candidates[f"artifacts/index-{model_name}"] = caches.ROOT / "artifacts" / f"index-{model_name}"
    return {name: folder for name, folder in candidates.items() if (folder / MANIFEST).is_file()}


@st.cache_resource(max_entries=4, show_spinner="Opening the corpus index…")
def _open(folder: str, stamp: int):
    """The index at ``folder`` as of ``stamp`` (its manifest's mtime): a new build is read afresh. A resource,
    not data: the index is read-only, and unpickling it on every rerun would cost more than reading it."""
    return open_index(folder)


@st.cache_data(max_entries=8, show_spinner=False)
def _model_hash(model_key: tuple, _model) -> str:
    return model_sha256(_model)


def model_index(model, *, model_key: tuple):
    """The first index the server holds for ``model`` (its shipped one first) that was built with it, opened;
    None when there is none. Never computes: an index is read as it is."""
    for folder in index_choices(model.name).values():
        try:
            index = _open(str(folder.resolve()), (folder / MANIFEST).stat().st_mtime_ns)
        except (OSError, ValueError):
            continue
        if index.manifest.model_sha256 == _model_hash(model_key, model):
            return index
    return None


def corpus_section(model, *, model_key: tuple, picker=None, after_first_charts=None) -> bool:
    """Draw the corpus-index section for ``model`` and return True, or return False (drawing at most a
    message) when there is no usable index, so the caller computes live. ``picker``: where the choice of index
    goes (a column beside the model picker, say); default: in the flow of the section. ``after_first_charts``:
    called once the section's first charts are drawn (where the page's first screen ends, say)."""
    choices = index_choices(model.name)
    if not choices:
        return False
    name = (picker or st).selectbox("Corpus index (built by `python -m gru_viz index`)", list(choices),
                                    key="corpus_index",
                                    help="The indexes this server holds for the chosen model, by name.")
    folder = choices[name]
    try:
        index = _open(str(folder.resolve()), (folder / MANIFEST).stat().st_mtime_ns)
    except (OSError, ValueError):
        st.error(f"The index {name!r} cannot be read: rebuild it with `python -m gru_viz index`.")
        return False
    manifest = index.manifest
    if manifest.model_sha256 != _model_hash(model_key, model):
        st.error(f"The index {name!r} was built with another model ({manifest.model['name']}), not with "
                 f"{model.name}: its numbers would describe a different network, so it is not shown. Choose "
                 f"{manifest.model['name']}, or build an index for this model with "
                 f"`python -m gru_viz index --model … --out …`.")
        return False
    _draw(index, model, name, model_key, after_first_charts or (lambda: None))
    return True


def _draw(index, model, name: str, model_key: tuple, after_first_charts) -> None:

    manifest = index.manifest
    files = ", ".join(manifest.files[:3]) + (f" and {len(manifest.files) - 3} more files" if len(manifest.files) > 3
                                             else "")
    st.subheader(f"Over the whole corpus: {manifest.sentences:,} sentences")
    bad = f"; {len(manifest.bad_rows):,} bad rows were skipped (listed in manifest.json)" if manifest.bad_rows else ""
    st.caption(f"Read from the index {name!r}: {manifest.sentences:,} sentences ({manifest.tokens:,} words) "
               f"of {files}, built {manifest.created} by the {manifest.engine} engine in "
               f"{manifest.wall_seconds:,.0f} s{bad}. Nothing here is computed in the page.")

    stats = _statistics(index)
    if model.arch == "gru":
        counts = memory_charts(stats, "corpus_", unit_link=caches.unit_link(model_key))
        st.caption(f"Over all {manifest.tokens:,} words: integrator ({counts['integrator']} units), resetter "
                   f"({counts['resetter']}), fast ({counts['fast']}), mixed ({counts['mixed']}), by the rules of the "
                   f"view below.")
        after_first_charts()
        # on request: the charts' tooltips hold the same numbers, and drawing every unit's row on load cost the
        # page's first chart ~0.1 s (tables are plain HTML: st.dataframe's grid code would cost ~0.3 s more)
        table = st.expander(f"Every unit's numbers ({len(stats.labels)} rows)", key="corpus_table_open",
                            on_change="rerun")
        if table.open:
            columns = {"τ (words)": stats.timescale, "mean z": stats.update_mean, "z < 0.1": stats.update_low,
                       "z > 0.9": stats.update_high, "mean r": stats.reset_mean, "r < 0.1": stats.reset_low,
                       "r > 0.9": stats.reset_high}
            table.html(figures.values_table_html(
                [{"unit": unit, "label": stats.labels[unit], **{name: values[unit] for name, values in columns.items()}}
                 for unit in range(len(stats.labels))], {name: ".4f" for name in columns}, max_height=250))

    # on request: its chart of 20 contexts and their table cost the page's first paint, and every unit's own page
    # (unit?unit=N) shows its contexts too
    search = st.expander("Where a unit is strongest, over the whole corpus", key="corpus_search_open",
                         on_change="rerun")
    if search.open:
        with search:
            _unit_search(index, stats, model)

    if index.ablation is not None:
        left, right = st.columns(2)
        with left:
            vega_chart(figures.ablation_spec(index.ablation, size=manifest.sentences), "chart_corpus_ablation",
                       partial(figures.ablation_figure, index.ablation, size=manifest.sentences))
        with right:
            free = index.ablation["free"]
            st.html(figures.values_table_html(
                [{"condition": name, "accuracy": value, "change": value - free,
                  "meaning": analysis.ABLATION_MEANINGS[name]} for name, value in index.ablation.items()],
                {"accuracy": ".4f", "change": "+.4f"}))
            st.caption(f"Accuracy over all {manifest.sentences:,} sentences with the gates forced.")
        if model.arch != "gru":  # no memory charts: the ablation chart is the first
            after_first_charts()
    if index.flow is not None:
        flows = {model.name: index.flow}
        vega_chart(figures.dataset_gradient_flow_spec(flows, min_count=caches.FLOW_MIN_COUNT), "chart_corpus_flow",
                   partial(figures.dataset_gradient_flow_figure, flows, min_count=caches.FLOW_MIN_COUNT))
        sample = manifest.gradient_flow
        st.caption(f"‖∂h_T/∂h_t‖ over a seeded sample of {len(sample['sentences']):,} of the corpus's "
                   f"{sample['eligible']:,} sentences of at least {sample['min_tokens']} words "
                   f"(seed {sample['seed']}).")


def _unit_search(index, stats, model) -> None:
    """The corpus's strongest contexts of one unit's value, read from the index."""
    manifest = index.manifest
    fields = analysis.FIELDS if model.arch == "gru" else ("hidden",)
    unit_column, field_column, direction_column = st.columns(3)
    unit = unit_column.selectbox("Unit", list(range(len(stats.labels))), key="corpus_unit",
                                 format_func=lambda u: f"unit {u} ({stats.labels[u]})")
    field = field_column.selectbox("Value", fields, index=fields.index("hidden"), key="corpus_field",
                                   format_func=FIELD_LABELS.get)
    direction = direction_column.radio("Find", ("highest", "lowest"), key="corpus_direction", horizontal=True)
    hits = index.contexts(unit, field, largest=direction == "highest", k=caches.TOP_CONTEXTS, one_per_sentence=True)
    if hits:
        window = manifest.options["window"]
        vega_chart(figures.top_activations_spec(hits, window=window, field=field), "chart_corpus_contexts",
                   partial(figures.top_activations_figure, hits, window=window, field=field))
        st.html(figures.values_table_html(
            [{"rank": rank, "value": hit.value, "before": " ".join(hit.context(6)[0]), "word": hit.context(6)[1],
              "after": " ".join(hit.context(6)[2]), "where": "{1}, line {2}".format(*index.sentence(hit.sentence))}
             for rank, hit in enumerate(hits, start=1)], {"value": ".4f"}))
        st.caption(f"The {len(hits)} sentences of the whole corpus where unit {unit}'s {field} is {direction}, each "
                   f"at its strongest word (boxed), from the index's {manifest.options['top_k']} strongest words; "
                   f"words further than {manifest.options['window']} from it are not stored.")


def _statistics(index) -> analysis.MemoryStatistics:
    units = index.units
    return analysis.MemoryStatistics(
        **{name: units[name] for name in ("update_low", "update_high", "reset_low", "reset_high", "update_mean",
                                          "reset_mean", "timescale")},
        labels=index.labels, steps=index.manifest.tokens, sentences=index.manifest.sentences)
