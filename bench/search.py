"""Search latency on a synthetic archive: p50/p95 of common queries, with and without filters.

    .venv/bin/python bench/search.py --quick                       # 5k articles, SQLite, a smoke run
    .venv/bin/python bench/search.py --articles 1000000            # the target size, SQLite
    .venv/bin/python bench/search.py --articles 100000 --backend postgres --postgres-url postgresql://...

Articles are generated already segmented (words drawn from jieba's dictionary
with its frequencies, plus policy terms at realistic rates: 轴承 in ~1%, 产业联盟
~3%, 发展 in most), with regions and their ancestors, chains, events, sources
and stories of several reports, and written with bulk inserts straight into the
tables and the search index (SQLite FTS5 / PostgreSQL COPY + to_tsvector), the
same rows chainwatch.search.index_article would write. Not a test: numbers
depend on the machine. Timings are of chainwatch.search.search() end to end
(retrieval, story collapse, facets, snippets) on one connection.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from wordbank import vocabulary

from chainwatch import search as S
from chainwatch.segment import index_tokens, stem, tag_token
from storage.db import open_database

PROVINCES = ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42",
             "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65"]
SECTORS = {"equipment": ["bearings", "robots", "machine-tools", "agricultural-machinery", "power-equipment"],
           "automotive": ["new-energy-vehicles", "auto-parts", "batteries"],
           "electronics": ["semiconductors", "displays", "software"],
           "materials": ["steel", "aluminium", "new-materials"], "pharma": ["biomedicine", "medical-devices"],
           "energy": ["photovoltaics", "hydrogen", "wind-power"], "food": ["food-processing"],
           "textiles": ["textiles"]}
# (word, share of articles that contain it): what analysts search for, at plausible rates.
POLICY_TERMS = [("轴承", 0.01), ("产业联盟", 0.03), ("链长", 0.02), ("新能源汽车", 0.03), ("集成电路", 0.02),
                ("机器人", 0.02), ("招商", 0.08), ("产业链", 0.30), ("发展", 0.60), ("目标", 0.10), ("光伏", 0.015)]
EN_WORDS = ["bearing", "bearings", "industry", "alliance", "target", "output", "billion", "yuan", "province", "city", "plan", "chain", "vehicle", "battery", "chip", "robot", "investment", "policy", "growth", "park", "cluster", "enterprise"]
BODY_WORDS, TITLE_WORDS = 60, 8


def regions() -> list[tuple[str, int, list[str]]]:
    """(code, level, ancestors) for 31 provinces × 8 prefectures × 4 counties."""
    out = []
    for p in PROVINCES:
        out.append((p + "0000", 1, []))
        for c in range(1, 9):
            pref = f"{p}{c:02d}00"
            out.append((pref, 2, [p + "0000"]))
            for k in range(1, 5):
                out.append((f"{p}{c:02d}{k:02d}", 3, [pref, p + "0000"]))
    return out


def generate(db, n: int, seed: int = 7, batch: int = 10000, vocab: int = 20000) -> None:
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    words, p = vocabulary(vocab)
    # What index_article's jieba search mode makes of each word (新能源汽车 → 新能源, 汽车, 新能源汽车).
    expanded = {w: index_tokens(w) or [w] for w in words + [t for t, _ in POLICY_TERMS]}
    expand = expanded.__getitem__
    regs = regions()
    chains = [(slug, sector) for sector, slugs in SECTORS.items() for slug in slugs]
    start = datetime(2019, 1, 1, tzinfo=UTC)
    span = (datetime(2026, 11, 1, tzinfo=UTC) - start).total_seconds()
    pg = db.is_postgres
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO sources (key, name, home_url, strategy, listing_urls, allow_patterns, "
                          "deny_patterns, enabled, discovery, created_at, updated_at) VALUES "
                          "(:k, :n, :u, 'feed', '[]', '[]', '[]', true, '{}', :t, :t)"),
                     [{"k": f"src{i}", "n": f"来源{i}", "u": f"https://s{i}.example/",
                       "t": datetime.now(UTC)} for i in range(1, 201)])
    story_of: list[int] = []
    made = 0
    t0 = time.perf_counter()
    while made < n:
        size = min(batch, n - made)
        body_idx = rng.choice(len(words), size=(size, BODY_WORDS), p=p)
        title_idx = rng.choice(len(words), size=(size, TITLE_WORDS), p=p)
        arts, stories, ar, ac, ev, docs = [], [], [], [], [], []
        for i in range(size):
            aid = made + i + 1
            english = rnd.random() < 0.08
            if english:
                body = [rnd.choice(EN_WORDS) for _ in range(BODY_WORDS // 2)]
                title = [rnd.choice(EN_WORDS) for _ in range(TITLE_WORDS)]
            else:
                body = [words[j] for j in body_idx[i]]
                title = [words[j] for j in title_idx[i]]
                for term, share in POLICY_TERMS:
                    if rnd.random() < share:
                        body.insert(rnd.randrange(len(body)), term)
                        if rnd.random() < 0.3:
                            title.insert(rnd.randrange(len(title)), term)
            published = start + timedelta(seconds=rnd.random() * span)
            # One article in ten is another report of a recent story.
            if story_of and rnd.random() < 0.1:
                story = story_of[-rnd.randrange(1, min(len(story_of), 500) + 1)]
            else:
                story = aid
                stories.append({"id": aid, "first": aid, "title": "".join(title), "pub": published})
            story_of.append(story)
            sep = " " if english else ""
            url = f"https://s{aid % 200 + 1}.example/{aid}.html"
            arts.append({"id": aid, "src": aid % 200 + 1, "url": url, "title": sep.join(title),
                         "pub": published, "lang": "en" if english else "zh", "text": sep.join(body),
                         "hash": f"{aid:016x}", "story": story, "fetched": published})
            tags = {tag_token("s", aid % 200 + 1), tag_token("l", "en" if english else "zh")}
            code, level, anc = regs[rnd.randrange(len(regs))]
            for c, lv, role in [(code, level, "subject")] + [(a, lv2, "ancestor") for a, lv2 in
                                                              zip(anc, (2, 1)[-len(anc):] if anc else (), strict=False)]:
                ar.append({"a": aid, "c": c, "r": role, "l": lv, "n": f"地区{c}"})
                tags.add(tag_token("r", c))
            for slug, sector in rnd.sample(chains, rnd.choice((1, 1, 2))):
                ac.append({"a": aid, "s": slug, "k": sector})
                tags.update((tag_token("c", slug), tag_token("k", sector)))
            if rnd.random() < 0.06:
                etype = rnd.choice(("alliance", "target", "target", "chain_chief"))
                ev.append({"a": aid, "st": story, "t": etype, "rc": code, "d": published.date(),
                           "e": "".join(body[:10])})
                tags.add(tag_token("e", etype))
            stemmed = (lambda ws: " ".join(stem(w) for w in ws)) if english else (
                lambda ws: " ".join(tok for w in ws for tok in expand(w)))
            key = int(published.timestamp() // 60) * S.KEY_SHIFT + aid
            docs.append({"aid": aid, "key": key, "story": story, "title": stemmed(title), "body": stemmed(body),
                         "tags": " ".join(sorted(tags))})
        _write(db, pg, arts, stories, ar, ac, ev, docs)
        made += size
        rate = made / (time.perf_counter() - t0)
        print(f"\r  {made:,} articles ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if pg:
        # What autovacuum does to an archive this size long before anyone searches it: hint bits and the
        # visibility map set (else the first queries write every page they read) and statistics.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
            conn.execute(text("ANALYZE"))


def _write(db, pg: bool, arts, stories, ar, ac, ev, docs) -> None:
    with db.engine.begin() as conn:
        if stories:
            conn.execute(text("INSERT INTO stories (id, first_article_id, title, published, article_count, created_at)"
                              " VALUES (:id, :first, :title, :pub, 1, :pub)"), stories)
        conn.execute(text(
            "INSERT INTO articles (id, source_id, url, canonical_url, final_url, title, published, fetched_at, "
            "language, text, text_normalized, content_hash, story_id, relevant) VALUES (:id, :src, :url, :url, "
            ":url, :title, :pub, :fetched, :lang, :text, :text, :hash, :story, true)"), arts)
        conn.execute(text("INSERT INTO article_regions (article_id, code, role, level, name, score) "
                          "VALUES (:a, :c, :r, :l, :n, 1.0)"), ar)
        conn.execute(text("INSERT INTO article_chains (article_id, slug, sector, score) VALUES (:a, :s, :k, 1.0)"), ac)
        if ev:
            conn.execute(text("INSERT INTO events (article_id, story_id, type, region_code, event_date, evidence) "
                              "VALUES (:a, :st, :t, :rc, :d, :e)"), ev)
        if pg:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute("CREATE TEMP TABLE IF NOT EXISTS bench_docs (aid int, key bigint, story int, "
                            "title text, body text, tags text) ON COMMIT DELETE ROWS")
                buf = io.StringIO()
                for d in docs:
                    buf.write(f"{d['aid']}\t{d['key']}\t{d['story']}\t{d['title']}\t{d['body']}\t{d['tags']}\n")
                buf.seek(0)
                with cur.copy("COPY bench_docs FROM STDIN") as copy:
                    copy.write(buf.read())
                cur.execute("INSERT INTO search_docs (article_id, doc_key, story_id, tsv) SELECT aid, key, story, "
                            "setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), "
                            "'B') || setweight(to_tsvector('simple', tags), 'D') FROM bench_docs")
        else:
            conn.execute(text("INSERT INTO search_docs (article_id, doc_key, story_id) VALUES (:aid, :key, :story)"),
                         docs)
            conn.execute(text("INSERT INTO search_fts (rowid, title, body, tags) VALUES (:key, :title, :body, :tags)"),
                         docs)


QUERIES = [
    ("轴承", {}), ("轴承", {"sort": "date"}), ("产业联盟", {}), ("bearings", {}), ("新能源汽车 招商", {}),
    ("产业链", {}), ("发展", {}), ("发展", {"sort": "date"}),
    ("轴承", {"region": "410000"}), ("产业联盟", {"region": "410000", "event_type": "alliance"}),
    ("招商", {"chain": "equipment"}), ("集成电路", {"since": date(2025, 1, 1)}),
    ("链长", {"region": "320000", "since": date(2024, 1, 1), "sort": "date"}),
    ("", {"region": "410100"}), ("", {"event_type": "target", "sort": "date"}),
    ("发展", {"region": "410101"}),
]


def _server_cpu_ms(db) -> Any:
    """A function reading the CPU time (ms) of the PostgreSQL backend serving this process's pooled
    connection, when the server runs on this machine; None otherwise (SQLite: in-process already)."""
    if not db.is_postgres:
        return None
    with db.engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    path = Path(f"/proc/{pid}/stat")
    if not path.exists():
        return None
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        fields = path.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 1000 / tick  # utime + stime

    return read


def run_queries(db, repeat: int) -> None:
    S.warm_up()  # once per process, as the web app does at start: jieba, the gazetteer
    S.search(db, S.SearchQuery(q="预热"))
    server = _server_cpu_ms(db)
    all_times: list[float] = []
    all_cpu: list[float] = []
    srv_all = 0.0
    print(f"{'query':44} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8} {'srv CPU':>8} {'matches':>8}")
    for q, filters in QUERIES:
        times, cpu, total = [], [], 0
        srv0 = server() if server else 0.0
        for i in range(repeat):
            sq = S.SearchQuery(q=q, page=1 + i % 3, **filters)
            c, t = time.process_time(), time.perf_counter()
            result = S.search(db, sq)
            times.append((time.perf_counter() - t) * 1000)
            cpu.append((time.process_time() - c) * 1000)
            total = result.total
        all_times += times
        all_cpu += cpu
        srv = (server() - srv0) / repeat if server else None
        srv_all += (srv or 0.0) * repeat
        label = (q or "(browse)") + " " + " ".join(f"{k}={v}" for k, v in filters.items())
        print(f"{label[:44]:44} {statistics.median(times):8.1f} {_p95(times):8.1f} {statistics.median(cpu):8.1f} "
              f"{_p95(cpu):8.1f} {'-' if srv is None else f'{srv:.1f}':>8} "
              f"{str(total) + ('+' if total >= S.COUNT_CAP else ''):>8}")
    srv_mean = f"{srv_all / len(all_times):.1f}" if server else "-"
    print(f"{'ALL':44} {statistics.median(all_times):8.1f} {_p95(all_times):8.1f} {statistics.median(all_cpu):8.1f} "
          f"{_p95(all_cpu):8.1f} {srv_mean:>8}")
    print("ms: wall clock; CPU: this process's CPU time (SQLite's work included, PostgreSQL's server time not); "
          "srv CPU: the PostgreSQL backend's CPU time per search (mean, from /proc, 10 ms ticks), "
          f"the figures to read when the machine is busy (load average now {os.getloadavg()[0]:.1f})")


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true",
                    help="5,000 articles, a 5,000-word vocabulary, 3 runs per query (a smoke run)")
    ap.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/test",
                    help="an EMPTY scratch database (the bench creates the schema)")
    ap.add_argument("--sqlite-path", help="default: a temporary file")
    ap.add_argument("--reuse", action="store_true", help="query an archive generated by an earlier run")
    ap.add_argument("--repeat", type=int, help="runs per query (default 20; --quick: 3)")
    args = ap.parse_args()
    n = 5_000 if args.quick else args.articles
    args.repeat = args.repeat or (3 if args.quick else 20)
    scratch = None
    if args.backend == "postgres":
        url = args.postgres_url
    else:
        if not args.sqlite_path:
            scratch = tempfile.mkdtemp(prefix="cw-bench-")
        path = Path(args.sqlite_path or Path(scratch) / "bench.sqlite3")
        url = f"sqlite:///{path}"
    db = open_database(url, upgrade_schema=not args.reuse)
    if not args.reuse:
        print(f"generating {n:,} articles into {db.engine.url.render_as_string(hide_password=True)}",
              file=sys.stderr)
        t = time.perf_counter()
        generate(db, n, vocab=5000 if args.quick else 20000)
        print(f"generated in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    print(f"\n{args.backend}, {n:,} articles, {args.repeat} runs per query, search() end to end")
    run_queries(db, args.repeat)
    db.dispose()
    if scratch:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
