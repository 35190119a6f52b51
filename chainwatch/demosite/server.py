"""DemoWeb: chainwatch's own demo websites, each on its own loopback port, in background threads."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from chainwatch.demosite.content import load_content
from chainwatch.demosite.handler import SiteServer
from chainwatch.demosite.models import ArticleInfo, SiteInfo
from chainwatch.demosite.render import SiteRenderer, SiteState, make_env

# request headers copied into each access-log entry, as snake_case keys
HEADERS_OF_INTEREST = ("If-None-Match", "If-Modified-Since", "Accept-Encoding", "Referer", "Range")
LOG_KEEP = 200_000  # entries kept in memory for requests(); the access_log file keeps all


class DemoWeb:
    """Serve the packaged (or given) demo content as several sites on `host`.

    `now` hides articles published after that date everywhere (their URLs answer 404);
    `set_now()` moves it at runtime. `faults=True` adds misbehaving pages (see faults.py).
    """

    def __init__(self, content_dir: Path | None = None, host: str = "127.0.0.1", base_port: int = 0,
                 now: dt.date | None = None, faults: bool = False, hang_seconds: float = 30.0,
                 access_log: Path | None = None, latency_ms: int = 0, endless_seconds: float = 60.0) -> None:
        self.content = load_content(content_dir)
        self.env = make_env(content_dir)
        self.host = host
        self.base_port = base_port
        self.now = now
        self.faults = faults
        self.hang_seconds = hang_seconds
        self.latency_ms = latency_ms
        self.endless_seconds = endless_seconds
        self.access_log = Path(access_log) if access_log else None
        self.stopping = threading.Event()
        self._servers: dict[str, SiteServer] = {}
        self._threads: list[threading.Thread] = []
        self._renderers: dict[str, SiteRenderer] = {}
        self._states: dict[str, SiteState] = {}
        self._infos: dict[str, SiteInfo] = {}
        self._render_lock = threading.Lock()
        self._counters: dict[tuple[str, str], int] = {}
        self._counter_lock = threading.Lock()
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_KEEP)
        self._log_lock = threading.Lock()
        self._log_file: IO[str] | None = None

    # --- life cycle ------------------------------------------------------------------------------
    def start(self) -> DemoWeb:
        """Bind every site, render its pages, and serve in daemon threads. Returns at once."""
        if self._servers:
            raise RuntimeError("DemoWeb already started")
        self.stopping.clear()
        try:
            for index, site in enumerate(self.content.sites):
                port = self.base_port + index if self.base_port else 0
                server = SiteServer((self.host, port), self, site.key, site.server)
                self._servers[site.key] = server
                url = f"http://{self.host}:{server.server_address[1]}/"
                self._renderers[site.key] = SiteRenderer(self.env, site, self.content.articles[site.key], url,
                                                         self.content.faults)
                self._infos[site.key] = SiteInfo(
                    key=site.key, name=site.name, url=url, lang=site.lang,
                    feed_url=url + site.feed.path.lstrip("/") if site.feed else None,
                    sitemap_url=url + site.sitemap.path.lstrip("/") if site.sitemap else None,
                    encoding=site.encoding, region_code=site.region_code)
            self._render_all()
            if self.access_log:
                self.access_log.parent.mkdir(parents=True, exist_ok=True)
                self._log_file = self.access_log.open("a", encoding="utf-8")
            for key, server in self._servers.items():
                thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                          name=f"demosite-{key}", daemon=True)
                thread.start()
                self._threads.append(thread)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop serving; hanging and endless answers end at once. Safe to call twice."""
        self.stopping.set()
        for server, thread in zip(self._servers.values(), self._threads, strict=False):
            if thread.is_alive():
                server.shutdown()
        for server in self._servers.values():
            server.server_close()
            server.drop_connections()
        for thread in self._threads:
            thread.join(timeout=5)
        self._servers.clear()
        self._threads.clear()
        with self._log_lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> DemoWeb:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- what is served --------------------------------------------------------------------------
    @property
    def sites(self) -> list[SiteInfo]:
        self._require_started()
        return list(self._infos.values())

    def site(self, key: str) -> SiteInfo:
        self._require_started()
        try:
            return self._infos[key]
        except KeyError:
            raise KeyError(f"no demo site {key!r}; sites: {', '.join(self._infos)}") from None

    def set_now(self, now: dt.date | None) -> None:
        """Move the clock: pages are re-rendered, newly published articles appear (or vanish)."""
        self.now = now
        if self._renderers:
            self._render_all()

    def state(self, key: str) -> SiteState:
        return self._states[key]

    def articles(self, site_key: str | None = None) -> list[ArticleInfo]:
        """The articles visible now, newest first per site: the fixture's ground truth."""
        self._require_started()
        by_ref = {a.ref: (key, a) for key, state in self._states.items() for a in state.visible}
        out = []
        for key, state in self._states.items():
            if site_key not in (None, key):
                continue
            for art in state.visible:
                original = by_ref.get(art.duplicate_of or "")
                out.append(ArticleInfo(
                    site=key, id=art.id, url=self._abs(key, art.path), title=art.title, published=art.published,
                    kind=art.kind, regions=art.regions,
                    duplicate_of=self._abs(original[0], original[1].path) if original else None,
                    alliances=tuple({k: str(v) for k, v in item.items()} for item in art.extra.get("alliances", []))))
        return out

    def fault_urls(self, site_key: str) -> dict[str, str]:
        """Fault name -> absolute URL (empty without faults): flaky, busy, target, hang, truncated, pdf,
        charset, hop1..hop3, loop1, loop2, empty, bomb, endless."""
        self._require_started()
        if not self.faults:
            return {}
        return {name: self._abs(site_key, path) for name, path in self._states[site_key].fault_paths.items()}

    def trap_url(self, site_key: str) -> str | None:
        """The page under a robots.txt-disallowed prefix that a polite crawler never fetches."""
        trap = next(s.trap for s in self.content.sites if s.key == site_key)
        return self._abs(site_key, trap) if trap else None

    def _abs(self, key: str, path: str) -> str:
        return self._infos[key].url + path.lstrip("/")

    def _render_all(self) -> None:
        with self._render_lock:
            states = {key: r.build(self.now, self.faults) for key, r in self._renderers.items()}
            self._states.update(states)

    def _require_started(self) -> None:
        if not self._infos:
            raise RuntimeError("DemoWeb is not started: call start() or use it as a context manager")

    # --- bookkeeping the handler uses ------------------------------------------------------------
    def bump(self, key: str, path: str) -> int:
        """Count a request to a stateful fault page; returns the count including this one."""
        with self._counter_lock:
            count = self._counters.get((key, path), 0) + 1
            self._counters[(key, path)] = count
            return count

    def record(self, key: str, arrived: float, method: str, path: str, query: str, status: int, sent: int,
               headers: dict[str, str], error: str | None) -> dict[str, Any]:
        now = dt.datetime.now(dt.UTC).timestamp()
        lower = {k.lower(): v for k, v in headers.items()}
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(arrived, dt.UTC).isoformat(timespec="milliseconds"),
            "ts": round(arrived, 3), "site": key, "method": method, "path": path, "query": query,
            "status": status, "ua": lower.get("user-agent", ""), "bytes": sent,
            "ms": round((now - arrived) * 1000, 1),
        }
        for name in HEADERS_OF_INTEREST:
            entry[name.lower().replace("-", "_")] = lower.get(name.lower())
        if error:
            entry["error"] = error
        with self._log_lock:
            self._log.append(entry)
            if self._log_file is not None:
                self._log_file.write(json.dumps(entry, ensure_ascii=False) + "\n")
                self._log_file.flush()
        return entry

    def requests(self, site_key: str | None = None) -> list[dict[str, Any]]:
        """The in-memory access log, oldest first (each entry a copy)."""
        with self._log_lock:
            return [dict(e) for e in self._log if site_key in (None, e["site"])]

    def clear_requests(self) -> None:
        with self._log_lock:
            self._log.clear()

    def __iter__(self) -> Iterator[SiteInfo]:
        return iter(self.sites)
