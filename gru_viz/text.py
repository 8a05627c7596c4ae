"""Text → tokens → ids: the one place where user text enters the package.

The training data (SST-2) is lower-cased and split the Penn Treebank way: clitics and punctuation are
tokens of their own ("do n't", "it 's", "movie ,"). Typed text is split the same way so it meets the
training vocabulary, while each token keeps the user's spelling for display.

Hostile text is handled here, once: control characters become spaces, invisible format characters
(zero-width joiners, bidirectional overrides, BOM) are dropped, the text is NFC-normalised, and very
long input is cut at ``max_tokens`` with a note saying so.

>>> tokenize("I didn't LOVE it.").tokens
['I', 'did', "n't", 'LOVE', 'it', '.']
>>> tokenize("I didn't LOVE it.").normalized
['i', 'did', "n't", 'love', 'it', '.']
"""

from __future__ import annotations

import io
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MAX_TOKENS", "TokenizedText", "TokenizerFile", "Vocabulary", "clean_text", "parse_labelled_tsv", "tokenize"]

MAX_TOKENS = 1000  # a longer paste is cut here: beyond it a trace is too long to read or draw
MAX_CHARACTERS = 50_000  # bounds the work done on a paste before tokenizing at all

_TOKEN = re.compile(r"""
      \w+?(?=n['’]t\b)             # "do" of "don't", "ca" of "can't"
    | n['’]t\b                     # the clitic n't
    | ['’](?:s|re|ve|ll|d|m)\b     # 's 're 've 'll 'd 'm
    | \d+(?:[.,:]\d+)+             # 1.5  10,000  3:30
    | \w+(?:[-/]\w+)*              # words, hyphenated words as one token, as in the data
    | \.\.\.|--|``|''              # multi-character punctuation the data keeps whole
    | [^\w\s]                      # any other symbol (punctuation, emoji) on its own
""", re.VERBOSE | re.IGNORECASE)


@dataclass(frozen=True)
class TokenizedText:
    """Tokens of one text. ``tokens`` are as typed, ``normalized`` as the vocabulary spells them,
    ``spans`` are (start, end) offsets into ``text`` (the cleaned text). ``note`` says what was cut."""

    text: str
    tokens: list[str]
    normalized: list[str]
    spans: list[tuple[int, int]]
    note: str | None = None


def clean_text(text: str) -> str:
    """NFC text with control characters as spaces and invisible format characters removed."""
    if not isinstance(text, str):
        raise ValueError(f"text must be a string, got {type(text).__name__}")
    text = unicodedata.normalize("NFC", text[:MAX_CHARACTERS * 2])
    kept = []
    for character in text:
        category = unicodedata.category(character)
        if category == "Cf":  # zero-width and bidirectional marks would hide or reorder what is shown
            continue
        if category in ("Cc", "Cs", "Co", "Cn", "Zl", "Zp"):
            kept.append(" ")
        else:
            kept.append(character)
    return "".join(kept)


def tokenize(text: str, max_tokens: int = MAX_TOKENS) -> TokenizedText:
    """Split text as SST-2 is split; raises ValueError on blank text."""
    cleaned = clean_text(text)
    note = None
    if len(cleaned) > MAX_CHARACTERS:
        cleaned = cleaned[:MAX_CHARACTERS]
        note = f"The text was cut to its first {MAX_CHARACTERS:,} characters."
    tokens, spans = [], []
    for match in _TOKEN.finditer(cleaned):
        if len(tokens) == max_tokens:
            note = f"The text was cut to its first {max_tokens:,} tokens."
            break
        tokens.append(match.group())
        spans.append(match.span())
    if not tokens:
        raise ValueError("The text is empty: type a sentence (words, not only spaces or invisible characters).")
    return TokenizedText(text=cleaned, tokens=tokens, normalized=_normalize(tokens), spans=spans, note=note)


def _normalize(tokens: list[str]) -> list[str]:
    normalized, open_quote = [], True
    for token in tokens:
        token = token.lower().replace("’", "'")
        if token == '"':  # the data writes opening and closing double quotes as `` and ''
            token, open_quote = ("``" if open_quote else "''"), not open_quote
        normalized.append(token)
    return normalized


def parse_labelled_tsv(data: bytes, name: str = "the file") -> tuple[list[str], list[int]]:
    """Sentences and 0/1 labels from the bytes of a ``sentence<TAB>label`` file, with the rules of
    SST-2's files (an optional header line starting with "sentence", blank lines skipped, the label after
    the last tab); a sentence must have a word the tokenizer reads (not only invisible characters), so
    every analysis of the rows can run. Training (``train.read_tsv``), the CLI and the page's uploads all
    read labelled data through this one function. Every fault is a ``ValueError`` that names ``name``
    and the line.

    >>> parse_labelled_tsv(b"sentence\\tlabel\\na fine film\\t1\\nawful\\t0\\n")
    (['a fine film', 'awful'], [1, 0])
    """
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark from a spreadsheet export is not part of line 1
    except UnicodeDecodeError:
        raise ValueError(f"{name} is not UTF-8 text; save it as UTF-8 and upload it again") from None
    texts, labels = [], []
    for number, line in enumerate(io.StringIO(text, newline=None), start=1):  # \n, \r\n and \r, as open()
        line = line.rstrip("\n")
        if number == 1 and line.lower().startswith("sentence"):
            continue
        if not line.strip():
            continue
        parts = line.rsplit("\t", 1)
        if len(parts) != 2 or parts[1].strip() not in ("0", "1"):
            raise ValueError(f"{name}, line {number}: expected a sentence, a tab, then the label 0 or 1")
        if parts[0].strip():
            try:
                tokenize(parts[0])
            except ValueError:
                raise ValueError(f"{name}, line {number}: the sentence has no words, only invisible "
                                 "characters") from None
            texts.append(parts[0].strip())
            labels.append(int(parts[1]))
    if not texts:
        raise ValueError(f"{name} holds no labelled sentences (one per line: sentence, a tab, 0 or 1)")
    return texts, labels


class Vocabulary:
    """Token ↔ id. Id 0 pads batches, id 1 stands for every word the training data never had."""

    PAD, UNK = 0, 1
    FILE = "vocab.json"  # its name in a model folder

    def __init__(self, tokens: list[str]):
        if len(tokens) < 2 or tokens[0] != "<pad>" or tokens[1] != "<unk>":
            raise ValueError("a vocabulary must start with '<pad>' and '<unk>'")
        if len(set(tokens)) != len(tokens):
            raise ValueError("a vocabulary must not list a token twice")
        self.tokens = list(tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, normalized: list[str]) -> list[int]:
        return [self.index.get(token, self.UNK) for token in normalized]

    def encode_text(self, text: str, max_tokens: int = MAX_TOKENS) -> tuple[TokenizedText, list[int]]:
        """(tokens of ``text`` split as SST-2 is, their ids); ``ValueError`` on blank text."""
        tokenized = tokenize(text, max_tokens)
        return tokenized, self.encode(tokenized.normalized)

    @property
    def unknown_id(self) -> int:
        return self.UNK

    @classmethod
    def build(cls, sentences: list[list[str]], min_count: int = 1) -> "Vocabulary":
        """Tokens seen at least ``min_count`` times, most frequent first (ties alphabetically)."""
        counts: dict[str, int] = {}
        for sentence in sentences:
            for token in sentence:
                counts[token] = counts.get(token, 0) + 1
        kept = sorted((t for t, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls(["<pad>", "<unk>"] + kept)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps({"tokens": self.tokens}, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path) -> "Vocabulary":
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ValueError(f"{path}: file is missing") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:  # deep nesting
            raise ValueError(f"{path}: not a readable JSON vocabulary ({error})") from None
        tokens = data.get("tokens") if isinstance(data, dict) else None
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise ValueError(f"{path}: must be an object with a list of strings under 'tokens'")
        try:
            return cls(tokens)
        except ValueError as error:
            raise ValueError(f"{path}: {error}") from None


class TokenizerFile:
    """A Hugging Face ``tokenizer.json``, read with the ``tokenizers`` library: a data file, so no code runs.
    Its ids index the embedding rows and the tokens shown are its pieces. The same interface as ``Vocabulary``
    (``encode_text``, ``unknown_id``, ``len``, ``tokens``); the text is cleaned as typed text is first.

    >>> from tokenizers import Tokenizer, models, pre_tokenizers
    >>> inner = Tokenizer(models.WordLevel({"<pad>": 0, "[UNK]": 1, "great": 2, "film": 3}, unk_token="[UNK]"))
    >>> inner.pre_tokenizer = pre_tokenizers.Whitespace()
    >>> tokenized, ids = TokenizerFile(inner).encode_text("A great film")
    >>> tokenized.tokens, ids
    (['[UNK]', 'great', 'film'], [1, 2, 3])
    """

    PAD = 0  # padding rows of a batch: right padding never reaches a sentence's real steps
    FILE = "tokenizer.json"
    MAX_BYTES = 64 * 2**20  # a 250k-piece tokenizer.json is ~20 MB

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        unknown = getattr(tokenizer.model, "unk_token", None)
        self._unknown_id = tokenizer.token_to_id(unknown) if unknown else None

    def __len__(self) -> int:
        return self.tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def unknown_id(self) -> int | None:
        """The id of the tokenizer's unknown token, None when it has none (byte-level models)."""
        return self._unknown_id

    @property
    def tokens(self) -> list[str]:
        """Every piece, by id."""
        vocabulary = self.tokenizer.get_vocab(with_added_tokens=True)
        return [token for token, _ in sorted(vocabulary.items(), key=lambda item: item[1])]

    def encode_text(self, text: str, max_tokens: int = MAX_TOKENS) -> tuple[TokenizedText, list[int]]:
        """(the tokenizer's pieces of ``text``, their ids), cut at ``max_tokens`` with a note; ``ValueError`` when
        the text gives no piece."""
        cleaned = clean_text(text)
        note = None
        if len(cleaned) > MAX_CHARACTERS:
            cleaned = cleaned[:MAX_CHARACTERS]
            note = f"The text was cut to its first {MAX_CHARACTERS:,} characters."
        encoding = self.tokenizer.encode(cleaned)
        tokens, ids, spans = list(encoding.tokens), list(encoding.ids), [tuple(span) for span in encoding.offsets]
        if len(tokens) > max_tokens:
            tokens, ids, spans = tokens[:max_tokens], ids[:max_tokens], spans[:max_tokens]
            note = f"The text was cut to its first {max_tokens:,} tokens."
        if not tokens or not cleaned.strip():
            raise ValueError("The text is empty: type a sentence (words, not only spaces or invisible characters).")
        return TokenizedText(text=cleaned, tokens=tokens, normalized=list(tokens), spans=spans, note=note), ids

    def save(self, path: Path) -> None:
        self.tokenizer.save(str(path))

    @classmethod
    def load(cls, path: Path) -> "TokenizerFile":
        from tokenizers import Tokenizer  # here: a folder with a vocab.json never pays for the import

        path = Path(path)
        try:
            if path.stat().st_size > cls.MAX_BYTES:
                raise ValueError(f"{path}: larger than {cls.MAX_BYTES // 2**20} MiB")
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ValueError(f"{path}: file is missing") from None
        except (OSError, UnicodeDecodeError) as error:
            raise ValueError(f"{path}: not readable ({error})") from None
        try:
            tokenizer = Tokenizer.from_str(text)
        except Exception as error:  # the library raises plain Exception for every fault of the file
            reason = (str(error).splitlines() or ["unreadable"])[0][:200]
            raise ValueError(f"{path}: not a Hugging Face tokenizer file ({reason})") from None
        return cls(tokenizer)
