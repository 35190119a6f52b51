"""The benchmark scripts still run: each ``bench/*.py --quick`` exits 0 and prints its table.

They assert nothing about the figures (those depend on the machine); this only keeps them from
rotting. Deselect with ``-m "not slow"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


def run_bench(script: str, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHAINWATCH_")}
    return subprocess.run([sys.executable, str(REPO / "bench" / script), *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_crawl_benchmark_quick() -> None:
    proc = run_bench("crawl.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "crawl benchmark: 300 article pages" in out
    assert "plain Scrapy" in out and "chainwatch pipeline" in out
    assert "ratio pipeline/plain" in out and "peak" in out


def test_dedupe_benchmark_quick() -> None:
    proc = run_bench("dedupe.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "p50 ms" in out and "lookup p50" in out and "RSS MB" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("sqlite ")]
    assert {(cols[1], cols[2]) for cols in lines} == {
        (size, kind) for size in ("1,000", "10,000") for kind in ("new", "repost")}
    assert "goal: < 5 ms per article" in out


def test_search_benchmark_quick() -> None:
    proc = run_bench("search.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "sqlite, 5,000 articles" in out
    assert "p50 ms" in out and "p95 ms" in out
    assert any(line.startswith("ALL ") for line in out.splitlines())


def test_digest_benchmark_quick() -> None:
    proc = run_bench("digest.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "seeded 1000 articles" in out
    assert "built 10 digests" in out and "(goal < 5 s)" in out
    assert "rendered them" in out


def test_tagging_benchmark_quick() -> None:
    proc = run_bench("tagging.py", "--quick")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert "x 2 rounds" in out
    assert "per article: mean" in out and "p95" in out
    assert "articles/s per core" in out
