"""The chain-chief system (链长制, 一链一策, "chain length system", "chain leader") as an event."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..sentences import Span

_ZH = re.compile(r"链长制|链长\+|链长＋|“链长”|链长|链主|一链一策|一链一专班|一链一方案|链长\s*\+\s*链主")
_EN = re.compile(r"chain[- ](?:length|leader|chief|master)s?(?: system)?|one chain,? one (?:policy|plan)", re.I)


@dataclass(slots=True)
class ChainChiefHit:
    term: str
    start: int
    end: int
    sentence: Span
    in_title: bool


def find_chain_chief(sentences: list[Span], *, english: bool, in_title: bool) -> list[ChainChiefHit]:
    rx = _EN if english else _ZH
    out: list[ChainChiefHit] = []
    for s in sentences:
        m = rx.search(s.text)
        if m:
            out.append(ChainChiefHit(m.group(), s.start + m.start(), s.start + m.end(), s, in_title))
    return out
