"""Word segmentation for the search index: Chinese by jieba, English by a light stemmer.

Index and query go through the same functions, so whatever the backend's own
tokenizer does afterwards (FTS5 ``unicode61``, PostgreSQL's ``simple`` parser)
it sees the same words on both sides. Tokens are ``[^\\W_]+`` runs only: no
quote, operator or wildcard character can survive segmentation, which is the
first of two guards keeping user input out of FTS syntax (the second is that
every token is quoted when a query is built).

jieba is loaded once per process, with its dictionary cache in a chainwatch
folder rather than the shared ``/tmp/jieba.cache`` other programs also write.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

from tagging.normalize import to_simplified

log = logging.getLogger(__name__)

_WORD = re.compile(r"[^\W_]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_lock = threading.Lock()
_tokenizer = None

# Longest query we segment: enough for any real question, cheap for a 10,000-character paste.
MAX_QUERY_CHARS = 400
MAX_QUERY_TERMS = 16


def cache_dir() -> Path:
    home = os.environ.get("CHAINWATCH_HOME")
    if home:
        return Path(home).expanduser() / "cache"
    import platformdirs

    return Path(platformdirs.user_cache_dir("chainwatch", appauthor=False))


def tokenizer():
    """The process's jieba tokenizer, built on first use (about a second without its cache)."""
    global _tokenizer
    if _tokenizer is not None:
        return _tokenizer
    with _lock:
        if _tokenizer is None:
            import jieba

            jieba.setLogLevel(logging.WARNING)
            tk = jieba.Tokenizer()
            folder = cache_dir()
            try:
                folder.mkdir(parents=True, exist_ok=True)
                tk.tmp_dir = str(folder)
                tk.cache_file = "jieba.cache"
            except OSError as exc:  # read-only home: jieba still works, it just rebuilds each time
                log.warning("cannot use %s for jieba's cache: %s", folder, exc)
            tk.initialize()
            _tokenizer = tk
    return _tokenizer


def stem(word: str) -> str:
    """Harman's S-stemmer: plurals only (bearings → bearing, policies → policy).

    Deliberately light: it never merges words that mean different things
    (Porter turns "general" and "generate" into one stem), and it is cheap to
    reproduce identically in any language should the index be read elsewhere.
    """
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word.endswith("ies") and not word.endswith(("eies", "aies")):
        return word[:-3] + "y"
    if word.endswith("es") and not word.endswith(("aes", "ees", "oes")):
        return word[:-1]
    if word.endswith("s") and not word.endswith(("us", "ss")):
        return word[:-1]
    return word


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to ASCII), simplified Chinese, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()


def _words(pieces: Iterable[str]) -> Iterator[str]:
    for piece in pieces:
        for word in _WORD.findall(piece):
            yield stem(word) if word.isascii() else word


def index_tokens(text: str) -> list[str]:
    """Tokens to index: jieba's search mode also emits the short words inside long ones
    (产业联盟 → 产业, 联盟, 产业联盟), so a query for either part finds the whole."""
    if not text:
        return []
    return list(_words(tokenizer().cut_for_search(normalize(text))))


def segment(text: str) -> str:
    """Space-joined index tokens: what goes into FTS5 or ``to_tsvector('simple', ...)``."""
    return " ".join(index_tokens(text))


def query_tokens(text: str) -> list[str]:
    """Tokens of a query fragment, in precise mode (the words the user meant, not their parts)."""
    if not text:
        return []
    return list(_words(tokenizer().cut(normalize(text[:MAX_QUERY_CHARS]))))


def parse_query(text: str) -> list[list[str]]:
    """The user's query as groups of tokens; all groups must match (AND).

    A group of one token is a word; a longer group is a phrase, from text the
    user put in double quotes. Nothing else is syntax: OR, NOT, *, :, ( ) are
    just characters that segmentation drops.
    """
    text = (text or "")[:MAX_QUERY_CHARS]
    groups: list[list[str]] = []
    seen: set[tuple[str, ...]] = set()
    for i, part in enumerate(text.split('"')):
        quoted = i % 2 == 1
        # "zz..." is the prefix of filter tokens (tag_token); no Chinese, English or pinyin word has it.
        tokens = [t for t in query_tokens(part) if not t.startswith("zz")]
        candidates = [tokens] if quoted and len(tokens) > 1 else [[t] for t in tokens]
        for group in candidates:
            key = tuple(group)
            if group and key not in seen:
                seen.add(key)
                groups.append(group)
    return groups[:MAX_QUERY_TERMS]


def tag_token(kind: str, value: object) -> str:
    """An index token for a structured fact (region, chain, event type, source, language).

    Filters become index terms intersected by the full-text engine itself, so a
    filtered query costs no more than a two-word query. ``kind`` is one letter;
    the ``zz`` prefix and the separate column keep user words from meeting them.
    """
    return "zz" + kind + re.sub(r"[^0-9a-z]", "", str(value).lower())
