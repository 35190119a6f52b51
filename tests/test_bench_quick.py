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

