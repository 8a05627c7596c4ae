"""The text → tokens boundary: SST-2 splitting, the user's spelling kept, hostile text handled."""

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gru_viz.text import MAX_TOKENS, Vocabulary, clean_text, tokenize


@pytest.mark.parametrize("text, normalized", [
    ("I love this movie so much", ["i", "love", "this", "movie", "so", "much"]),
    ("It's not bad, isn't it?", ["it", "'s", "not", "bad", ",", "is", "n't", "it", "?"]),
    ("Can't, won't, don't", ["ca", "n't", ",", "wo", "n't", ",", "do", "n't"]),
    ("we're they'll I'd you've I'm", ["we", "'re", "they", "'ll", "i", "'d", "you", "'ve", "i", "'m"]),
    ("an old-fashioned, feel-good movie...", ["an", "old-fashioned", ",", "feel-good", "movie", "..."]),
    ('he said "great" -- twice', ["he", "said", "``", "great", "''", "--", "twice"]),
    ("It’s curly", ["it", "'s", "curly"]),
    ("10,000 times 3.5 stars", ["10,000", "times", "3.5", "stars"]),
])
def test_text_is_split_the_way_sst2_is(text, normalized):
    assert tokenize(text).normalized == normalized


def test_tokens_keep_the_users_spelling_and_point_into_the_text():
    tokenized = tokenize("The movie was GREAT, wasn't it?")
    assert tokenized.tokens == ["The", "movie", "was", "GREAT", ",", "was", "n't", "it", "?"]
    assert [tokenized.text[a:b] for a, b in tokenized.spans] == tokenized.tokens


def test_invisible_and_control_characters_are_removed_or_spaced():
    # zero-width space, right-to-left override, BOM, NUL, bell
    text = "good\u200bmovie \u202eevil\u202c \ufeffok\x00fine\x07"
    cleaned = clean_text(text)
    assert all(unicodedata.category(c) not in ("Cf", "Cc") for c in cleaned)
    assert tokenize(text).tokens == ["goodmovie", "evil", "ok", "fine"]


def test_markup_is_just_text():
    tokens = tokenize("<script>alert('x')</script> **bold** [link](javascript:x)").tokens
    assert "<" in tokens and "script" in tokens and "*" in tokens  # kept literally, split like punctuation


def test_long_text_is_capped_with_a_note():
    tokenized = tokenize("word " * (MAX_TOKENS + 50))
    assert len(tokenized.tokens) == MAX_TOKENS and "first 1,000 tokens" in tokenized.note
    assert tokenize("word " * 10, max_tokens=4).tokens == ["word"] * 4
    assert tokenize("just a few words").note is None


def test_vocabulary_encodes_unknown_words_as_unk():
    vocab = Vocabulary.build([["a", "b", "a"], ["c"]])
    assert vocab.tokens[:3] == ["<pad>", "<unk>", "a"]
    assert vocab.encode(["a", "zzz", "c"]) == [2, Vocabulary.UNK, vocab.index["c"]]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_unicode_tokenizes_or_says_it_is_empty(text):
    try:
        tokenized = tokenize(text)
    except ValueError as error:
        assert "empty" in str(error)
        return
    assert tokenized.tokens and len(tokenized.tokens) == len(tokenized.normalized)
    assert all(token.strip() == token and token for token in tokenized.tokens)
    assert [tokenized.text[a:b] for a, b in tokenized.spans] == tokenized.tokens
    assert all(unicodedata.category(c) != "Cf" for token in tokenized.tokens for c in token)


def test_non_strings_are_refused_with_a_message():
    with pytest.raises(ValueError, match="string"):
        tokenize(b"bytes")
