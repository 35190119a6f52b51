"""Text normalisation the tagger expects: simplified Chinese, inline pinyin removed."""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

# 產(chǎn)業(yè): a CJK character followed by its pinyin in ASCII parentheses (with a tone mark)
_INLINE_PINYIN = re.compile(
    r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ]{1,7}\)"
)


_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_converter_lock = threading.Lock()


@lru_cache(maxsize=1)
def _t2s() -> Any:
    # Loading the OpenCC dictionaries costs tens of milliseconds: once per process, by one thread.
    with _converter_lock:
        import opencc

        return opencc.OpenCC("t2s")


def strip_inline_pinyin(text: str) -> str:
    return _INLINE_PINYIN.sub("", text)


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC t2s); text without Han characters passes through.
    The one converter that extraction, tagging, dedupe, search and digests share."""
    if not text or not _HAN.search(text):
        return text
    return _t2s().convert(text)


def normalize_text(text: str, language: str | None = None) -> str:
    """Remove inline pinyin; convert traditional Chinese (zh-Hant, zh-TW, zh-HK) to simplified."""
    text = strip_inline_pinyin(text or "")
    if language and language.lower().replace("_", "-") in ("zh-hant", "zh-tw", "zh-hk", "zh-mo"):
        text = to_simplified(text)
    return text


def normalize_with_map(text: str, language: str | None = None) -> tuple[str, list[int]]:
    """normalize_text, plus for each output character the index of its source character.

    OpenCC's t2s conversion keeps the length for nearly all text; where it does not, the map
    falls back to the pinyin-stripped positions (close enough for evidence).
    """
    keep: list[int] = []
    pos = 0
    parts: list[str] = []
    for m in _INLINE_PINYIN.finditer(text or ""):
        parts.append(text[pos : m.start()])
        keep.extend(range(pos, m.start()))
        pos = m.end()
    parts.append((text or "")[pos:])
    keep.extend(range(pos, len(text or "")))
    stripped = "".join(parts)
    out = normalize_text(stripped, language) if language else stripped
    if len(out) != len(stripped):
        keep = keep[: len(out)] + [len(text or "")] * max(0, len(out) - len(keep))
    return out, keep


def original_form(original: str, language: str | None, normalised_fragment: str) -> str:
    """The fragment as written in the original text (traditional script, inline pinyin removed)."""
    norm, index = normalize_with_map(original, language)
    i = norm.find(normalised_fragment)
    if i < 0 or not normalised_fragment:
        return normalised_fragment
    j = i + len(normalised_fragment) - 1
    return strip_inline_pinyin(original[index[i] : index[j] + 1])
