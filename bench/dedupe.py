"""Near-duplicate check with 10^5 and 10^6 stored articles: ms per new article, memory, database size.

    .venv/bin/python bench/dedupe.py --quick            # 10^3 and 10^4 stored articles, SQLite, a smoke run (< 30 s)
    .venv/bin/python bench/dedupe.py                    # 10^5 and 10^6, SQLite (temporary file)
    .venv/bin/python bench/dedupe.py --postgres postgresql://postgres@127.0.0.1:5432/bench_dedupe [--skip-sqlite]
    .venv/bin/python bench/dedupe.py --reuse --sqlite-path F [--postgres URL]   # re-time filled archives, no fill

Timed is the check archive.store_page makes for every page before it writes it, with
the functions the pipeline calls (nothing reimplemented): dedupe.signature() (MinHash
of the 3-grams, the figures) and archive._find_story() (exact-hash lookup, the LSH
band lookup in lsh_bands, verification of the candidates' signatures, and, when no
band candidate verifies, the figures' fact-pair lookup). The check writes nothing; each kind's
lookups run in one transaction rolled back afterwards, not one each: psycopg drops its prepared
statements at every ROLLBACK, while a crawler commits and keeps them, so rolling back each lookup
would charge PostgreSQL's planning to every one. Two kinds of incoming article:

* new     unseen texts (the eval corpus when present, else synthetic): the common case;
* repost  a stored article with a new lead, a cut ending and another byline: the
          band lookup finds it and the candidates are verified.

The archive is filled with bulk inserts (SQLite executemany, PostgreSQL COPY) of
realistic rows: ~1,000-character texts (text and text_normalized), titles, URLs,
dates over eight years, languages, stories, figures drawn from the same distribution
as the incoming articles' (so fact pairs collide as they do in practice), 32 band
rows per article plus its fact-pair rows, and its article_signatures row (story, source,
language, date, signature, figures: what store_page writes beside the article). A few thousand "anchor" articles get real
signatures of real or synthetic texts; the other rows get random MinHash signatures
(computing real ones costs ~3 ms an article: about an hour per 10^6) and random band
buckets (uniform 64-bit keys, as blake2b makes them), so the index has the same size and
the same spread of keys; what random signatures lack is the rare band that
unrelated real texts share, and the rate of those measured on the anchors is printed
so the missing candidates can be judged (the lookup stops at 200 of them anyway).

Timings run in a fresh child process against the filled database (warm OS cache,
like a crawler that has been running), so its RSS is what the check itself needs
(--quick times in the filling process: a second interpreter would cost more than the lookups).
Not a test: numbers depend on the machine and on whatever else runs on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wordbank import vocabulary  # noqa: E402

from chainwatch import archive, dedupe  # noqa: E402
from storage.db import open_database  # noqa: E402

SEED = 61
SOURCES = 200
START = datetime(2019, 1, 1, tzinfo=UTC)
END = datetime(2026, 11, 1, tzinfo=UTC)
EVAL_CORPUS = Path("/work/shared/eval/corpus/articles")
DEMO_ARTICLES = ROOT / "chainwatch" / "demosite" / "data" / "articles"
GOAL_MS = 5.0

# Figures as Chinese news writes them: round amounts most of the time, odd ones otherwise.
AMOUNTS = [1, 2, 3, 5, 8, 10, 15, 20, 30, 50, 80, 100, 150, 200, 300, 500, 1000, 2000]
PERCENTS = [3, 5, 6, 8, 10, 12, 15, 20, 25, 30, 50, 80]
COUNTS = [10, 20, 30, 50, 100, 120, 150, 200, 300, 500, 1000]
FACT_COUNT = ([0] * 15 + [1] * 12 + [2] * 13 + [3] * 18 + [4] * 15 + [5] * 12 + [6] * 8 + [8] * 7)


# --------------------------------------------------------------------------- texts


def figure(rnd: random.Random) -> str:
    r = rnd.random()
    if r < 0.45:
        v = rnd.choice(AMOUNTS) if rnd.random() < 0.6 else round(rnd.uniform(1, 999), 1)
        return f"{rnd.choice(('投资', '产值达到', '营业收入', '签约金额'))}{v:g}亿元"
    if r < 0.75:
        v = rnd.choice(PERCENTS) if rnd.random() < 0.6 else round(rnd.uniform(1, 60), 1)
        return f"{rnd.choice(('同比增长', '占比', '提高'))}{v:g}%"
    v = rnd.choice(COUNTS) if rnd.random() < 0.6 else rnd.randrange(100, 1000)
    return f"{rnd.choice(('规上企业', '入驻企业', '成员单位'))}{v}家"


@lru_cache(maxsize=100_000)
def figure_facts(fragment: str) -> tuple[str, ...]:
    return dedupe.fact_keys(fragment, "zh")


def filler_facts(rnd: random.Random) -> tuple[str, ...]:
    """What dedupe.fact_keys finds in an article with a typical number of figures."""
    keys: set[str] = set()
    for _ in range(rnd.choice(FACT_COUNT)):
        keys.update(figure_facts(figure(rnd)))
    return tuple(sorted(keys))


class Texts:
    """Synthetic Chinese news texts: jieba words at their frequencies, sentences, figures."""

    def __init__(self, seed: int) -> None:
        self.words, self.p = vocabulary()
        self.rng = np.random.default_rng(seed)
        self.rnd = random.Random(seed)

    def text(self, n_words: int = 420) -> str:
        idx = self.rng.choice(len(self.words), size=n_words, p=self.p)
        out: list[str] = []
        for i, j in enumerate(idx):
            out.append(self.words[j])
            if i % 13 == 12:
                out.append(figure(self.rnd) + "，" if self.rnd.random() < 0.25 else "，")
            if i % 40 == 39:
                out.append("。\n\n")
        return "".join(out) + "。"

    def title(self) -> str:
        return "".join(self.words[j] for j in self.rng.choice(len(self.words), size=7, p=self.p))


def real_texts() -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(language, title, body) of the eval corpus (unseen: "new") and of the demo sites (stored anchors)."""
    import yaml

    unseen = []
    if EVAL_CORPUS.is_dir():
        for p in sorted(EVAL_CORPUS.glob("*.json")):
            a = json.loads(p.read_text(encoding="utf-8"))
            if a.get("body"):
                unseen.append((a.get("lang") or "zh", a.get("title") or "", a["body"]))
    stored = []
    for p in sorted(DEMO_ARTICLES.glob("*.yaml")):
        for a in yaml.safe_load(p.read_text(encoding="utf-8")) or []:
            if a.get("body"):
                stored.append(("zh", str(a.get("title") or ""), str(a["body"])))
    return unseen, stored


def repost(rnd: random.Random, body: str) -> str:
    """Another site's copy: a new lead, the last tenth cut, another byline."""
    cut = body[: max(40, int(len(body) * 0.9))]
    lead = rnd.choice(("本网讯 据媒体报道，", "【转载】", "记者从有关部门获悉，"))
    return f"{lead}{cut}\n（来源：{rnd.choice(('新华网', '人民网', '大河网'))} 责任编辑：{rnd.choice('张王李赵刘')}某）"


@lru_cache(maxsize=2)
def plan(quick: bool, seed: int = SEED) -> dict:
    """Anchors (stored with real signatures) and the incoming articles, the same in parent and child."""
    texts = Texts(seed)
    rnd = random.Random(seed + 1)
    unseen_real, stored_real = real_texts()
    n_synth_anchors = 60 if quick else 2000
    n_queries = 30 if quick else 300
    anchors = [("zh", t, b) for _, t, b in stored_real]
    anchors += [("zh", texts.title(), texts.text()) for _ in range(n_synth_anchors)]
    new = [(lang, t, b) for lang, t, b in unseen_real][:n_queries]
    while len(new) < n_queries:
        new.append(("zh", texts.title(), texts.text()))
    reposts = [(lang, t, repost(rnd, b)) for lang, t, b in rnd.sample(anchors, n_queries)]
    return {"anchors": anchors, "new": new, "repost": reposts, "base": texts.text(40000)}


# --------------------------------------------------------------------------- filling


ARTICLE_COLS = ("id", "source_id", "url", "canonical_url", "final_url", "title", "published", "fetched_at",
                "language", "text", "text_normalized", "content_hash", "minhash", "facts", "story_id",
                "relevant")
STORY_COLS = ("id", "first_article_id", "title", "published", "article_count", "created_at")
SIGNATURE_COLS = ("article_id", "story_id", "source_id", "language", "published", "minhash", "facts")


def rows(first_id: int, last_id: int, anchors: list[tuple[str, str, str]], base: str, seed: int):
    """(stories, articles, signatures, bands) rows for ids first_id..last_id; ids 1..len(anchors) are the
    anchors. A signature row repeats its article's story, source, language prefix, date, MinHash and
    figures, as archive.store_page writes it."""
    rnd = random.Random(seed * 1_000_003 + first_id)
    rng = np.random.default_rng(seed * 1_000_003 + first_id)
    span = (END - START).total_seconds()
    n = last_id - first_id + 1
    minhashes = rng.integers(0, 2**32, size=(n, dedupe.NUM_PERM), dtype=np.uint32).astype("<u4")
    # A random signature's band buckets are uniform 64-bit keys, as blake2b makes them: drawn directly
    # (hashing 32 bands costs ~75 us an article); no incoming signature can hit them either way.
    buckets = rng.integers(-2**63, 2**63 - 1, size=(n, dedupe.BANDS), dtype=np.int64).tolist()
    band_ids = list(range(dedupe.BANDS))
    stories, arts, sigs, bands = [], [], [], []
    for i, aid in enumerate(range(first_id, last_id + 1)):
        published = START + timedelta(seconds=rnd.random() * span)
        src = 1 + aid % SOURCES
        if aid <= len(anchors):
            lang, title, text = anchors[aid - 1]
            sig = dedupe.signature(text, lang)
            content_hash, minhash, facts = sig.content_hash, sig.minhash, sig.facts
            published = END - timedelta(days=rnd.random() * 20)  # recent: reposts come within days
            keys = dedupe.band_buckets(minhash) if minhash else []
        else:
            r = rnd.random()
            lang = "zh" if r < 0.9 else "en" if r < 0.98 else "zh-Hant"
            off = rnd.randrange(len(base) - 2000)
            text = base[off: off + rnd.randrange(300, 1700)]
            title = base[off + 7: off + 7 + rnd.randrange(12, 30)]
            content_hash = hashlib.sha256(f"filler {aid}".encode()).hexdigest()
            minhash = minhashes[i].tobytes()
            facts = filler_facts(rnd)
            keys = list(zip(band_ids, buckets[i], strict=True))
        url = f"https://s{src}.example.cn/{published:%Y%m}/t{aid}.html"
        stories.append((aid, aid, title, published, 1, published))
        facts_json = json.dumps(list(facts)) if facts else None
        arts.append((aid, src, url, url, url, title, published, published, lang, text, text,
                     content_hash, minhash, facts_json, aid, True))
        sigs.append((aid, aid, src, lang[:2], published, minhash, facts_json))
        keys += dedupe.fact_pair_buckets(tuple(facts))
        bands.extend((b, k, aid) for b, k in dict.fromkeys(keys))
    return stories, arts, sigs, bands


def _sqlite_ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores DateTime on SQLite


class SqliteFiller:
    def __init__(self, url: str) -> None:
        self.path = url.split("///", 1)[1]
        self.conn = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=MEMORY", "synchronous=OFF", "cache_size=-2000000", "foreign_keys=OFF"):
            self.conn.execute(f"PRAGMA {pragma}")

    def write(self, stories, arts, sigs, bands) -> None:
        c = self.conn
        c.execute("BEGIN")
        c.executemany(f"INSERT INTO stories ({','.join(STORY_COLS)}) VALUES (?,?,?,?,?,?)",
                      [(s[0], s[1], s[2], _sqlite_ts(s[3]), s[4], _sqlite_ts(s[5])) for s in stories])
        c.executemany(f"INSERT INTO articles ({','.join(ARTICLE_COLS)}) VALUES ({','.join('?' * len(ARTICLE_COLS))})",
                      [(*a[:6], _sqlite_ts(a[6]), _sqlite_ts(a[7]), *a[8:]) for a in arts])
        c.executemany(f"INSERT INTO article_signatures ({','.join(SIGNATURE_COLS)}) VALUES (?,?,?,?,?,?,?)",
                      [(*g[:4], _sqlite_ts(g[4]), *g[5:]) for g in sigs])
        c.executemany("INSERT INTO lsh_bands (band, bucket, article_id) VALUES (?,?,?)", bands)
        c.execute("COMMIT")

    def sources(self) -> None:
        now = _sqlite_ts(datetime.now(UTC))
        self.conn.executemany(
            "INSERT INTO sources (id, key, name, home_url, strategy, listing_urls, allow_patterns, deny_patterns, "
            "enabled, discovery, created_at, updated_at) VALUES (?,?,?,?,'feed','[]','[]','[]',1,'{}',?,?)",
            [(i, f"src{i}", f"来源{i}", f"https://s{i}.example.cn/", now, now) for i in range(1, SOURCES + 1)])

    def finish(self) -> None:
        self.conn.execute("PRAGMA journal_mode=WAL")  # as chainwatch opens it

    def close(self) -> None:
        self.conn.close()


class PostgresFiller:
    """COPY with foreign-key triggers off (rows are consistent by construction) and lsh_bands' primary
    key dropped during the load and rebuilt after it: the same index, built by one sort."""

    def __init__(self, db) -> None:
        import psycopg

        self.conn = psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(False))
        with self.conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                        "WHERE conrelid = 'lsh_bands'::regclass AND contype = 'p'")
            self.pk = cur.fetchone()
        self.conn.commit()
        self.pk_dropped = False

    def _copy(self, cur, table: str, cols: tuple[str, ...], data) -> None:
        with cur.copy(f"COPY {table} ({','.join(cols)}) FROM STDIN") as cp:
            for r in data:
                cp.write_row(r)

    def write(self, stories, arts, sigs, bands) -> None:
        with self.conn.cursor() as cur:
            if not self.pk_dropped:
                cur.execute(f"ALTER TABLE lsh_bands DROP CONSTRAINT {self.pk[0]}")
                self.pk_dropped = True
            self._copy(cur, "stories", STORY_COLS, stories)
            self._copy(cur, "articles", ARTICLE_COLS, arts)
            self._copy(cur, "article_signatures", SIGNATURE_COLS, sigs)
            self._copy(cur, "lsh_bands", ("band", "bucket", "article_id"), bands)
        self.conn.commit()

    def sources(self) -> None:
        now = datetime.now(UTC)
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO sources (id, key, name, home_url, strategy, listing_urls, allow_patterns, deny_patterns,"
                " enabled, discovery, created_at, updated_at) VALUES (%s,%s,%s,%s,'feed','[]','[]','[]',true,'{}',"
                "%s,%s)", [(i, f"src{i}", f"来源{i}", f"https://s{i}.example.cn/", now, now)
                           for i in range(1, SOURCES + 1)])
        self.conn.commit()

    def finish(self) -> None:
        with self.conn.cursor() as cur:
            if self.pk_dropped:
                cur.execute(f"ALTER TABLE lsh_bands ADD CONSTRAINT {self.pk[0]} {self.pk[1]}")
                self.pk_dropped = False
            for table in ("articles", "stories", "sources"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        self.conn.commit()
        self.conn.autocommit = True
        with self.conn.cursor() as cur:  # what autovacuum would have done by the time the archive is this big
            cur.execute("VACUUM (ANALYZE) lsh_bands")
            cur.execute("VACUUM (ANALYZE) article_signatures")
            cur.execute("ANALYZE articles")
            cur.execute("ANALYZE stories")
        self.conn.autocommit = False

    def close(self) -> None:
        self.conn.close()


def db_size(db) -> int:
    from sqlalchemy import text

    if db.is_postgres:
        with db.engine.connect() as c:
            return int(c.scalar(text("SELECT pg_database_size(current_database())")))
    path = Path(db.url.split("///", 1)[1])
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def band_collision_rate(anchors: list[tuple[str, str, str]]) -> tuple[float, int]:
    """Share of unrelated anchor pairs that have a band in common (random signatures have none)."""
    seen: dict[tuple[int, int], list[int]] = {}
    for i, (lang, _, body) in enumerate(anchors):
        sig = dedupe.signature(body, lang)
        for key in sig.buckets():
            seen.setdefault(key, []).append(i)
    pairs = {(a, b) for ids in seen.values() for a in ids for b in ids if a < b}
    n = len(anchors)
    return len(pairs) / max(1, n * (n - 1) // 2), len(pairs)


# --------------------------------------------------------------------------- timing (child process)


def measure(url: str, quick: bool, budget: float) -> dict:
    from sqlalchemy.orm import Session

    p = plan(quick)
    db = open_database(url)
    rnd = random.Random(SEED + 2)
    out: dict = {}
    with db.engine.connect() as conn:
        session = Session(bind=conn)
        cpu_ms: list[float] = []

        def check(kind: str, lang: str, title: str, body: str) -> tuple[float, float, bool]:
            record = archive.PageRecord(
                source_id=None, url=f"https://incoming.example.cn/{kind}/{rnd.random()}.html",
                final_url="", title=title, text=body, text_normalized=body, language=lang,
                published=END - timedelta(days=rnd.random() * 10))
            record.final_url = record.url
            c0, t0 = time.process_time(), time.perf_counter()
            sig = dedupe.signature(record.text_normalized or record.text, record.language)
            t1 = time.perf_counter()
            match, _score = archive._find_story(session, record, sig)
            t2, c2 = time.perf_counter(), time.process_time()
            cpu_ms.append((c2 - c0) * 1000)
            return (t1 - t0) * 1000, (t2 - t1) * 1000, match is not None

        for kind in ("new", "repost"):  # warm-up: imports, statement caches, the connection
            for lang, title, body in p[kind][:3]:
                check(kind, lang, title, body)
        session.rollback()
        for kind in ("new", "repost"):
            cpu_ms.clear()
            sig_ms, look_ms, total, matched = [], [], [], 0
            started = time.perf_counter()
            for lang, title, body in p[kind]:
                a, b, m = check(kind, lang, title, body)
                sig_ms.append(a)
                look_ms.append(b)
                total.append(a + b)
                matched += m
                if len(total) >= 5 and time.perf_counter() - started > budget:
                    break  # a slow lookup at 10^6: a few tell enough
            session.rollback()
            out[kind] = {"n": len(total), "p50": statistics.median(total), "p95": p95(total),
                         "sig_p50": statistics.median(sig_ms), "lookup_p50": statistics.median(look_ms),
                         "lookup_p95": p95(look_ms), "matched": matched,
                         "cpu_p50": statistics.median(cpu_ms), "cpu_p95": p95(cpu_ms)}
        session.close()
    out["rss_mb"] = rss_mb()
    out["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.dispose()
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


# --------------------------------------------------------------------------- driver


def time_check(name: str, url: str, quick: bool, budget: float) -> dict:
    if quick:  # a second interpreter costs more than the smoke run's lookups; RSS then includes the fill
        return measure(url, quick, budget)
    child = subprocess.run([sys.executable, __file__, "--measure", url, "--budget", str(budget)],
                           capture_output=True, text=True)
    if child.returncode != 0:
        sys.stderr.write(child.stderr)
        sys.exit(f"{name}: timing run failed")
    return json.loads(child.stdout.strip().splitlines()[-1])


def run_backend(name: str, url: str, sizes: list[int], quick: bool, chunk: int, budget: float,
                reuse: bool = False) -> list[dict]:
    db = open_database(url, upgrade_schema=True)
    from sqlalchemy import text

    with db.engine.connect() as c:
        stored = c.scalar(text("SELECT count(*) FROM articles"))
    if reuse:  # an archive this script filled before (same seed, so the same anchors): time it as it is
        if not stored:
            sys.exit(f"{name}: --reuse, but {url} holds no articles")
        print(f"  {name}: reusing {stored:,} stored articles; timing the check...", file=sys.stderr, flush=True)
        m = time_check(name, url, quick, budget)
        m.update(backend=name, size=stored, db_mb=db_size(db) / 2**20, planned=len(plan(quick)["new"]))
        db.dispose()
        return [m]
    if stored:
        sys.exit(f"{name}: {url} already holds articles; give an empty scratch database (or --reuse it)")
    db.dispose()  # SQLite: the filler's connection changes the journal mode, which needs the file to itself
    p = plan(quick)
    anchors = p["anchors"]
    filler = PostgresFiller(db) if db.is_postgres else SqliteFiller(url)
    filler.sources()
    results, done, t_fill = [], 0, 0.0
    for size in sizes:
        t0 = time.perf_counter()
        while done < size:
            last = min(size, done + chunk)
            filler.write(*rows(done + 1, last, anchors, p["base"], SEED))
            done = last
            rate = done / (t_fill + time.perf_counter() - t0)
            print(f"\r  {name}: {done:,} articles stored ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
        filler.finish()
        t_fill += time.perf_counter() - t0
        print(f"\r  {name}: {done:,} articles stored in {t_fill:.0f} s; timing the check...",
              file=sys.stderr, flush=True)
        m = time_check(name, url, quick, budget)
        m.update(backend=name, size=size, db_mb=db_size(db) / 2**20, planned=len(p["new"]))
        results.append(m)
    filler.close()
    db.dispose()
    return results


def print_table(results: list[dict]) -> None:
    print(f"\n{'backend':9} {'stored':>9} {'kind':7} {'p50 ms':>7} {'p95 ms':>7} {'sig p50':>8} "
          f"{'lookup p50':>10} {'lookup p95':>10} {'CPU p50':>7} {'CPU p95':>7} {'matched':>8} {'RSS MB':>7} {'DB MB':>8}")
    for r in results:
        for kind in ("new", "repost"):
            k = r[kind]
            print(f"{r['backend']:9} {r['size']:>9,} {kind:7} {k['p50']:7.2f} {k['p95']:7.2f} {k['sig_p50']:8.2f} "
                  f"{k['lookup_p50']:10.2f} {k['lookup_p95']:10.2f} {k['cpu_p50']:7.2f} {k['cpu_p95']:7.2f} "
                  f"{k['matched']:>4}/{k['n']:<3} "
                  f"{r['rss_mb']:7.0f} {r['db_mb']:8,.0f}")
    worst = max(r[k]["p95"] for r in results for k in ("new", "repost"))
    worst_cpu = max(r[k]["cpu_p95"] for r in results for k in ("new", "repost"))
    print(f"goal: < {GOAL_MS:g} ms per article, flat with the archive's size; worst p95 {worst:.2f} ms "
          f"-> {'OK' if worst < GOAL_MS else 'SLOW'} (CPU p95 {worst_cpu:.2f} ms)")
    print("ms columns are wall-clock; CPU = this process's CPU time per check (SQLite's work included, "
          "PostgreSQL's server time not), the figure to read on a machine busy with other work")
    if any(r[k]["n"] < len_planned for r in results for k in ("new", "repost") for len_planned in [r["planned"]]):
        print("(n below the planned count: the time budget per kind ran out)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^3 and 10^4 stored articles, fewer lookups (< 30 s)")
    ap.add_argument("--sizes", help="comma-separated archive sizes (default 100000,1000000)")
    ap.add_argument("--postgres", metavar="URL", help="also fill and time this EMPTY PostgreSQL database")
    ap.add_argument("--skip-sqlite", action="store_true")
    ap.add_argument("--sqlite-path", help="default: a temporary file, deleted afterwards")
    ap.add_argument("--reuse", action="store_true",
                    help="time the archives an earlier run filled (--sqlite-path, --postgres; same --quick), no filling")
    ap.add_argument("--chunk", type=int, default=50_000, help="articles per bulk insert")
    ap.add_argument("--budget", type=float, help="seconds of lookups per kind, at least 5 (default 60; quick 4)")
    ap.add_argument("--measure", metavar="URL", help=argparse.SUPPRESS)  # the child process
    args = ap.parse_args()
    budget = args.budget or (4.0 if args.quick else 60.0)
    if args.measure:
        print(json.dumps(measure(args.measure, args.quick, budget)))
        return
    sizes = [int(s) for s in (args.sizes or ("1000,10000" if args.quick else "100000,1000000")).split(",")]
    print(f"dedupe check, archive sizes {', '.join(f'{s:,}' for s in sizes)}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", file=sys.stderr)
    t = time.perf_counter()
    p = plan(args.quick)
    sig_times = []
    for lang, _, body in p["new"][:50]:
        s = time.perf_counter()
        dedupe.signature(body, lang)
        sig_times.append(time.perf_counter() - s)
    per_sig = statistics.median(sig_times)
    rate, pairs = band_collision_rate(p["anchors"])
    results: list[dict] = []
    tmp = None
    if args.reuse and not args.skip_sqlite and not args.sqlite_path:
        sys.exit("--reuse needs --sqlite-path (or --skip-sqlite)")
    if not args.skip_sqlite:
        if args.sqlite_path:
            path = Path(args.sqlite_path)
        else:
            tmp = tempfile.TemporaryDirectory(prefix="cw-dedupe-")
            path = Path(tmp.name) / "bench.sqlite3"
        results += run_backend("sqlite", f"sqlite:///{path}", sizes, args.quick, args.chunk, budget, args.reuse)
        if tmp:
            tmp.cleanup()
    if args.postgres:
        results += run_backend("postgres", args.postgres, sizes, args.quick, args.chunk, budget, args.reuse)
    print(f"\nnear-duplicate check (dedupe.signature + archive._find_story), "
          f"up to {len(p['new'])} new + {len(p['repost'])} repost articles per size")
    print(f"stored rows: {len(p['anchors'])} anchors with real signatures, the rest random signatures "
          f"(a real one costs {per_sig * 1000:.1f} ms: {per_sig * max(sizes) / 60:.0f} min for {max(sizes):,}); "
          f"band collisions between unrelated anchors: {rate:.2e} of pairs ({pairs}), i.e. ~{rate * max(sizes):.1f} "
          f"extra candidates per lookup at {max(sizes):,} that random rows do not produce")
    print_table(results)
    print(f"RSS: the timing process after its lookups{' (--quick: this process, fill included)' if args.quick else ''}; "
          f"DB: file (+WAL) / pg_database_size. "
          f"Total {time.perf_counter() - t:.0f} s, load average now {os.getloadavg()[0]:.1f}.")


if __name__ == "__main__":
    main()
