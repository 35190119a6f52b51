"""The industry-chain taxonomy (tagging/data/chains.yaml): sectors, chains, terms, exclusions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DATA_DIR = Path(__file__).resolve().parent / "data"
DEFAULT_PATH = DATA_DIR / "chains.yaml"


@dataclass(frozen=True, slots=True)
class Chain:
    slug: str
    sector: str  # the sector slug; a sector's own entry has sector == slug
    zh_label: str
    en_label: str
    zh_terms: tuple[str, ...]
    en_terms: tuple[str, ...]

    @property
    def is_sector(self) -> bool:
        return self.slug == self.sector


class Taxonomy:
    def __init__(self, data: dict) -> None:
        self.sectors: dict[str, Chain] = {}
        self.chains: dict[str, Chain] = {}
        for slug, d in (data.get("sectors") or {}).items():
            self.sectors[slug] = Chain(slug, slug, d.get("zh_label", slug), d.get("en_label", slug),
                                       tuple(d.get("zh") or ()), tuple(d.get("en") or ()))
        for slug, d in (data.get("chains") or {}).items():
            sector = d["sector"]
            if sector not in self.sectors:
                raise ValueError(f"chain {slug!r}: unknown sector {sector!r}")
            self.chains[slug] = Chain(slug, sector, d.get("zh_label", slug), d.get("en_label", slug),
                                      tuple(d.get("zh") or ()), tuple(d.get("en") or ()))
        ex = data.get("exclude") or {}
        self.exclude_zh: tuple[str, ...] = tuple(ex.get("zh") or ())
        self.exclude_en: tuple[str, ...] = tuple(ex.get("en") or ())
        self.application_context: dict[str, list[str]] = data.get("application_context") or {}

    @classmethod
    def from_file(cls, path: str | Path = DEFAULT_PATH) -> Taxonomy:
        return cls(yaml.safe_load(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def default(cls) -> Taxonomy:
        return _default_taxonomy()

    def entries(self) -> list[Chain]:
        return [*self.sectors.values(), *self.chains.values()]

    def sector_of(self, slug: str) -> str:
        if slug in self.sectors:
            return slug
        if slug in self.chains:
            return self.chains[slug].sector
        raise KeyError(slug)

    def chains_of(self, sector: str) -> list[str]:
        return [c.slug for c in self.chains.values() if c.sector == sector]

    def resolve(self, query: str) -> list[str]:
        """Slugs named by a slug, a Chinese or English label or term; a sector gives itself and its chains."""
        q = str(query or "").strip()
        ql = q.lower()
        for e in self.entries():
            names = {e.slug, e.zh_label, e.en_label.lower(), *e.zh_terms, *(t.lower() for t in e.en_terms)}
            if q in names or ql in names:
                if e.is_sector:
                    return [e.slug, *self.chains_of(e.slug)]
                return [e.slug]
        return []


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    return Taxonomy.from_file(DEFAULT_PATH)
