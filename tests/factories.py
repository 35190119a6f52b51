"""Seed the archive with model rows directly, for digest, delivery and benchmark code."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from storage.models import Article, ArticleChain, ArticleRegion, Event, Source, Story

_counter = itertools.count(1)

# A small gazetteer slice: code -> (name, level, parent code)
REGIONS: dict[str, tuple[str, int, str | None]] = {
    "410000": ("河南省", 1, None),
    "410100": ("郑州市", 2, "410000"),
    "410300": ("洛阳市", 2, "410000"),
    "410181": ("巩义市", 3, "410100"),
    "411300": ("南阳市", 2, "410000"),
    "320000": ("江苏省", 1, None),
    "320500": ("苏州市", 2, "320000"),
    "440000": ("广东省", 1, None),
    "440300": ("深圳市", 2, "440000"),
}
SECTOR_OF = {"bearings": "equipment", "robots": "equipment", "superhard-materials": "materials",
             "new-energy-vehicles": "automotive", "semiconductors": "electronics", "biomedicine": "pharma"}


def ancestors(code: str) -> list[str]:
    out: list[str] = []
    parent = REGIONS.get(code, ("", 0, None))[2]
    while parent:
        out.append(parent)
        parent = REGIONS[parent][2]
    return out


def source(s: Session, key: str = "henan-gov", name: str = "河南省人民政府") -> Source:
    row = s.query(Source).filter_by(key=key).one_or_none()
    if row is None:
        row = Source(key=key, name=name, home_url=f"http://{key}.example/")
        s.add(row)
        s.flush()
    return row


def story(s: Session, title: str, published: datetime | None = None) -> Story:
    row = Story(title=title, published=published)
    s.add(row)
    s.flush()
    return row


def article(s: Session, *, title: str = "洛阳市推进轴承产业链发展", published: datetime | None = None,
            fetched_at: datetime | None = None, regions: Iterable[str] = ("410300",),
            chains: Iterable[str] = ("bearings",), relevant: bool | None = True, src: Source | None = None,
            story_row: Story | None = None, events: Iterable[dict] = (), url: str | None = None) -> Article:
    n = next(_counter)
    url = url or f"http://news.example/{n}.html"
    src = src or source(s)
    a = Article(source_id=src.id, url=url, canonical_url=url, final_url=url, title=title, published=published,
                fetched_at=fetched_at or published or datetime(2022, 11, 8, 2, 0, tzinfo=UTC), text="正文",
                text_normalized="正文", content_hash=hashlib.sha1(url.encode()).hexdigest(), relevant=relevant,
                story_id=story_row.id if story_row else None)
    s.add(a)
    s.flush()
    written: set[str] = set()
    for code in regions:
        name, level, _ = REGIONS.get(code, (code, 3, None))
        s.add(ArticleRegion(article_id=a.id, code=code, role="subject", level=level, name=name, score=1.0))
        written.add(code)
    for code in list(written):
        for anc in ancestors(code):
            if anc not in written:
                written.add(anc)
                name, level, _ = REGIONS[anc]
                s.add(ArticleRegion(article_id=a.id, code=anc, role="ancestor", level=level, name=name, score=0.0))
    for slug in chains:
        s.add(ArticleChain(article_id=a.id, slug=slug, sector=SECTOR_OF.get(slug, slug), score=1.0))
    for ev in events:
        s.add(Event(article_id=a.id, story_id=a.story_id, evidence=ev.pop("evidence", ""), **ev))
    s.flush()
    return a


def at(day: str, hour: int = 2) -> datetime:
    """A UTC instant on ``day`` (YYYY-MM-DD); 02:00 UTC is 10:00 in Shanghai, the same local day."""
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, hour, tzinfo=UTC)
