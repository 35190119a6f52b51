"""Run the shared extraction benchmark for chainwatch's extractor and the two baselines.

    .venv/bin/python bench/extraction.py            # all 407 pages, ~2-3 min per extractor
    .venv/bin/python bench/extraction.py --quick    # 5 pages per dataset: a CI smoke run

Each extractor runs in its own measure.py process (as the benchmark README
does), so one extractor's caches do not speed up or slow down another.  The
summary table lists Chinese (pooled) F1, all-pages F1, date accuracy and
pages/s; measure.py's full tables are printed with --verbose.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BENCH = Path(os.environ.get("CHAINWATCH_EXTRACTION_BENCH", "/work/shared/benchmarks/extraction"))
EXTRACTORS: dict[str, str] = {
    "chainwatch": "crawler.extraction:extract",
    "readability": "baselines:readability_extract",
    "trafilatura": "baselines:trafilatura_extract",
}


def run_one(bench: Path, spec: str, limit: int, verbose: bool) -> dict[str, dict[str, float]]:
    """Run measure.py for one extractor and return its aggregate groups."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out = Path(fh.name)
    cmd = [sys.executable, "measure.py", "run", "-e", spec, "--path", str(REPO), "--json", str(out)]
    if limit:
        cmd += ["--limit", str(limit)]
    proc = subprocess.run(cmd, cwd=bench, capture_output=True, text=True, check=False)
    if verbose or proc.returncode:
        print(proc.stdout, proc.stderr, sep="\n", file=sys.stderr)
    if proc.returncode:
        raise SystemExit(f"measure.py failed for {spec} (exit {proc.returncode})")
    try:
        return json.loads(out.read_text(encoding="utf-8"))["results"][spec]
    finally:
        out.unlink(missing_ok=True)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary_row(name: str, groups: dict[str, dict[str, float]]) -> str:
    zh = groups.get("ALL/zh", {})
    everything = groups.get("ALL/all", {})
    return (
        f"{name:<12} {_fmt(zh.get('f1')):>7} {_fmt(everything.get('f1')):>7} "
        f"{_fmt(everything.get('date_acc')):>8} {_fmt(everything.get('pages_per_s'), 1):>8} "
        f"{everything.get('n', 0):>5}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="5 pages per dataset (smoke test)")
    ap.add_argument("--bench", type=Path, default=DEFAULT_BENCH, help="folder holding measure.py")
    ap.add_argument("--only", choices=sorted(EXTRACTORS), action="append", help="run only these extractors")
    ap.add_argument("--verbose", "-v", action="store_true", help="print measure.py's own tables")
    args = ap.parse_args(argv)
    if not (args.bench / "measure.py").is_file():
        print(f"no measure.py under {args.bench}", file=sys.stderr)
        return 2
    limit = 5 if args.quick else 0
    print(f"{'extractor':<12} {'zh F1':>7} {'all F1':>7} {'date acc':>8} {'pages/s':>8} {'n':>5}")
    for name in args.only or list(EXTRACTORS):
        print(summary_row(name, run_one(args.bench, EXTRACTORS[name], limit, args.verbose)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
