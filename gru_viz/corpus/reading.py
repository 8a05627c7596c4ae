"""A labelled corpus on disk: one ``sentence<TAB>label`` file or a folder of them, read with the rules of
``text.parse_labelled_tsv``, except that a bad row does not stop the read: it is skipped and reported with
its file and line (``Corpus.bad_rows``), so one stray line does not cost a night's index, and nothing is
dropped silently. The manifest lists every bad row.

A folder means every ``*.tsv`` under it, in sorted order of their paths relative to the folder. Sentence
``i`` of the corpus is the i-th good row over all files in that order (0-based); ``Corpus.file_of`` and
``Corpus.line_of`` say where it came from.

>>> corpus = read_corpus("data/sst2/val.tsv")
>>> corpus.texts[0], int(corpus.labels[0]), corpus.files[corpus.file_of[0]], int(corpus.line_of[0])
('the expressive power of the camera', 1, 'data/sst2/val.tsv', 2)
>>> str(BadRow("reviews/b.tsv", 7, "expected a sentence, a tab, then the label 0 or 1"))
'reviews/b.tsv:7: expected a sentence, a tab, then the label 0 or 1'
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gru_viz.text import MAX_CHARACTERS, tokenize

__all__ = ["BadRow", "Corpus", "corpus_files", "data_sha256", "read_corpus"]

_WORD = re.compile(r"\w")  # a word character survives clean_text and is always a token


@dataclass(frozen=True)
class BadRow:
    """A row that was skipped: ``file`` (as given or relative to the folder), 1-based ``line``, ``reason``."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass(frozen=True)
class Corpus:
    """The good rows of a corpus, in order.

    texts:    N sentences (stripped, as ``parse_labelled_tsv`` returns them).
    labels:   (N,) int8, 0 or 1.
    files:    the file names, in reading order; file_of (N,) int32 indexes it, line_of (N,) int64 is 1-based.
    bad_rows: every skipped row, in reading order.
    """

    texts: list[str]
    labels: np.ndarray
    files: list[str]
    file_of: np.ndarray
    line_of: np.ndarray
    bad_rows: list[BadRow]


def corpus_files(path) -> list[tuple[str, Path]]:
    """(display name, path) of the files of a corpus: the file itself, or every ``*.tsv`` in a folder."""
    path = Path(path)
    if path.is_file():
        return [(str(path), path)]
    if path.is_dir():
        found = sorted((p.relative_to(path).as_posix(), p) for p in path.rglob("*.tsv") if p.is_file())
        if not found:
            raise ValueError(f"{path}: the folder holds no .tsv files")
        return found
    raise ValueError(f"{path}: no such file or folder")


def data_sha256(path) -> str:
    """SHA-256 of a corpus: of the file's bytes (as ``sha256sum`` prints it), or, for a folder, of the lines
    ``<relative path>\\t<file SHA-256>\\n`` in reading order, so renaming or reordering files changes it."""
    files = corpus_files(path)
    if Path(path).is_file():
        return _file_sha256(files[0][1])
    digest = hashlib.sha256()
    for name, file in files:
        digest.update(f"{name}\t{_file_sha256(file)}\n".encode())
    return digest.hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise ValueError(f"{path}: cannot read the file ({error.strerror or error})") from None
    return digest.hexdigest()


def read_corpus(path) -> Corpus:
    """Every good row of the file or folder ``path``; bad rows are skipped and listed. Raises ``ValueError``
    when a file cannot be read or the corpus has no good row at all."""
    texts, labels, file_of, line_of, bad_rows = [], [], [], [], []
    files = corpus_files(path)
    for index, (name, file) in enumerate(files):
        try:
            data = file.read_bytes()
        except OSError as error:
            raise ValueError(f"{file}: cannot read the file ({error.strerror or error})") from None
        for line, text, label, reason in _rows(data):
            if reason is not None:
                bad_rows.append(BadRow(name, line, reason))
            else:
                texts.append(text)
                labels.append(label)
                file_of.append(index)
                line_of.append(line)
    if not texts:
        raise ValueError(f"{path} holds no labelled sentences (one per line: sentence, a tab, 0 or 1)"
                         + (f"; {len(bad_rows)} bad rows, the first {bad_rows[0]}" if bad_rows else ""))
    return Corpus(texts=texts, labels=np.asarray(labels, dtype=np.int8), files=[name for name, _ in files],
                  file_of=np.asarray(file_of, dtype=np.int32), line_of=np.asarray(line_of, dtype=np.int64),
                  bad_rows=bad_rows)


def _rows(data: bytes):
    """(line, sentence, label, None) for a good row, (line, None, None, reason) for a bad one.

    The rules of ``parse_labelled_tsv``: a BOM is dropped, lines end at \\n, \\r\\n or \\r, an optional
    header on line 1 starts with "sentence", blank lines are skipped, the label follows the last tab, and
    a sentence needs a word the tokenizer reads. Two differences, both so nothing vanishes unreported:
    a line that is not UTF-8 is one bad row (not a refused file), and an empty sentence before a label
    is a bad row (the parser skips it).
    """
    text = data.decode("utf-8-sig", errors="surrogateescape")  # undecodable bytes become lone surrogates
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):
        line = line.rstrip("\n")
        if number == 1 and line.lower().startswith("sentence"):
            continue
        if not line.strip():
            continue
        try:
            line.encode("utf-8")
        except UnicodeEncodeError:
            yield number, None, None, "not UTF-8 text"
            continue
        parts = line.rsplit("\t", 1)
        if len(parts) != 2 or parts[1].strip() not in ("0", "1"):
            yield number, None, None, "expected a sentence, a tab, then the label 0 or 1"
            continue
        sentence = parts[0].strip()
        if not sentence:
            yield number, None, None, "the sentence is empty"
        elif not _has_words(parts[0]):
            yield number, None, None, "the sentence has no words, only invisible characters"
        else:
            yield number, sentence, int(parts[1]), None


def _has_words(sentence: str) -> bool:
    """Whether ``tokenize`` finds a token; a word character is enough, so most rows skip the full tokenizer."""
    if len(sentence) <= MAX_CHARACTERS and _WORD.search(sentence):
        return True
    try:
        tokenize(sentence)
    except ValueError:
        return False
    return True
