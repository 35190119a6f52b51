"""Benchmark: build (and render) 100 subscribers' digests over 10,000 new articles. Goal: build < 5 s.

    .venv/bin/python bench/digest.py [--articles 10000] [--subscribers 100] [--database-url URL]
    .venv/bin/python bench/digest.py --quick      # 1,000 articles, 10 subscribers: a smoke run

Generates a throwaway archive (SQLite in a temporary folder unless --database-url
names an empty database), one week of relevant articles in stories of 1-4
reports, with regions (subject + ancestors), chains and events, then times the
same path `digest send` takes: one period load per time zone, then every
subscriber's digest cut in memory.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert

from chainwatch.config import load_config
from chainwatch.context import AppContext
from chainwatch.subscribers import SubscriberView
from digests import service
from digests.periods import parse_period
from digests.render import render
from storage.db import open_database
from storage.models import Article, ArticleChain, ArticleRegion, Event, Source, Story

PERIOD = "2022-W45"
# code -> (name, level, parent)
REGIONS = {
    "410000": ("河南省", 1, None), "410100": ("郑州市", 2, "410000"), "410300": ("洛阳市", 2, "410000"),
    "410181": ("巩义市", 3, "410100"), "410322": ("孟津县", 3, "410300"), "411300": ("南阳市", 2, "410000"),
    "320000": ("江苏省", 1, None), "320500": ("苏州市", 2, "320000"), "320583": ("昆山市", 3, "320500"),
    "440000": ("广东省", 1, None), "440300": ("深圳市", 2, "440000"), "440100": ("广州市", 2, "440000"),
    "330000": ("浙江省", 1, None), "330100": ("杭州市", 2, "330000"), "330200": ("宁波市", 2, "330000"),
}
CHAINS = {"bearings": "equipment", "robots": "equipment", "machine-tools": "equipment",
          "superhard-materials": "materials", "aluminum": "materials", "new-energy-vehicles": "automotive",
          "power-batteries": "automotive", "semiconductors": "electronics", "software": "electronics",
          "biomedicine": "pharma", "photovoltaics": "energy", "hydrogen": "energy"}
SECTORS = sorted(set(CHAINS.values()))


def ancestors(code: str) -> list[str]:
    out, parent = [], REGIONS[code][2]
    while parent:
        out.append(parent)
        parent = REGIONS[parent][2]
    return out


def seed(app: AppContext, n_articles: int, rng: random.Random) -> None:
    start, _ = parse_period(PERIOD).window("Asia/Shanghai")
    codes = list(REGIONS)
    slugs = list(CHAINS)
    with app.db.session() as s:
        src_ids = []
        for i in range(20):
            src = Source(key=f"src{i}", name=f"来源{i}", home_url=f"http://src{i}.example/")
            s.add(src)
            s.flush()
            src_ids.append(src.id)
        articles, regions, chains, events = [], [], [], []
        aid, story_id = 0, 0
        while aid < n_articles:
            story_id += 1
            s.execute(insert(Story).values(id=story_id, title=f"报道{story_id}：产业链推进会召开", article_count=1))
            region = rng.choice(codes)
            chain = rng.choice(slugs)
            for _ in range(min(rng.choice((1, 1, 1, 2, 2, 3, 4)), n_articles - aid)):
                aid += 1
                when = start + timedelta(seconds=rng.randrange(7 * 86400))
                url = f"http://news.example/{aid}.html"
                articles.append(dict(id=aid, source_id=rng.choice(src_ids), url=url, canonical_url=url,
                                     final_url=url, title=f"{REGIONS[region][0]}推进{chain}产业链（{aid}）",
                                     published=when if rng.random() > 0.1 else None, fetched_at=when,
                                     text="", text_normalized="", content_hash=f"{aid:064x}", story_id=story_id,
                                     relevant=rng.random() > 0.05))
                regions.append(dict(article_id=aid, code=region, role="subject", level=REGIONS[region][1],
                                    name=REGIONS[region][0], score=1.0))
                regions.extend(dict(article_id=aid, code=a, role="ancestor", level=REGIONS[a][1],
                                    name=REGIONS[a][0], score=0.0) for a in ancestors(region))
                chains.append(dict(article_id=aid, slug=chain, sector=CHAINS[chain], score=1.0))
                r = rng.random()
                if r < 0.03:
                    events.append(dict(article_id=aid, story_id=story_id, type="alliance", region_code=region,
                                       name=f"{REGIONS[region][0]}{chain}产业联盟", evidence="……成立……"))
                elif r < 0.06:
                    events.append(dict(article_id=aid, story_id=story_id, type="target", region_code=region,
                                       metric="产业规模", value=rng.choice((1e10, 3.3e11, 5e11)), unit="CNY",
                                       year=2025, evidence="到2025年……"))
                elif r < 0.08:
                    events.append(dict(article_id=aid, story_id=story_id, type="chain_chief", region_code=region,
                                       name=f"{REGIONS[region][0]}链长制推进会", evidence="……链长……"))
        for table, rows in ((Article, articles), (ArticleRegion, regions), (ArticleChain, chains), (Event, events)):
            for i in range(0, len(rows), 2000):
                s.execute(insert(table), rows[i:i + 2000])


def make_subscribers(n: int, rng: random.Random) -> list[SubscriberView]:
    codes, slugs = list(REGIONS), list(CHAINS) + SECTORS
    out = []
    for i in range(n):
        kind = i % 4  # everything / region / chain / both
        out.append(SubscriberView(
            id=i + 1, email=f"s{i}@example.org", name=None,
            regions=tuple(rng.sample(codes, rng.randint(1, 3))) if kind in (1, 3) else (),
            chains=tuple(rng.sample(slugs, rng.randint(1, 3))) if kind in (2, 3) else (),
            language="en" if i % 3 == 0 else "zh", frequency="weekly",
            timezone="Europe/Berlin" if i % 10 == 9 else "Asia/Shanghai",
            active=True, unsubscribe_token=f"t{i}", created_at=datetime(2022, 1, 1, tzinfo=UTC)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=10_000)
    ap.add_argument("--subscribers", type=int, default=100)
    ap.add_argument("--database-url", help="an EMPTY database to fill (default: temporary SQLite)")
    ap.add_argument("--quick", action="store_true", help="1,000 articles and 10 subscribers (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.articles, args.subscribers = 1_000, 10
    rng = random.Random(45)
    with tempfile.TemporaryDirectory() as home:
        cfg = load_config(env={"CHAINWATCH_HOME": home})
        url = args.database_url or cfg.database_url
        db = open_database(url, upgrade_schema=True)
        app = AppContext(config=cfg, _db=db)
        t0 = time.perf_counter()
        seed(app, args.articles, rng)
        print(f"seeded {args.articles} articles in {time.perf_counter() - t0:.1f} s ({db.engine.dialect.name})")
        subs = make_subscribers(args.subscribers, rng)
        t0 = time.perf_counter()
        cache = service.PeriodCache(app)
        digests = [service.build_for(app, PERIOD, sub, cache) for sub in subs]
        built = time.perf_counter() - t0
        t0 = time.perf_counter()
        sizes = [len(render(d).html) for d in digests]
        rendered = time.perf_counter() - t0
        stories = sum(d.story_count for d in digests)
        print(f"built {len(digests)} digests ({stories} story entries, 2 time zones) in {built:.2f} s"
              f" -> {'OK' if built < 5 else 'SLOW'} (goal < 5 s)")
        print(f"rendered them (HTML + text) in {rendered:.2f} s; largest HTML {max(sizes) // 1024} KiB")
        db.dispose()


if __name__ == "__main__":
    main()
