"""Everything the pages compute once and keep: the models, each sentence's trace and split of the verdict, and the
charts and analyses each page draws, keyed by (model key, text, choices).

The heavy analyses (gradient flow, the data-set statistics) are computed by the worker process beside the server
(``parts/workers.py``), so they never slow another reader's page. The model and the sentence ride along unhashed
(``_model``, ``_sentence``, ``_changes``) because they are functions of the key; cached functions read only their
arguments. The server's warm-up (``parts/startup.py``) fills the same caches the Read page reads.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import streamlit as st

from gru_viz import analysis, figures, lesson, paths, upload
from gru_viz.model import load_model
from gru_viz.text import parse_labelled_tsv
from views.parts import workers

ROOT = Path(__file__).resolve().parents[2]  # the checkout: app.py, models/, artifacts/
PAGE_MAX_TOKENS = 300  # a 2,000-word paste is cut here: the page stays quick to draw and to read
TOP_UNITS = 12  # heatmap rows and table rows by default: the units that carry the verdict
STORY_UNITS = 6  # units under the P(positive) line in the Read page's first chart: z and r of each fit one screen
TOP_CONTEXTS = 10  # contexts shown by the unit search, one per sentence
TOP_POOL = 50 * TOP_CONTEXTS  # the strongest words searched for them: a saturated unit fills many words of one sentence
FLOW_MIN_COUNT = 10  # distances from the end fewer sentences reach are left out of the gradient flow: a noisy tail


# ---- the models ----


def models_root() -> Path:
    """``$GRU_VIZ_MODELS``, else models/ beside app.py (this checkout's, whatever the working folder)."""
    try:
        return paths.default_models_root(start=ROOT)
    except ValueError:
        return ROOT / "models"


def model_folders(root: Path) -> list[str]:
    """Names of the model folders (those with a card.json); read on every run so a new one appears."""
    if not root.is_dir():
        return []
    return sorted(path.name for path in root.iterdir() if (path / "card.json").is_file())


def _model_version(root: Path, name: str) -> int:
    """Changes when the folder's files change, so a retrained model replaces the cached one."""
    return sum(path.stat().st_mtime_ns for path in (root / name).iterdir() if path.is_file())


@st.cache_resource(max_entries=8, show_spinner="Loading the model…")
def _load(root: str, name: str, version: int):
    return load_model(Path(root) / name)


def named_model(name: str):
    """(cache key, model) of a folder under models/; ``ValueError``/``OSError`` when it cannot be read."""
    root = models_root()
    key = (str(root), name, _model_version(root, name))
    return key, _load(*key)


@st.cache_resource(max_entries=4, show_spinner="Checking the uploaded model…")
def uploaded_model(digest: str, _files: tuple):
    """A model built from uploaded files, cached by the SHA-256 of their names and bytes."""
    return upload.model_from_uploads(list(_files))


def upload_digest(named: tuple) -> str:
    return hashlib.sha256(repr([(name, len(data), hashlib.sha256(data).hexdigest())
                                for name, data in named]).encode()).hexdigest()


# ---- a sentence: its trace and the split of its verdict over words and units ----


@st.cache_resource(max_entries=256, show_spinner=False)
def _trace(model_key: tuple, text: str, _model):
    return _model.trace(text, max_tokens=PAGE_MAX_TOKENS)


def trace(model_key: tuple, text: str, model):
    """The cached ``SentenceTrace`` of ``text`` (at most ``PAGE_MAX_TOKENS`` words); ``ValueError`` when the text
    reads as no words."""
    return _trace(model_key, text, _model=model)


@st.cache_resource(max_entries=256, show_spinner=False)
def _unit_changes(model_key: tuple, text: str, _sentence):
    return analysis.sentence_logit_changes(_sentence)


def unit_changes(model_key: tuple, text: str, sentence):
    """(T, H) the exact change of the logit by word and unit (``analysis.sentence_logit_changes``); None where the
    head does not read the states shown (``sentence.splits_by_unit`` is False: several directions, a "mean"
    readout, or a layer below the top)."""
    if not sentence.splits_by_unit:
        return None
    return _unit_changes(model_key, text, _sentence=sentence)


def unit_ranking(changes, units: int, count: int | None = None):
    """(units by their share of the verdict, their shares (H,)) from ``unit_changes``; where the logit does not
    split by unit (``changes`` None): (units by index, None)."""
    if changes is None:
        return np.arange(units)[:count], None
    return analysis.rank_units(changes, count), analysis.unit_shares(changes)


def ranked_units(model_key: tuple, model, text: str):
    """The units by their share of ``text``'s verdict (H,), or None when the text cannot be read or the logit does
    not split by unit; says nothing."""
    try:
        sentence = trace(model_key, text, model)
    except ValueError:
        return None
    changes = unit_changes(model_key, text, sentence)
    return None if changes is None else analysis.rank_units(changes)


def story_field(sentence) -> str:
    return "update" if sentence.arch == "gru" else "hidden"  # the vanilla RNN has no gates


# ---- Read a sentence ----


@st.cache_resource(max_entries=64, show_spinner=False)
def story_specs(model_key: tuple, text: str, _sentence, _changes) -> dict[str, dict]:
    """The first chart's three Vega-Lite rows (``gru_viz.figures.story``)."""
    units, shares = unit_ranking(_changes, _sentence.hidden.shape[1], STORY_UNITS)
    return figures.story_specs(_sentence.tokens, _sentence.probability, _sentence.start_probability,
                               _sentence.logit_changes, getattr(_sentence, story_field(_sentence)), units,
                               None if shares is None else shares[units], field=story_field(_sentence),
                               probability_title=probability_title(_sentence), unit_link=unit_link(model_key),
                               reset=_sentence.reset if _sentence.arch == "gru" else None)


def probability_title(sentence) -> str:
    """What the probability line shows: P(positive), or P(the predicted class) with C ≥ 2 classes."""
    return "P(positive)" if sentence.num_classes == 1 else f"P({sentence.labels[sentence.predicted]})"


def unit_link(model_key: tuple) -> str:
    """The unit page's link with ``{unit}`` to fill in: the model named when it is a folder (an upload is
    not in any link)."""
    named = model_key[0] != "upload"
    return "unit?unit={unit}" + (f"&{urlencode({'model': model_key[1]})}" if named else "")


def story_figure(sentence, changes):
    """The same story as one Plotly figure, for the HTML download (built only when it is asked for)."""
    units, shares = unit_ranking(changes, sentence.hidden.shape[1], STORY_UNITS)
    return figures.story_figure(sentence.tokens, sentence.probability, sentence.start_probability,
                                getattr(sentence, story_field(sentence)), units,
                                None if shares is None else shares[units], field=story_field(sentence),
                                reset=sentence.reset if sentence.arch == "gru" else None)


def story(model_key: tuple, text: str, sentence):
    """(unit changes, story specs) of the traced ``sentence`` of ``text``: what the first screen draws."""
    changes = unit_changes(model_key, text, sentence)
    return changes, story_specs(model_key, text, _sentence=sentence, _changes=changes)


@st.cache_resource(max_entries=64, show_spinner=False)
def retention_figure(model_key: tuple, text: str, _sentence):
    return figures.word_change_figure(_sentence.tokens, _sentence.logit_changes, start_logit=_sentence.start_logit,
                                      retention=analysis.sentence_logit_split(_sentence).words)


@st.cache_resource(max_entries=64, show_spinner=False)
def units_figure(model_key: tuple, text: str, field: str, scope: str, order: str, _sentence, _changes):
    units = analysis.shown_units(_sentence, None if scope == "all" else TOP_UNITS, order)
    shares = None if _changes is None else analysis.unit_shares(_changes)[units]
    return figures.unit_heatmaps_figure({field: getattr(_sentence, field)}, _sentence.tokens, units, shares,
                                        unit_link=unit_link(model_key))


@st.cache_resource(max_entries=64, show_spinner=False)
def trajectory_figure(model_key: tuple, text: str, dims: int, _sentence, _card):
    """(the path of the memory in ``dims`` dimensions, where its basis came from)."""
    basis = analysis.projection_basis(_card, _sentence.path)
    return (figures.trajectory_figure([figures.sentence_path(_sentence, basis)], dims=dims,
                                      explained=basis.explained), basis.source)


# ---- Inside the cell ----


@st.cache_resource(max_entries=64, show_spinner=False)
def unit_figure(model_key: tuple, text: str, unit: int, position: int, _sentence):
    names = ("update", "reset", "candidate", "hidden") if _sentence.arch == "gru" else ("hidden",)
    return figures.unit_over_words_figure(_sentence.tokens, {name: getattr(_sentence, name) for name in names},
                                          unit, position)


@st.cache_resource(max_entries=64, show_spinner=False)
def unit_spec(model_key: tuple, text: str, unit: int, position: int, _sentence) -> dict:
    """``unit_figure`` as the Vega-Lite spec the page draws (``figures.unit_over_words_spec``)."""
    names = ("update", "reset", "candidate", "hidden") if _sentence.arch == "gru" else ("hidden",)
    return figures.unit_over_words_spec(_sentence.tokens, {name: getattr(_sentence, name) for name in names},
                                        unit, position)


@st.cache_data(max_entries=64, show_spinner=False)
def step_rows(model_key: tuple, text: str, position: int, units: tuple, _model, _sentence) -> list[dict]:
    steps = [analysis.sentence_cell_step(_model, _sentence, position, unit) for unit in units]
    return [{"unit": step.unit, "r": step.reset, "z": step.update, "n": step.candidate, "h_{t−1}": step.previous,
             "kept z·h_{t−1}": step.kept, "written (1−z)·n": step.written, "h_t": step.hidden} for step in steps]


# ---- Compare & intervene ----


@st.cache_resource(max_entries=32, show_spinner=False)
def compare_prediction_spec(model_key: tuple, texts: tuple, _sentences) -> dict:
    """The compare page's first chart, P(positive) of both sentences, as Vega-Lite (``compare_figures`` holds its
    Plotly twin for the HTML download)."""
    return figures.compare_prediction_spec([(name, sentence.tokens, sentence.probability, sentence.start_probability)
                                            for name, sentence in zip("AB", _sentences)])


def _compare_rows(sentences, changes) -> tuple[np.ndarray, list]:
    """The units both sides of *Compare* show, in one order (the top units of the two verdicts together, or the
    first by index when the verdict does not split by unit), and each side's shares of them (or None)."""
    split = all(change is not None for change in changes)
    units = (analysis.rank_units(list(changes), TOP_UNITS) if split
             else np.arange(sentences[0].hidden.shape[1])[:TOP_UNITS])
    return units, [analysis.unit_shares(change)[units] if split else None for change in changes]


@st.cache_resource(max_entries=32, show_spinner=False)
def compare_unit_specs(model_key: tuple, texts: tuple, _sentences, _changes) -> dict:
    """The two unit heatmaps of *Compare* as Vega-Lite ("units_A", "units_B"); ``compare_figures`` holds their
    Plotly twins for the HTML download."""
    units, shares = _compare_rows(_sentences, _changes)
    field = story_field(_sentences[0])
    return {f"units_{name}": figures.unit_heatmap_spec(sentence.tokens, getattr(sentence, field), units, share,
                                                       field=field, unit_link=unit_link(model_key),
                                                       title=f"Sentence {name}: {figures.FIELD_TITLES[field]}")
            for name, sentence, share in zip("AB", _sentences, shares)}


@st.cache_resource(max_entries=32, show_spinner=False)
def compare_figures(model_key: tuple, texts: tuple, _sentences, _changes) -> dict:
    """The Plotly twins of *Compare*'s first charts, for the HTML download: "prediction", "units_A", "units_B"."""
    units, shares = _compare_rows(_sentences, _changes)
    field = story_field(_sentences[0])
    series = [(name, sentence.tokens, sentence.probability, sentence.start_probability)
              for name, sentence in zip("AB", _sentences)]
    return {"prediction": figures.compare_prediction_figure(series),
            **{f"units_{name}": figures.unit_heatmaps_figure({field: getattr(sentence, field)}, sentence.tokens,
                                                             units, share, unit_link=unit_link(model_key))
               for name, sentence, share in zip("AB", _sentences, shares)}}


@st.cache_resource(max_entries=64, show_spinner="Reading the sentence with the gates forced…")
def clamped_trace(model_key: tuple, text: str, setting: tuple, _model, _steps: int):
    """The sentence read under one clamp setting (mode, gate, value, units, words): part of the cache key,
    so sessions never see each other's clamps; clamps go through ``model.trace`` and never touch the model."""
    mode, gate, value, units, words = setting
    clamps = analysis.intervention_clamps(mode, _steps, _model.gru.hidden_size, gate=gate or "update",
                                          value=1.0 if value is None else value, chosen_units=units, words=words)
    return _model.trace(text, max_tokens=PAGE_MAX_TOKENS, **clamps)


@st.cache_resource(max_entries=32, show_spinner=False)
def intervention_figures(model_key: tuple, text: str, setting: tuple, _free, _clamped, _units) -> dict:
    return {"probability": figures.probability_comparison_figure(_free.tokens, _free.probability,
                                                                 _clamped.probability),
            "hidden": figures.difference_heatmap(_free.tokens, _free.hidden, _clamped.hidden, field="hidden",
                                                 units=_units)}


# ---- Memory dynamics ----


def flow_models(model_key: tuple, model, uploaded: bool = False) -> list[tuple[str, tuple, object]]:
    """The models a gradient-flow chart compares, as (label, cache key, model): the chosen (or uploaded) model
    first, then a shipped reference labelled as such: the vanilla RNN, or the GRU when an RNN is chosen; none
    when the reference does not ship or is the chosen model itself."""
    kind = "GRU" if model.arch == "gru" else "vanilla RNN"
    chosen = f"{kind}, your uploaded model" if uploaded else f"{kind} ({model.name}), the chosen model"
    shown = [(chosen, model_key, model)]
    reference = paths.RNN_MODEL if model.arch == "gru" else paths.DEFAULT_MODEL
    if (uploaded or reference != model.name) and reference in model_folders(models_root()):
        reference_kind = "vanilla RNN" if reference == paths.RNN_MODEL else "GRU"
        shown.append((f"{reference_kind} ({reference}), shipped reference", *named_model(reference)))
    return shown



@st.cache_data(max_entries=64, show_spinner="Following the gradient back through both networks…")
def sentence_flow(model_key: tuple, text: str, _model):
    return workers.run(analysis.sentence_gradient_flow, _model, text, max_tokens=PAGE_MAX_TOKENS)


# ---- Across the data set ----


@st.cache_data(max_entries=8, show_spinner=False)
def read_labelled(data: bytes, name: str) -> tuple[list[str], list[int]]:
    return parse_labelled_tsv(data, name)


@st.cache_data(max_entries=8, show_spinner="Averaging the gradient flow over the data set…")
def dataset_flow(model_key: tuple, data_key: tuple, _model, _texts: tuple):
    return workers.run(workers.dataset_flow, _model, list(_texts))


@st.cache_data(max_entries=8, show_spinner="Reading the data set four times, with and without the gates…")
def ablation(model_key: tuple, data_key: tuple, _model, _texts: tuple) -> dict:
    return workers.run(analysis.ablation_probabilities, _model, list(_texts))


@st.cache_data(max_entries=8, show_spinner="Counting how every unit uses its gates…")
def memory_statistics(model_key: tuple, data_key: tuple, _model, _texts: tuple):
    return workers.run(analysis.memory_statistics, _model, list(_texts))


@st.cache_data(max_entries=64, show_spinner="Searching the data set…")
def top_activations(model_key: tuple, data_key: tuple, unit: int, field: str, largest: bool, _model, _texts: tuple):
    return workers.run(workers.top_contexts, _model, list(_texts), unit, field, largest, TOP_POOL, TOP_CONTEXTS)


# ---- Lesson: each step's numbers from the shipped models, keyed by their cache keys ----


@st.cache_resource(max_entries=4, show_spinner="Following the gradient back through the GRU and the RNN…")
def lesson_gradient(model_keys: tuple, _models: dict):
    return lesson.gradient_lesson(_models, lesson.VERDICT_FIRST)


@st.cache_resource(max_entries=8, show_spinner="Reading the review with the three models…")
def lesson_memory(model_keys: tuple, test: str, gru: str, _models: dict):
    return lesson.memory_lesson(_models, lesson.VERDICT_FIRST if test == "verdict_first" else lesson.VERDICT_LAST,
                                gru)


@st.cache_resource(max_entries=4, show_spinner=False)
def lesson_reset(model_key: tuple, name: str, _model):
    return lesson.reset_lesson(_model, name, lesson.CONTRAST)


@st.cache_resource(max_entries=4, show_spinner="Running the forced GRU and the RNN with its weights…")
def lesson_vanilla(model_keys: tuple, names: tuple, position: int, unit: int, _gru, _rnn):
    return lesson.vanilla_lesson(_gru, _rnn, lesson.CONTRAST, names=names, position=position, unit=unit)


@st.cache_data(max_entries=2, show_spinner="Running the memory probe's 300 contrast tests on the forced GRU…")
def lesson_forced_rate(model_keys: tuple, gru: str, _models: dict):
    return lesson.forced_probe_rate(_models, gru, lesson.CONTRAST)


# ---- one unit: its profile from the corpus index, and steering ----


@st.cache_data(max_entries=64, show_spinner=False)
def unit_profile(model_key: tuple, index_folder: str, index_created: str, unit: int, _index, _model):
    from gru_viz.corpus import unit_profile as profile

    return profile(_index, _model, unit)


@st.cache_data(max_entries=64, show_spinner=False)
def steer(model_key: tuple, text: str, direction_name: str, alpha: float, _model, _direction):
    """``analysis.steer`` of ``text`` with α·direction after every word: (tokens, steered, free), each (T,)."""
    steered, free = analysis.steer(_model, text, _direction, alpha)
    return _model.tokenize(text)[0].tokens, steered, free
