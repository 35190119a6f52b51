"""`python -m chainwatch.demosite`: serve the demo sites in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import datetime as dt
import signal
import sys
import threading
from pathlib import Path

from chainwatch.demosite.server import DemoWeb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chainwatch.demosite", description=__doc__)
    parser.add_argument("--port-base", type=int, default=0, help="site i listens on N+i (default: free ports)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--faults", action="store_true", help="add the fault pages")
    parser.add_argument("--now", type=dt.date.fromisoformat, help="hide articles published after YYYY-MM-DD")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--access-log", type=Path, help="append one JSON line per request")
    parser.add_argument("--content-dir", type=Path, help="sites.yaml + articles/ (default: the packaged demo)")
    args = parser.parse_args(argv)

    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    web = DemoWeb(content_dir=args.content_dir, host=args.host, base_port=args.port_base, now=args.now,
                  faults=args.faults, hang_seconds=args.hang_seconds, access_log=args.access_log,
                  latency_ms=args.latency_ms)
    with web:
        for site in web.sites:
            print(site.key, site.url, flush=True)
        while not done.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
