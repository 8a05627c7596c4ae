"""The labelled sentences *Across the data set* reads: a TSV the reader uploads, else the shipped validation file,
cut to the first ``DATASET_ROWS`` so that every view stays quick."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from gru_viz import paths
from views.parts import caches

DATASET_ROWS = 872  # the views read the first rows only: the size of GLUE's SST-2 dev set, ~1 s a view
UPLOAD_MAX_MB = 1  # ~10,000 sentences: far more than the page reads


@dataclass(frozen=True)
class DataSet:
    """Labelled sentences for the views: ``key`` identifies the content for the caches."""

    texts: tuple
    labels: tuple
    key: tuple
    source: str  # "the validation file val.tsv", "the uploaded file …"
    description: str  # shown under every view computed from it


def shown_name(name: str, limit: int = 60) -> str:
    """An uploaded file's name as the page may write it in markdown: letters, digits, '.' and '-' only."""
    return "".join(c if c.isalnum() or c in ".-" else "-" for c in name)[:limit] or "file"


def labelled_data(uploaded) -> tuple[DataSet | None, str | None]:
    """The uploaded TSV if there is one, else the shipped validation file; (None, why) when neither is usable."""
    if uploaded is not None:
        name = shown_name(uploaded.name)
        if uploaded.size > UPLOAD_MAX_MB * 2**20:
            return None, f"{name} is larger than {UPLOAD_MAX_MB} MB; upload a shorter file."
        data = uploaded.getvalue()
        source, key = f"the uploaded file {name}", ("upload", hashlib.sha256(data).hexdigest())
    else:
        try:
            path = paths.default_data_file("val", start=caches.ROOT)
            data = Path(path).read_bytes()
        except (ValueError, OSError):  # the reason would name a server path
            return None, "The shipped validation data cannot be read; upload a TSV above instead."
        name, source, key = path.name, f"the validation file {path.name}", ("file", str(path), len(data))
    try:
        texts, labels = caches.read_labelled(data, name)
    except ValueError as error:
        return None, f"{source[0].upper()}{source[1:]} cannot be used: {error}"
    rows = min(len(texts), DATASET_ROWS)
    description = (f"{rows:,} sentences: " + (f"all of {source}" if rows == len(texts) else
                   f"the first {rows:,} of the {len(texts):,} in {source}, so that the view stays quick"))
    return DataSet(tuple(texts[:rows]), tuple(labels[:rows]), key + (rows,), source, description), None
