"""Text normalisation the tagger expects: simplified Chinese, inline pinyin removed."""

from __future__ import annotations

import re
from functools import lru_cache

# 產(chǎn)業(yè): a CJK character followed by its pinyin in ASCII parentheses (with a tone mark)
_INLINE_PINYIN = re.compile(
    r"(?<=[\u4e00-\u9fff])\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜüńňǹ]{1,7}\)"
)


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def strip_inline_pinyin(text: str) -> str:
    return _INLINE_PINYIN.sub("", text)


def to_simplified(text: str) -> str:
    return _t2s().convert(text)


def normalize_text(text: str, language: str | None = None) -> str:
    """Remove inline pinyin; convert traditional Chinese (zh-Hant, zh-TW, zh-HK) to simplified."""
    text = strip_inline_pinyin(text or "")
    if language and language.lower().replace("_", "-") in ("zh-hant", "zh-tw", "zh-hk", "zh-mo"):
        text = to_simplified(text)
    return text
