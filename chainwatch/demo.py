"""The demo: the whole job on the embedded default, with no internet and no configuration.

Serves the bundled demo sites on loopback, adds them as sources (discovery), crawls
them, tags the articles and writes a digest preview, printing where everything is.
The demo keeps its own archive under ``CHAINWATCH_HOME/demo`` so it never mixes
with a team's real sources; running it again crawls incrementally.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from sqlalchemy import func, select

from chainwatch.config import Config
from chainwatch.context import AppContext
from storage.models import Article, Event, Source, Story


def demo_config(config: Config) -> Config:
    home = config.home / "demo"
    return replace(config, home=home, database_url=f"sqlite:///{home / 'chainwatch.sqlite3'}",
                   allow_private_networks=True)  # the demo sites live on loopback


def run_demo(config: Config, base_port: int = 8710, keep_serving: bool = False,
             echo: Callable[[str], None] = print) -> Path | None:
    from chainwatch.crawling import run_crawl
    from chainwatch.demosite import DemoWeb
    from chainwatch.sources import save_source, test_sources

    cfg = demo_config(config)
    cfg.home.mkdir(parents=True, exist_ok=True)
    app = AppContext(config=cfg)
    started = time.monotonic()
    echo(f"chainwatch demo — archive: {cfg.database_url.removeprefix('sqlite:///')}")
    with DemoWeb(base_port=base_port) as web:
        echo(f"serving {len(web.sites)} demo sites on 127.0.0.1:")
        for site in web.sites:
            echo(f"  {site.key:<10} {site.url}  {site.name}")
        with app.db.session() as s:
            known = set(s.scalars(select(Source.home_url)))
        missing = [site for site in web.sites if site.url not in known]
        if missing:
            echo(f"discovering how to crawl {len(missing)} sites …")
            reports = test_sources(app, [(site.url, {"name": site.name}) for site in missing])
            for site, report in zip(missing, reports, strict=True):
                if not report.usable:
                    echo(f"  {site.key}: nothing found ({'; '.join(report.errors)})")
                    continue
                save_source(app.db, site.url, report, key=site.key, name=site.name,
                            region_code=site.region_code)
                echo(f"  {site.key}: {report.strategy}, {len(report.links_found)} article links")
        echo("crawling …")
        summary = run_crawl(app, progress=True)
        from chainwatch.cli.crawling import print_summary

        print_summary(summary)
        _print_archive(app, echo)
        preview = _write_preview(app, echo)
        echo(f"done in {time.monotonic() - started:.0f} s.")
        echo("next: browse it with "
             f"CHAINWATCH_HOME={cfg.home} chainwatch web   (after: chainwatch users add NAME --admin)")
        if keep_serving:
            echo("demo sites stay up; Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return preview


def _print_archive(app: AppContext, echo: Callable[[str], None]) -> None:
    with app.db.session() as s:
        articles = s.scalar(select(func.count()).select_from(Article)) or 0
        relevant = s.scalar(select(func.count()).select_from(Article).where(Article.relevant.is_(True))) or 0
        stories = s.scalar(select(func.count()).select_from(Story)) or 0
        by_type = dict(s.execute(select(Event.type, func.count()).group_by(Event.type)).all())
    echo(f"archive: {articles} articles in {stories} stories; {relevant} relevant; "
         f"{by_type.get('alliance', 0)} new alliances, {by_type.get('target', 0)} targets, "
         f"{by_type.get('chain_chief', 0)} chain-chief items")


def _write_preview(app: AppContext, echo: Callable[[str], None]) -> Path | None:
    try:
        from digests.service import latest_period_with_content, preview
    except ImportError:
        echo("(digests are not built into this version)")
        return None
    period = latest_period_with_content(app)
    if period is None:
        echo("no relevant articles yet, so no digest preview")
        return None
    path = preview(app, period=period)
    echo(f"digest preview for {period}: {path}")
    return path
