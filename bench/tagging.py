#!/usr/bin/env python3
"""Tagging speed: load time, ms per article (mean, p95) and articles/s on one core.

    python bench/tagging.py [CORPUS_DIR] [--rounds N]
    python bench/tagging.py --quick      # 2 rounds: a smoke run

Reads the articles (title + body) of an evaluation corpus, normalised as the crawler does;
without a corpus it uses a few built-in texts. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SAMPLES = [
    ("zh", "某市：到2025年新能源汽车产业产值突破1000亿元",
     "据报道，某市日前出台新能源汽车产业三年行动方案。\n\n2021年，全市汽车产业产值达到1760亿元。\n\n"
     "方案提出，到2025年，全市新能源汽车产业产值突破1000亿元，动力电池产能达到50GWh。" * 3),
    ("en", "Wuhan intelligent connected vehicle industry alliance was established",
     "On October 31, wuhan intelligent connected vehicle industry alliance was established. "
     "By 2025, wuhan strives to reach an industry scale of more than 100 billion yuan. " * 5),
]


def load(corpus: Path | None) -> list[tuple[str, str, str, dt.date | None]]:
    from tagging.normalize import normalize_text

    if corpus is None or not (corpus / "articles").is_dir():
        return [(lang, t, b, dt.date(2022, 11, 1)) for lang, t, b in SAMPLES]
    out = []
    for p in sorted((corpus / "articles").glob("*.json")):
        a = json.loads(p.read_text(encoding="utf-8"))
        lang = a.get("lang") or "zh"
        pub = dt.date.fromisoformat(str(a["published"])[:10]) if a.get("published") else None
        out.append((lang, normalize_text(a.get("title") or "", lang), normalize_text(a.get("body") or "", lang), pub))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus", nargs="?", default="/work/shared/eval/corpus")
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--quick", action="store_true", help="2 rounds (a smoke run)")
    args = ap.parse_args()
    if args.quick:
        args.rounds = 2
    t0 = time.perf_counter()
    from tagging import Tagger

    tagger = Tagger.default()
    load_s = time.perf_counter() - t0
    docs = load(Path(args.corpus) if args.corpus else None)
    for lang, title, body, pub in docs:  # warm-up
        tagger.analyze(title, body, language=lang, published=pub)
    times: list[float] = []
    start = time.process_time()
    for _ in range(args.rounds):
        for lang, title, body, pub in docs:
            s = time.perf_counter()
            tagger.analyze(title, body, language=lang, published=pub)
            times.append(time.perf_counter() - s)
    cpu = time.process_time() - start
    times.sort()
    chars = sum(len(b) for _, _, b, _ in docs) / len(docs)
    print(f"load (gazetteer, taxonomy, rules): {load_s * 1000:.0f} ms")
    print(f"articles: {len(docs)} x {args.rounds} rounds, mean body {chars:.0f} chars")
    print(f"per article: mean {statistics.mean(times) * 1000:.2f} ms, median {times[len(times) // 2] * 1000:.2f} ms, "
          f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms, max {times[-1] * 1000:.2f} ms")
    print(f"throughput: {len(times) / cpu:.0f} articles/s per core (CPU time)")


if __name__ == "__main__":
    main()
