"""Splitting text into paragraphs, sentences and clauses, keeping offsets."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

_PARA = re.compile(r"\n\s*\n")
# Chinese sentence ends; English ". " or "." glued to a capital (machine-translated text
# often lacks the space: "development.According"), "!" and "?".
_SENT_END = re.compile(r"[。！？!?]+[”’\"）)]?|\.(?=\s|$|[A-Z“\"(])")
_CLAUSE = re.compile(r"[，；;：:、]|(?<!\d),|,(?!\d{3})|——|\s{2,}|(?<=[\u4e00-\u9fff%”\d]) (?=[\u4e00-\u9fff“])")


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str
    para: int = 0


def paragraphs(text: str) -> list[Span]:
    out: list[Span] = []
    pos = 0
    for i, m in enumerate([*_PARA.finditer(text), None]):
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            out.append(Span(pos + lead, pos + len(chunk.rstrip()), chunk.strip(), i))
        if m:
            pos = m.end()
    return out


def sentences(text: str) -> list[Span]:
    """Sentences of a text, with paragraph index; offsets index into `text`."""
    out: list[Span] = []
    for p_index, para in enumerate(paragraphs(text)):
        pos = para.start
        for m in _SENT_END.finditer(text, para.start, para.end):
            _add(out, text, pos, m.end(), p_index)
            pos = m.end()
        _add(out, text, pos, para.end, p_index)
    return out


def _add(out: list[Span], text: str, start: int, end: int, para: int) -> None:
    chunk = text[start:end]
    stripped = chunk.strip()
    if not stripped:
        return
    lead = len(chunk) - len(chunk.lstrip())
    s = start + lead
    out.append(Span(s, s + len(stripped), stripped, para))


def clauses(sentence: Span) -> list[Span]:
    """Clauses of a sentence (split on commas, semicolons, colons, 、 and dashes)."""
    out: list[Span] = []
    pos = 0
    t = sentence.text
    for m in _CLAUSE.finditer(t):
        if m.start() > pos:
            out.append(Span(sentence.start + pos, sentence.start + m.start(), t[pos : m.start()], sentence.para))
        pos = m.end()
    if pos < len(t):
        out.append(Span(sentence.start + pos, sentence.start + len(t), t[pos:], sentence.para))
    return out


def sentence_at(spans: list[Span], offset: int) -> Span | None:
    # spans are in text order and do not overlap: a binary search (long pages have thousands)
    i = bisect.bisect_right(spans, offset, key=lambda s: s.start) - 1
    if i >= 0 and spans[i].start <= offset < spans[i].end:
        return spans[i]
    return None
