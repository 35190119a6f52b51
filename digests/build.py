"""From the archive to a Digest value: what one subscriber reads for one period.

The database is read once per (period, time zone) by :func:`load_period`, a
handful of set-based queries joined on the same date window; every
subscriber's digest is then cut from that in memory by :func:`build_digest`.
That is what makes a hundred digests over ten thousand articles cheap.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from digests import labels
from digests.numbers import canonical_unit
from digests.periods import Period, get_zone
from storage.models import (
    Article,
    ArticleChain,
    ArticleRegion,
    CrawlError,
    CrawlRun,
    CrawlRunSource,
    Event,
    Source,
    Story,
)
from storage.timeutil import as_utc
from tagging.normalize import to_simplified

# ---------------------------------------------------------------- the period's raw material


@dataclass(frozen=True)
class RegionTag:
    code: str
    role: str
    level: int
    name: str
    score: float


@dataclass(frozen=True)
class ChainTag:
    slug: str
    sector: str
    score: float


@dataclass(frozen=True)
class EventRow:
    type: str
    name: str | None
    region_code: str | None
    event_date: date | None
    metric: str | None
    value: float | None
    unit: str | None
    year: int | None
    evidence: str


@dataclass
class ArticleRow:
    id: int
    title: str
    url: str
    source: str
    when: datetime  # published, else fetched_at; UTC
    story_id: int | None
    regions: list[RegionTag] = field(default_factory=list)
    chains: list[ChainTag] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    region_codes: frozenset[str] = frozenset()  # every role: subject and ancestors
    chain_keys: frozenset[str] = frozenset()  # chain slugs and their sectors
    ref: SourceRef | None = None  # how the article is cited, local day included


@dataclass(frozen=True)
class FailedSource:
    name: str
    errors: int
    last_kind: str | None


@dataclass(frozen=True)
class StoryFacts:
    regions: list[str]  # subject region codes, weightiest first
    chains: list[str]  # chain slugs, weightiest first
    sources: list[SourceRef]


@dataclass
class PeriodData:
    """One period's articles with indexes, and caches that every subscriber's digest shares."""

    period: Period
    timezone: str
    articles: list[ArticleRow]
    story_titles: dict[int, str]
    region_names: dict[str, str]  # code -> stored Chinese name, the fallback when the gazetteer is absent
    failed_sources: list[FailedSource]
    by_region: dict[str, set[int]] = field(default_factory=dict)  # code (any role) -> article positions
    by_chain: dict[str, set[int]] = field(default_factory=dict)  # slug or sector -> article positions
    _stories: dict[tuple, tuple[StoryItem, StoryFacts]] = field(default_factory=dict, repr=False)
    _labels: dict[tuple[str, str, str], str] = field(default_factory=dict, repr=False)
    _digests: dict[tuple[Filters, str, int], Digest] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for pos, a in enumerate(self.articles):
            for code in a.region_codes:
                self.by_region.setdefault(code, set()).add(pos)
            for key in a.chain_keys:
                self.by_chain.setdefault(key, set()).add(pos)

    def select(self, filters: Filters) -> list[ArticleRow]:
        """Articles passing ``filters``, oldest first, by set operations on the indexes."""
        if not filters.regions and not filters.chains:
            return list(self.articles)
        chosen: set[int] | None = None
        for wanted, index in ((filters.regions, self.by_region), (filters.chains, self.by_chain)):
            if wanted:
                hits = set().union(*(index.get(k, ()) for k in wanted))
                chosen = hits if chosen is None else chosen & hits
        return [self.articles[i] for i in sorted(chosen or ())]

    def story(self, key: int, members: list[ArticleRow], language: str) -> tuple[StoryItem, StoryFacts]:
        """A story's entry and its ranked regions and chains, computed once per language and distinct
        set of members (most subscribers see whole stories, so this is mostly a cache hit)."""
        cache_key = (language, *(a.id for a in members))
        found = self._stories.get(cache_key)
        if found is None:
            facts = StoryFacts(_ranked_regions(members), _ranked_chains(members), _sources(members))
            first = members[0]
            title = self.story_titles.get(key) if key > 0 else None
            item = StoryItem(key=key, title=title or first.title or first.url, day=first.ref.day,
                             sources=facts.sources,
                             regions=[self.label(language, "region", c) for c in facts.regions],
                             chains=[self.label(language, "chain", c) for c in facts.chains])
            found = self._stories[cache_key] = (item, facts)
        return found

    def label(self, language: str, kind: str, key: str) -> str:
        cache_key = (language, kind, key)
        if cache_key not in self._labels:
            if kind == "region":
                value = labels.region_name(key, language, self.region_names.get(key))
            else:
                value = labels.chain_name(key, language)
            self._labels[cache_key] = value
        return self._labels[cache_key]


def _window_condition(start: datetime, end: datetime):
    # published when known, else fetched_at; written as an OR so each branch can use its index
    return and_(Article.relevant.is_(True), or_(
        and_(Article.published >= start, Article.published < end),
        and_(Article.published.is_(None), Article.fetched_at >= start, Article.fetched_at < end),
    ))


def load_period(session: Session, period: Period, timezone: str) -> PeriodData:
    """Everything relevant in ``period`` (local to ``timezone``): six queries whatever the volume."""
    start, end = period.window(timezone)
    cond = _window_condition(start, end)
    articles: dict[int, ArticleRow] = {}
    q = (select(Article.id, Article.title, Article.final_url, Article.canonical_url, Article.published,
                Article.fetched_at, Article.story_id, Source.name)
         .outerjoin(Source, Source.id == Article.source_id).where(cond))
    for aid, title, final_url, canonical, published, fetched, story_id, source_name in session.execute(q):
        when = as_utc(published) or as_utc(fetched)
        articles[aid] = ArticleRow(id=aid, title=(title or "").strip(), url=final_url or canonical,
                                   source=source_name or _host(canonical), when=when, story_id=story_id)
    region_names: dict[str, str] = {}
    q = (select(ArticleRegion.article_id, ArticleRegion.code, ArticleRegion.role, ArticleRegion.level,
                ArticleRegion.name, ArticleRegion.score).join(Article, Article.id == ArticleRegion.article_id)
         .where(cond))
    for aid, code, role, level, name, score in session.execute(q):
        if (row := articles.get(aid)) is not None:
            row.regions.append(RegionTag(code, role or "subject", level or 0, name or code, score or 0.0))
            region_names.setdefault(code, name or code)
    q = (select(ArticleChain.article_id, ArticleChain.slug, ArticleChain.sector, ArticleChain.score)
         .join(Article, Article.id == ArticleChain.article_id).where(cond))
    for aid, slug, sector, score in session.execute(q):
        if (row := articles.get(aid)) is not None:
            row.chains.append(ChainTag(slug, sector or "", score or 0.0))
    q = (select(Event.article_id, Event.type, Event.name, Event.region_code, Event.event_date, Event.metric,
                Event.value, Event.unit, Event.year, Event.evidence)
         .join(Article, Article.id == Event.article_id).where(cond).order_by(Event.id))
    for aid, *rest in session.execute(q):
        if (row := articles.get(aid)) is not None:
            row.events.append(EventRow(*rest[:8], evidence=rest[8] or ""))
    zone = get_zone(timezone)
    for row in articles.values():
        row.region_codes = frozenset(r.code for r in row.regions)
        row.chain_keys = frozenset([c.slug for c in row.chains] + [c.sector for c in row.chains if c.sector])
        row.ref = SourceRef(row.source, row.title or row.url, row.url, row.when.astimezone(zone).date())
    q = (select(Story.id, Story.title).where(Story.id.in_(
        select(Article.story_id).where(cond, Article.story_id.is_not(None)).scalar_subquery())))
    story_titles = {sid: (title or "").strip() for sid, title in session.execute(q) if title}
    ordered = sorted(articles.values(), key=lambda a: (a.when, a.id))
    return PeriodData(period=period, timezone=timezone, articles=ordered, story_titles=story_titles,
                      region_names=region_names, failed_sources=_failed_sources(session, start, end))


def _failed_sources(session: Session, start: datetime, end: datetime) -> list[FailedSource]:
    """Sources with errors in the window and not a single page fetched: the footer's warning list."""
    stats: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # source_id -> [pages, errors]
    q = (select(CrawlRunSource.source_id, func.sum(CrawlRunSource.pages_fetched), func.sum(CrawlRunSource.errors))
         .join(CrawlRun, CrawlRun.id == CrawlRunSource.run_id)
         .where(CrawlRun.started_at >= start, CrawlRun.started_at < end).group_by(CrawlRunSource.source_id))
    for sid, pages, errors in session.execute(q):
        stats[sid][0] += int(pages or 0)
        stats[sid][1] += int(errors or 0)
    last_kind: dict[int, str] = {}
    q = (select(CrawlError.source_id, CrawlError.kind).where(CrawlError.at >= start, CrawlError.at < end,
                                                            CrawlError.source_id.is_not(None))
         .order_by(CrawlError.at))
    error_counts: dict[int, int] = defaultdict(int)
    for sid, kind in session.execute(q):
        error_counts[sid] += 1
        last_kind[sid] = kind
    failed_ids = [sid for sid in set(stats) | set(error_counts)
                  if stats[sid][0] == 0 and (stats[sid][1] > 0 or error_counts[sid] > 0)]
    if not failed_ids:
        return []
    names = dict(session.execute(select(Source.id, Source.name).where(Source.id.in_(failed_ids))).all())
    out = [FailedSource(names.get(sid, f"#{sid}"), max(stats[sid][1], error_counts[sid]), last_kind.get(sid))
           for sid in failed_ids]
    return sorted(out, key=lambda f: f.name)


def _host(url: str) -> str:
    m = re.match(r"^[a-z]+://([^/]+)", url or "")
    return m[1] if m else (url or "")


# ---------------------------------------------------------------- one subscriber's digest


@dataclass(frozen=True)
class Filters:
    regions: frozenset[str] = frozenset()
    chains: frozenset[str] = frozenset()

    @classmethod
    def of(cls, regions: Iterable[str] | None, chains: Iterable[str] | None) -> Filters:
        return cls(frozenset(regions or ()), frozenset(chains or ()))

    def accepts(self, a: ArticleRow) -> bool:
        # Ancestor rows make a province code match its counties; sectors match their chains.
        if self.regions and self.regions.isdisjoint(a.region_codes):
            return False
        return not (self.chains and self.chains.isdisjoint(a.chain_keys))


@dataclass(frozen=True)
class SourceRef:
    source: str
    title: str
    url: str
    day: date


@dataclass
class EventItem:
    """An alliance, a target or chain-chief news, merged over every article that reported it."""

    type: str
    name: str | None
    region: str | None
    region_code: str | None
    day: date | None
    metric: str | None = None
    value: float | None = None
    unit: str | None = None
    year: int | None = None
    evidence: str = ""
    sources: list[SourceRef] = field(default_factory=list)


@dataclass
class StoryItem:
    key: int  # story id, or -article id for an article without a story
    title: str
    day: date
    sources: list[SourceRef]
    regions: list[str]  # labels of the subject regions
    chains: list[str]  # labels


@dataclass
class ChainGroup:
    slug: str | None
    label: str
    stories: list[StoryItem]


@dataclass
class RegionGroup:
    code: str | None
    label: str
    chains: list[ChainGroup]

    @property
    def story_count(self) -> int:
        return sum(len(c.stories) for c in self.chains)


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    stories: int
    articles: int


@dataclass
class Digest:
    period: Period
    timezone: str
    language: str
    alliances: list[EventItem]
    targets: list[EventItem]
    chain_chief: list[EventItem]
    regions: list[RegionGroup]
    region_counts: list[Count]
    chain_counts: list[Count]
    failed_sources: list[FailedSource]
    story_count: int
    article_count: int
    subscriber_email: str | None = None
    subscriber_name: str | None = None
    unsubscribe_url: str | None = None
    filters: Filters = field(default_factory=Filters)
    filter_labels: list[str] = field(default_factory=list)  # the subscription, in words
    omitted_stories: int = 0  # stories beyond the cap, counted in the totals but not listed

    @property
    def is_empty(self) -> bool:
        return self.article_count == 0


class _Labeler:
    """Region and chain labels in one language, memoised in the shared PeriodData."""

    def __init__(self, data: PeriodData, language: str) -> None:
        self.data, self.language = data, language

    def region(self, code: str) -> str:
        return self.data.label(self.language, "region", code)

    def chain(self, slug: str) -> str:
        return self.data.label(self.language, "chain", slug)


# An email a reader can get through on a Monday (and that mail clients don't clip): every alliance,
# target and chain-chief item, but the story list cut to the best-sourced this many.
MAX_STORIES = 150


def build_digest(data: PeriodData, filters: Filters | None = None, language: str = "zh",
                 max_stories: int = MAX_STORIES) -> Digest:
    """The digest for one filter set and language. Subscribers who share both share the result
    (treat it as read-only; dataclasses.replace() it to personalise)."""
    filters = filters or Filters()
    cached = data._digests.get((filters, language, max_stories))
    if cached is None:
        cached = data._digests[(filters, language, max_stories)] = _build(data, filters, language, max_stories)
    return cached


def _build(data: PeriodData, filters: Filters, language: str, max_stories: int = MAX_STORIES) -> Digest:
    lab = _Labeler(data, language)
    chosen = data.select(filters)
    stories = _group_stories(chosen)
    events = _events(chosen, lab)
    story_items: list[tuple[StoryItem, str | None, str | None]] = []
    region_tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    chain_tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for key, members in stories.items():
        item, facts = data.story(key, members, language)
        subject, chains = facts.regions, facts.chains
        story_items.append((item, subject[0] if subject else None, chains[0] if chains else None))
        for code in subject:
            region_tally[code][0] += 1
            region_tally[code][1] += len(members)
        for slug in chains:
            chain_tally[slug][0] += 1
            chain_tally[slug][1] += len(members)
    listed = _best_sourced(story_items, max_stories)
    return Digest(
        period=data.period, timezone=data.timezone, language=language,
        alliances=events["alliance"], targets=events["target"], chain_chief=events["chain_chief"],
        regions=_nest(listed, lab), failed_sources=data.failed_sources, omitted_stories=len(story_items) - len(listed),
        region_counts=_counts(region_tally, lab.region), chain_counts=_counts(chain_tally, lab.chain),
        story_count=len(stories), article_count=len(chosen), filters=filters,
        filter_labels=[lab.region(c) for c in sorted(filters.regions)] + [lab.chain(c) for c in sorted(filters.chains)])


def _best_sourced(items: list[tuple[StoryItem, str | None, str | None]], limit: int,
                  ) -> list[tuple[StoryItem, str | None, str | None]]:
    """At most ``limit`` stories: those reported by the most sources, then the newest."""
    if len(items) <= limit:
        return items
    ranked = sorted(items, key=lambda t: (-len(t[0].sources), -t[0].day.toordinal(), t[0].key))
    return ranked[: max(0, limit)]


def _group_stories(articles: list[ArticleRow]) -> dict[int, list[ArticleRow]]:
    # articles arrive oldest first, so members[0] is the story's first report in the period
    out: dict[int, list[ArticleRow]] = {}
    for a in articles:
        out.setdefault(a.story_id if a.story_id is not None else -a.id, []).append(a)
    return out


def _ranked_regions(members: list[ArticleRow]) -> list[str]:
    """Subject regions of a story, most weighty first (ties: the more specific, then the code)."""
    score: dict[str, float] = defaultdict(float)
    level: dict[str, int] = {}
    for a in members:
        for r in a.regions:
            if r.role == "subject":
                score[r.code] += r.score or 0.01
                level[r.code] = r.level
    return sorted(score, key=lambda c: (-score[c], -level[c], c))


def _ranked_chains(members: list[ArticleRow]) -> list[str]:
    score: dict[str, float] = defaultdict(float)
    for a in members:
        for c in a.chains:
            score[c.slug] += c.score or 0.01
    return sorted(score, key=lambda s: (-score[s], s))


def _sources(members: Iterable[ArticleRow]) -> list[SourceRef]:
    seen: set[str] = set()
    out: list[SourceRef] = []
    for a in members:
        if a.url not in seen and a.ref is not None:
            seen.add(a.url)
            out.append(a.ref)
    return out


def _nest(items: list[tuple[StoryItem, str | None, str | None]], lab: _Labeler) -> list[RegionGroup]:
    """Stories under their main region, then their main chain: each story appears exactly once."""
    tree: dict[str | None, dict[str | None, list[StoryItem]]] = defaultdict(lambda: defaultdict(list))
    for item, region, chain in items:
        tree[region][chain].append(item)
    groups: list[RegionGroup] = []
    for code, by_chain in tree.items():
        chain_groups = [ChainGroup(slug, lab.chain(slug) if slug else "", sorted(st, key=lambda s: (s.day, s.key)))
                        for slug, st in by_chain.items()]
        chain_groups.sort(key=lambda g: (g.slug is None, -len(g.stories), g.label))
        groups.append(RegionGroup(code, lab.region(code) if code else "", chain_groups))
    groups.sort(key=lambda g: (g.code is None, -g.story_count, g.code or ""))
    return groups


def _counts(tally: dict[str, list[int]], label) -> list[Count]:
    out = [Count(k, label(k), v[0], v[1]) for k, v in tally.items()]
    return sorted(out, key=lambda c: (-c.stories, c.key))


_PUNCT = re.compile(r"[\s\"'“”‘’《》「」『』()（）【】·,，。、:：]+")


def _norm(text: str | None) -> str:
    """The key events are merged on: a traditional-character repost names the same alliance."""
    return to_simplified(_PUNCT.sub("", unicodedata.normalize("NFKC", text or ""))).lower()


def _is_simplified(text: str) -> bool:
    return to_simplified(text) == text


def _events(articles: list[ArticleRow], lab: _Labeler) -> dict[str, list[EventItem]]:
    """Merge events reported by several articles (of one story or several) into one item each."""
    merged: dict[tuple, EventItem] = {}
    aliases: dict[tuple, tuple] = {}  # a second key under which an item is found -> its key in ``merged``
    seen_sources: dict[tuple, set[str]] = defaultdict(set)
    for a in articles:
        story_key = a.story_id if a.story_id is not None else -a.id
        for e in a.events:
            story_alias: tuple | None = None
            if e.type == "target":
                key: tuple = ("target", e.region_code, _norm(e.metric), e.value, canonical_unit(e.unit), e.year)
                # Copies of one story state the same figure, though one copy may miss the region or word the
                # metric differently (a translation): within a story, value + unit + year is the target.
                story_alias = ("target", "story", story_key, e.value, canonical_unit(e.unit), e.year)
                key = aliases.get(story_alias, key)
            elif e.name and _norm(e.name):
                key = (e.type, _norm(e.name))
            else:  # an unnamed event: one per story
                key = (e.type, "story", story_key)
            if story_alias is not None:
                aliases.setdefault(story_alias, key)
            item = merged.get(key)
            if item is None:
                item = merged[key] = EventItem(
                    type=e.type, name=e.name, region=lab.region(e.region_code) if e.region_code else None,
                    region_code=e.region_code, day=e.event_date, metric=e.metric, value=e.value, unit=e.unit,
                    year=e.year, evidence=e.evidence.strip())
                if not e.name and e.type != "target":
                    item.name = a.title
            else:
                if item.region_code is None and e.region_code:
                    item.region_code, item.region = e.region_code, lab.region(e.region_code)
                if e.event_date and (item.day is None or e.event_date < item.day):
                    item.day = e.event_date
                if not item.evidence and e.evidence:
                    item.evidence = e.evidence.strip()
                if e.name and item.name and not _is_simplified(item.name) and _is_simplified(e.name):
                    item.name = e.name  # the simplified-character copy's wording reads best here
            if a.url not in seen_sources[key]:
                seen_sources[key].add(a.url)
                item.sources.append(a.ref)
    out: dict[str, list[EventItem]] = {"alliance": [], "target": [], "chain_chief": []}
    for item in merged.values():
        if item.day is None and item.sources:
            item.day = min(s.day for s in item.sources)
        if item.type in out:
            out[item.type].append(item)
    out["alliance"].sort(key=lambda i: (i.day or date.min, i.name or ""))
    # one sentence often sets several targets: keep them together so the sentence is shown once
    first_pos: dict[str, int] = {}
    for i, item in enumerate(out["target"]):
        first_pos.setdefault(item.evidence, i)
    out["target"].sort(key=lambda i: (i.region_code or "~", i.year or 0, first_pos[i.evidence] if i.evidence else -1,
                                      i.metric or ""))
    out["chain_chief"].sort(key=lambda i: (i.day or date.min, i.name or ""))
    return out
