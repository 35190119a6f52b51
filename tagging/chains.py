"""Industry chains named in an article, with the sector rule and exclusions."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .matcher import DictScanner
from .taxonomy import Taxonomy

_EXCLUDED = "\x00exclude"


@dataclass(slots=True)
class ChainHit:
    slug: str
    start: int
    end: int
    in_title: bool


class ChainFinder:
    def __init__(self, taxonomy: Taxonomy) -> None:
        self.tax = taxonomy
        zh: dict[str, str] = {}
        en: dict[str, str] = {}
        for e in taxonomy.entries():
            for t in e.zh_terms:
                zh.setdefault(t, e.slug)
            for t in e.en_terms:
                en.setdefault(t.lower(), e.slug)
        for t in taxonomy.exclude_zh:
            zh[t] = _EXCLUDED
        for t in taxonomy.exclude_en:
            en[t.lower()] = _EXCLUDED
        self._zh = DictScanner(zh)
        self._en_terms = en
        alts = sorted(en, key=len, reverse=True)
        self._en = re.compile(
            r"(?<![A-Za-z0-9])(" + "|".join(re.escape(a).replace(r"\ ", r"[\s-]+") for a in alts) + r")(?![A-Za-z0-9])",
            re.IGNORECASE,
        )
        ac = taxonomy.application_context
        self._zh_after = tuple(ac.get("zh_after_term", ()))
        self._zh_before = tuple(ac.get("zh_clause_before", ()))
        self._zh_post = tuple(ac.get("zh_clause_after", ()))
        self._en_before = tuple(ac.get("en_clause_before", ()))
        self._en_post = tuple(ac.get("en_clause_after", ()))

    def find(self, text: str, *, in_title: bool, english: bool) -> list[ChainHit]:
        hits: list[ChainHit] = []
        if english:
            for m in self._en.finditer(text):
                key = re.sub(r"[\s-]+", " ", m.group(1).lower())
                slug = self._en_terms.get(key) or self._en_terms.get(m.group(1).lower())
                if slug is None:
                    # hyphen/space variants: find the entry whose normalised form matches
                    slug = next((v for k, v in self._en_terms.items() if re.sub(r"[\s-]+", " ", k) == key), None)
                if slug and slug != _EXCLUDED and not self._en_application(text, m.start(), m.end()):
                    hits.append(ChainHit(slug, m.start(), m.end(), in_title))
        else:
            for s, e, slug in self._zh.scan(text):
                if slug != _EXCLUDED and not self._zh_application(text, s, e):
                    hits.append(ChainHit(slug, s, e, in_title))
        return hits

    def _zh_application(self, text: str, s: int, e: int) -> bool:
        if any(text.startswith(a, e) for a in self._zh_after):
            # 航空航天用铝合金; but not 用于 after a subject ("机器人用于") which is rare in news
            return True
        left = re.split(r"[，。；！？,;\n]", text[max(0, s - 25) : s])[-1]
        right = re.split(r"[，。；！？,;\n]", text[e : e + 30])[0]
        return any(b in left for b in self._zh_before) and any(p in right for p in self._zh_post)

    def _en_application(self, text: str, s: int, e: int) -> bool:
        left = re.split(r"[.;!?]\s|\n", text[max(0, s - 60) : s])[-1].lower()
        right = re.split(r"[.;!?]\s|\n", text[e : e + 90])[0].lower()
        return any(b in left for b in self._en_before) and any(p in right for p in self._en_post)

    def select(self, hits: list[ChainHit]) -> list[tuple[str, float, ChainHit]]:
        """(slug, score, first hit): chains named, plus sectors named with none of their chains."""
        score: dict[str, float] = {}
        first: dict[str, ChainHit] = {}
        for h in hits:
            score[h.slug] = score.get(h.slug, 0.0) + (2.0 if h.in_title else 1.0)
            if h.slug not in first or (first[h.slug].in_title and not h.in_title):
                first[h.slug] = h
        named_sectors_with_chains = {self.tax.sector_of(s) for s in score if s in self.tax.chains}
        out = []
        for slug, sc in score.items():
            if slug in self.tax.sectors and slug in named_sectors_with_chains:
                continue
            out.append((slug, sc, first[slug]))
        out.sort(key=lambda x: -x[1])
        return out
