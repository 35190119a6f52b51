"""Text normalisation for Chinese news text: inline pinyin, script, language.

Traditional-Chinese reposting sites annotate characters with tone-marked
pinyin ("產(chǎn)業(yè)聯(lián)盟"); analysis wants it gone, in simplified script,
with full-width Latin letters and digits folded to ASCII.
"""

from __future__ import annotations

import re
import unicodedata

from tagging.normalize import to_simplified

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TONE_MARKED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN_LETTERS = "a-zü" + _TONE_MARKED
# A parenthesised pinyin syllable right after a Han character.  It must carry
# a tone mark: a bare "(de)" or "(app)" could be genuine content, while
# tone-marked lowercase Latin in brackets is never normal Chinese prose.
_INLINE_PINYIN = re.compile(
    rf"(?<=[{_HAN}])[(（]\s?(?=[{_PINYIN_LETTERS}]{{0,5}}[{_TONE_MARKED}])[{_PINYIN_LETTERS}]{{1,6}}\s?[)）]"
)

_HAN_RE = re.compile(f"[{_HAN}]")
_KANA_RE = re.compile("[\u3040-\u30ff]")
_HANGUL_RE = re.compile("[\uac00-\ud7af\u1100-\u11ff]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]{2,}")
_SCRIPT_RANGES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ru", re.compile("[\u0400-\u04ff]")),
    ("ar", re.compile("[\u0600-\u06ff]")),
    ("hi", re.compile("[\u0900-\u097f]")),
    ("th", re.compile("[\u0e00-\u0e7f]")),
    ("el", re.compile("[\u0370-\u03ff]")),
    ("he", re.compile("[\u0590-\u05ff]")),
)
_EN_FUNCTION_WORDS = frozenset(
    ["the", "and", "of", "to", "in", "is", "that", "for", "it", "with", "was", "on", "as", "are", "this", "by", "be", "from", "at", "have", "will", "has", "its", "an"]
)

# Chinese punctuation that happens to live in the full-width ASCII block (or
# that NFKC would flatten): kept as is, since downstream segmenters and
# readers expect "，" not ",".
_KEEP_PUNCT = "，。、；：？！“”‘’（）《》〈〉【】〔〕「」『』…—～·"
_NFKC_SPANS = re.compile(f"[^{re.escape(_KEEP_PUNCT)}]+")



def strip_inline_pinyin(text: str) -> str:
    """Remove "(bào)"-style pinyin glosses that follow Han characters."""
    if not text or ("(" not in text and "（" not in text):
        return text
    return _INLINE_PINYIN.sub("", text)


def _traditional_share(han_chars: str) -> float:
    """Share of Han characters that OpenCC changes when simplifying."""
    if not han_chars:
        return 0.0
    simplified = to_simplified(han_chars)
    if len(simplified) != len(han_chars):  # phrase conversion changed length; compare sets
        return len(set(han_chars) - set(simplified)) / max(1, len(set(han_chars)))
    changed = sum(1 for a, b in zip(han_chars, simplified, strict=True) if a != b)
    return changed / len(han_chars)


def detect_language(text: str) -> str:
    """Script-based language guess: "zh", "zh-Hant", "ja", "ko", "en", a few others, or "und"."""
    sample = (text or "")[:5000]
    han = _HAN_RE.findall(sample)
    kana = len(_KANA_RE.findall(sample))
    hangul = len(_HANGUL_RE.findall(sample))
    latin_words = _LATIN_WORD_RE.findall(sample)
    others = {code: len(rx.findall(sample)) for code, rx in _SCRIPT_RANGES}
    # Compare in "word" units: a Han character is about one word, as is a
    # Latin word; other alphabets average ~5 letters a word.
    scores = {
        "han": len(han),
        "kana": kana,
        "hangul": hangul / 2,
        "latin": len(latin_words),
        **{code: n / 5 for code, n in others.items()},
    }
    total = sum(scores.values())
    if total < 2:
        return "und"
    if kana and kana >= 0.1 * (len(han) + kana) and (len(han) + kana) >= 0.3 * total:
        return "ja"
    if scores["han"] >= 0.4 * total:
        # Traditional text has 20-40 % of characters that simplify; simplified
        # text has almost none (a few ambiguous ones like 乾/於).
        return "zh-Hant" if _traditional_share("".join(han[:2000])) > 0.06 else "zh"
    best = max(scores, key=lambda k: scores[k])
    if best == "hangul":
        return "ko"
    if best == "latin":
        words = [w.lower() for w in latin_words]
        function_words = sum(1 for w in words if w in _EN_FUNCTION_WORDS)
        return "en" if function_words >= 0.05 * len(words) else "und"
    if best in others and scores[best] > 0:
        return best
    return "und"


def _nfkc(match: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", match.group())


def normalize_for_analysis(text: str) -> str:
    """Pinyin stripped, simplified, full-width letters/digits folded; Chinese punctuation kept."""
    if not text:
        return ""
    text = to_simplified(strip_inline_pinyin(text))
    return _NFKC_SPANS.sub(_nfkc, text)
