"""Tagger: title + normalised text -> Analysis (relevance, regions, chains, events, with evidence)."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path

from .chains import ChainFinder, ChainHit
from .events.alliances import AllianceHit, find_alliances
from .events.chain_chief import find_chain_chief
from .events.targets import TargetHit, find_targets
from .gazetteer import Gazetteer
from .regions import Mention, RegionFinder, RegionRules
from .relevance import RelevanceModel, default_model
from .sentences import Span, sentence_at, sentences
from .taxonomy import Taxonomy

RULES_VERSION = "2026.11-1"
DATA_DIR = Path(__file__).resolve().parent / "data"
_CJK = re.compile(r"[\u4e00-\u9fff]")
MAX_EVENTS = 200  # alliances or targets read from one article; real ones state a few dozen at most
_LATIN = re.compile(r"[A-Za-z]")


@dataclass(slots=True)
class RegionTag:
    code: str
    name: str
    level: str
    score: float
    evidence: str
    start: int | None
    end: int | None


@dataclass(slots=True)
class ChainTag:
    slug: str
    sector: str
    score: float
    evidence: str
    start: int | None
    end: int | None


@dataclass(slots=True)
class EventTag:
    type: str  # alliance | target | chain_chief
    name: str | None = None
    region_code: str | None = None
    date: dt.date | None = None
    metric: str | None = None
    value: float | None = None
    unit: str | None = None
    year: int | None = None
    chain_slug: str | None = None
    evidence: str = ""
    start: int | None = None
    end: int | None = None


@dataclass(slots=True)
class Analysis:
    relevant: bool
    relevance_score: float
    regions: list[RegionTag] = field(default_factory=list)
    chains: list[ChainTag] = field(default_factory=list)
    events: list[EventTag] = field(default_factory=list)
    version: str = ""
    language: str = "zh"

    def events_of(self, kind: str) -> list[EventTag]:
        return [e for e in self.events if e.type == kind]

    def to_dict(self) -> dict:
        d = asdict(self)
        for e in d["events"]:
            if isinstance(e.get("date"), dt.date):
                e["date"] = e["date"].isoformat()
        return d


def _data_version(paths: list[Path]) -> str:
    h = hashlib.sha1(RULES_VERSION.encode())
    for p in sorted(paths):
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return f"{RULES_VERSION}+{h.hexdigest()[:10]}"


def detect_english(title: str, text: str, language: str | None) -> bool:
    if language:
        return language.lower().startswith("en")
    sample = (title + text)[:2000]
    return len(_LATIN.findall(sample)) > 3 * len(_CJK.findall(sample))


class Tagger:
    def __init__(self, gazetteer: Gazetteer | None = None, taxonomy: Taxonomy | None = None, *,
                 relevance: RelevanceModel | None = None, region_rules: RegionRules | None = None,
                 version: str | None = None) -> None:
        self.gazetteer = gazetteer or Gazetteer.default()
        self.taxonomy = taxonomy or Taxonomy.default()
        self.regions = RegionFinder(self.gazetteer, region_rules)
        self.chains = ChainFinder(self.taxonomy)
        self.relevance = relevance or default_model()
        self.version = version or _data_version(
            [p for p in DATA_DIR.iterdir() if p.suffix in (".yaml", ".gz", ".json")]
        )

    @classmethod
    def default(cls) -> Tagger:
        return _default_tagger()

    # ------------------------------------------------------------------
    def analyze(self, title: str, text: str, *, language: str | None = None,
                published: dt.date | None = None, source_region: str | None = None) -> Analysis:
        title, text = title or "", text or ""
        if isinstance(published, dt.datetime):
            published = published.date()
        english = detect_english(title, text, language)
        if source_region is not None and self.gazetteer.get(source_region) is None:
            source_region = None
        t_sents, b_sents = sentences(title), sentences(text)

        # regions
        rf = self.regions
        mentions = rf.mentions(title, in_title=True, english=english)
        body_mentions = rf.mentions(text, in_title=False, english=english, paras=b_sents)
        all_m = mentions + body_mentions
        rf.resolve(all_m, source_region)
        selected, first = rf.select(all_m, source_region)
        region_tags = [self._region_tag(code, score, first.get(code), title, t_sents, text, b_sents)
                       for code, score in selected]
        main_region = max(selected, key=lambda x: x[1])[0] if selected else None
        region_codes = [c for c, _ in selected]

        # chains
        hits = self.chains.find(title, in_title=True, english=english) + self.chains.find(
            text, in_title=False, english=english)
        chain_tags = [self._chain_tag(slug, score, h, title, t_sents, text, b_sents)
                      for slug, score, h in self.chains.select(hits)]

        # events
        pub_year = published.year if published else None
        title_starts = {m.start: m for m in mentions if m.code}
        body_starts = {m.start: m for m in body_mentions if m.code}
        alliances = self._alliances(t_sents, b_sents, english, published, title_starts, body_starts, main_region)
        targets = self._targets(t_sents, b_sents, english, pub_year, main_region, body_mentions, region_codes)
        chief = self._chain_chief(t_sents, b_sents, english, main_region, hits, published)

        relevant, rscore = self.relevance.score(
            title, text, english=english, chains=len(chain_tags), targets=len(targets),
            alliances=len(alliances), chain_chief=len(chief))
        if not relevant:
            chain_tags, alliances, targets, chief = [], [], [], []
        return Analysis(relevant, rscore, region_tags, chain_tags, [*alliances, *targets, *chief],
                        self.version, "en" if english else "zh")

    # -- helpers -----------------------------------------------------------
    @staticmethod
    def _evidence(in_title: bool, start: int, end: int, title: str, t_sents: list[Span], text: str,
                  b_sents: list[Span]) -> tuple[str, int | None, int | None]:
        if in_title:
            s = sentence_at(t_sents, start)
            return (s.text if s else title), None, None
        s = sentence_at(b_sents, start)
        return (s.text if s else text[start:end]), start, end

    def _region_tag(self, code: str, score: float, m: Mention | None, title: str, t_sents: list[Span],
                    text: str, b_sents: list[Span]) -> RegionTag:
        r = self.gazetteer.get(code)
        assert r is not None
        ev, s, e = ("", None, None)
        if m is not None:
            ev, s, e = self._evidence(m.in_title, m.start, m.end, title, t_sents, text, b_sents)
        return RegionTag(code, r.name, r.level, round(score, 3), ev, s, e)

    def _chain_tag(self, slug: str, score: float, h: ChainHit, title: str, t_sents: list[Span], text: str,
                   b_sents: list[Span]) -> ChainTag:
        ev, s, e = self._evidence(h.in_title, h.start, h.end, title, t_sents, text, b_sents)
        return ChainTag(slug, self.taxonomy.sector_of(slug), score, ev, s, e)

    def _alliances(self, t_sents, b_sents, english, published, title_starts, body_starts,
                   main_region) -> list[EventTag]:
        hits: list[tuple[AllianceHit, str | None]] = []
        for sents, starts, in_title in ((b_sents, body_starts, False), (t_sents, title_starts, True)):
            region_spans = {s: m.end for s, m in starts.items()}
            for h in find_alliances(sents, english=english, published=published, in_title=in_title,
                                    region_starts=region_spans):
                m = starts.get(h.start)
                hits.append((h, m.code if m else main_region))
        hits = hits[:MAX_EVENTS]  # merging compares every pair: bounded for hostile pages
        merged: list[tuple[AllianceHit, str | None]] = []
        for h, region in hits:
            dup = next((i for i, (o, _) in enumerate(merged) if _same_alliance(o.name, h.name)), None)
            if dup is None:
                merged.append((h, region))
            elif merged[dup][0].date is None and h.date is not None:
                merged[dup] = (h, region)
        out = []
        for h, region in merged:
            out.append(EventTag("alliance", name=h.name, region_code=region, date=h.date,
                                evidence=h.sentence.text, start=None if h.in_title else h.start,
                                end=None if h.in_title else h.end))
        return out

    def _targets(self, t_sents, b_sents, english, pub_year, main_region, body_mentions,
                 region_codes) -> list[EventTag]:
        found: list[TargetHit] = find_targets(b_sents, english=english, pub_year=pub_year, in_title=False)
        found += find_targets(t_sents, english=english, pub_year=pub_year, in_title=True)
        found = found[:MAX_EVENTS]  # merging compares every pair: bounded for hostile pages
        out: list[EventTag] = []
        kept: list[TargetHit] = []
        for t in found:
            region = main_region
            for m in body_mentions:
                if (not t.in_title and m.code and m.code in region_codes and m.context == "subject"
                        and t.sentence.start <= m.start < t.sentence.end):
                    region = m.code
                    break
            if any(_same_target(k, t) for k in kept):
                continue
            kept.append(t)
            out.append(EventTag("target", region_code=region, metric=t.metric, value=t.value, unit=t.unit,
                                year=t.year, evidence=t.sentence.text, start=None if t.in_title else t.start,
                                end=None if t.in_title else t.end))
        return out

    def _chain_chief(self, t_sents, b_sents, english, main_region, chain_hits: list[ChainHit],
                     published) -> list[EventTag]:
        hits = find_chain_chief(b_sents, english=english, in_title=False)
        hits += find_chain_chief(t_sents, english=english, in_title=True)
        if not hits:
            return []
        h = hits[0]
        chain = next((c.slug for c in chain_hits if c.in_title == h.in_title
                      and h.sentence.start <= c.start < h.sentence.end and c.slug in self.taxonomy.chains), None)
        name = "链长制" if not english else "chain chief system"
        return [EventTag("chain_chief", name=name, region_code=main_region, chain_slug=chain,
                         evidence=h.sentence.text, start=None if h.in_title else h.start,
                         end=None if h.in_title else h.end)]


def _same_target(a: TargetHit, b: TargetHit) -> bool:
    """The same goal stated twice: in the title and the body, or twice in the body with a similar metric."""
    if a.unit != b.unit or abs(a.value - b.value) > 1e-9 * max(abs(a.value), 1.0):
        return False
    if a.year is not None and b.year is not None and a.year != b.year:
        return False
    if a.in_title or b.in_title:
        return True
    x, y = _norm_name(a.metric), _norm_name(b.metric)
    return x in y or y in x or difflib.SequenceMatcher(None, x, y, autojunk=False).ratio() >= 0.5


def _norm_name(s: str) -> str:
    return re.sub(r"[\W_]+", "", s.lower())


def _same_alliance(a: str, b: str) -> bool:
    x, y = _norm_name(a), _norm_name(b)
    if x == y or x in y or y in x:
        return True
    short, long_ = (x, y) if len(x) <= len(y) else (y, x)
    it = iter(long_)
    if all(ch in it for ch in short) and len(short) >= 0.6 * len(long_):
        return True
    return difflib.SequenceMatcher(None, x, y, autojunk=False).ratio() >= 0.85


@lru_cache(maxsize=1)
def _default_tagger() -> Tagger:
    return Tagger()
