"""Where the shipped data and models are: found from the working checkout, or named by environment variable.

The package never builds a path from its own location (an installed copy lives in site-packages, far from
any checkout). Defaults are looked up, in order:

- data:   ``$GRU_VIZ_DATA`` (the folder holding ``train.tsv`` and ``val.tsv``, or one ``.tsv`` file to read
          for every split), else ``data/sst2`` in the current folder or the nearest parent that has
          ``data/sst2/train.tsv``;
- models: ``$GRU_VIZ_MODELS/<name>`` (the folder holding model folders), else ``models/<name>`` in the current
          folder or the nearest parent that has it.

Nothing found is a ``ValueError`` that says what to pass instead.

>>> default_data_dir().relative_to(Path.cwd()).as_posix()      # run from the repository root
'data/sst2'
>>> default_model_dir("sst2-rnn").name
'sst2-rnn'
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = ["DATA_ENV", "DEFAULT_MODEL", "MODELS_ENV", "NO_RESET_MODEL", "RNN_MODEL", "SHIPPED_MODELS", "STUDY_ENV",
           "default_data_dir", "default_data_file", "default_model_dir", "default_models_root", "default_study_file",
           "public_message"]

DATA_ENV, MODELS_ENV = "GRU_VIZ_DATA", "GRU_VIZ_MODELS"
DEFAULT_MODEL = "sst2-gru"  # the shipped GRU: what the page and every command read unless told otherwise
NO_RESET_MODEL = "sst2-gru-noreset"  # the same recipe with the reset gate held at 1
RNN_MODEL = "sst2-rnn"  # the vanilla tanh RNN baseline, trained the same way
SHIPPED_MODELS = (DEFAULT_MODEL, NO_RESET_MODEL, RNN_MODEL)
DATA_IN_CHECKOUT = Path("data") / "sst2"
MODELS_IN_CHECKOUT = Path("models")
STUDY_ENV, STUDY_IN_CHECKOUT = "GRU_VIZ_STUDY", Path("studies") / "seeds" / "study.json"
MESSAGE_LIMIT = 300  # characters of an error a page shows: one line, never a flood
# An absolute path: a separator at the start of a word (so "and/or", "1/2" and "h_T/h_t" stay), then path characters
_ABSOLUTE_PATH = re.compile(r"(?<![\w.-])~?(?:[A-Za-z]:)?[/\\][^\s'\"`()<>\[\],;:]+")


def _find_upwards(relative: Path, start: Path | None) -> Path | None:
    """The first ``folder / relative`` that exists, for ``start`` (default: the current folder) and then
    each of its parents; None when there is none."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / relative).exists():
            return folder / relative
    return None


def default_data_dir(start: Path | None = None) -> Path:
    """The SST-2 folder (``train.tsv``, ``val.tsv``): ``$GRU_VIZ_DATA`` (a ``.tsv`` file there means its
    folder), else ``data/sst2`` of the checkout around ``start`` (default: the current folder)."""
    named = os.environ.get(DATA_ENV)
    if named:
        return Path(named).parent if Path(named).suffix == ".tsv" else Path(named)
    found = _find_upwards(DATA_IN_CHECKOUT / "train.tsv", start)
    if found is None:
        raise ValueError(f"no {DATA_IN_CHECKOUT.as_posix()}/train.tsv here or in a parent folder: run from the "
                         f"gru-viz checkout, pass --data FILE, or set {DATA_ENV} to the data folder")
    return found.parent


def default_data_file(split: str = "val", start: Path | None = None) -> Path:
    """The TSV of one split ("train" or "val"): ``$GRU_VIZ_DATA`` itself when it names a ``.tsv`` file,
    else ``<default_data_dir()>/<split>.tsv``."""
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    named = os.environ.get(DATA_ENV)
    if named and Path(named).suffix == ".tsv":
        return Path(named)
    return default_data_dir(start) / f"{split}.tsv"


def default_models_root(start: Path | None = None) -> Path:
    """The folder of model folders: ``$GRU_VIZ_MODELS``, else ``models/`` of the checkout around ``start``
    (the nearest folder holding ``models/sst2-gru``)."""
    named = os.environ.get(MODELS_ENV)
    if named:
        return Path(named)
    found = _find_upwards(MODELS_IN_CHECKOUT / DEFAULT_MODEL, start)
    if found is None:
        raise ValueError(f"no {MODELS_IN_CHECKOUT.as_posix()}/ folder here or in a parent folder: run from the "
                         f"gru-viz checkout, pass --model DIR, or set {MODELS_ENV} to the folder of models")
    return found.parent


def default_model_dir(name: str = DEFAULT_MODEL, start: Path | None = None) -> Path:
    """One model folder: ``$GRU_VIZ_MODELS/<name>``, else ``models/<name>`` in the current folder or the
    nearest parent that has it."""
    named = os.environ.get(MODELS_ENV)
    if named:
        return Path(named) / name
    found = _find_upwards(MODELS_IN_CHECKOUT / name, start)
    if found is None:
        raise ValueError(f"no model folder {(MODELS_IN_CHECKOUT / name).as_posix()} here or in a parent folder: "
                         f"run from the gru-viz checkout, pass --model DIR, or set {MODELS_ENV} to the folder "
                         "of models")
    return found


def default_study_file(start: Path | None = None) -> Path | None:
    """The seed study the page shows: ``$GRU_VIZ_STUDY`` (a ``study.json``), else ``studies/seeds/study.json`` in
    the current folder or the nearest parent that has it; None when there is none."""
    named = os.environ.get(STUDY_ENV)
    if named:
        return Path(named) if Path(named).is_file() else None
    return _find_upwards(STUDY_IN_CHECKOUT, start)


def public_message(error, folders: dict | None = None, limit: int = MESSAGE_LIMIT) -> str:
    """The text of ``error`` (an exception or a string) as a page may show it to a visitor: its first line, each
    folder of ``folders`` ({path: the name the page shows}) written as that name, any other absolute path
    written as "…", and at most ``limit`` characters. A visitor learns what went wrong, never where the server
    keeps its files.

    >>> public_message(ValueError("/srv/app/models/sst2-gru/card.json: file is missing"),
    ...                {"/srv/app/models": "models"})
    'models/sst2-gru/card.json: file is missing'
    >>> public_message(OSError(13, "Permission denied", "/etc/shadow"))
    "[Errno 13] Permission denied: '…'"
    """
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    for folder, name in sorted((folders or {}).items(), key=lambda item: -len(str(item[0]))):
        spellings = {str(folder), str(Path(folder).resolve())}  # as configured, and with links followed
        for spelling in sorted(spellings, key=len, reverse=True):
            text = text.replace(spelling, name)
    text = _ABSOLUTE_PATH.sub("…", text)
    return text if len(text) <= limit else text[:limit - 1] + "…"
