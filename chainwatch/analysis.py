"""Tagging outside the crawl: ``analyze`` one page, ``retag`` the archive after rules change."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chainwatch.archive import save_analysis
from chainwatch.config import Config
from chainwatch.netguard import check_url
from chainwatch.search import index_article
from crawler.items import PageItem
from crawler.pipelines import CHINA, build_record
from storage.db import Database
from storage.models import Article, Source


def analyze_page(config: Config, target: str) -> dict[str, Any]:
    """Extraction and tagging of one saved HTML file or URL, as the crawler would do them."""
    from tagging import Tagger

    if target.startswith(("http://", "https://")):
        check_url(target, allow_private=config.allow_private_networks)
        req = urllib.request.Request(target, headers={"User-Agent": config.user_agent})
        with urllib.request.urlopen(req, timeout=config.crawl.download_timeout) as resp:  # one page, not a crawl
            body = resp.read(config.crawl.max_page_bytes)
            ctype = resp.headers.get("Content-Type")
            final = resp.geturl()
    else:
        body, ctype, final = Path(target).read_bytes(), None, Path(target).resolve().as_uri()
    item = PageItem(source_id=0, source_key="", url=final, final_url=final, body=body, content_type=ctype)
    record = build_record(item)
    published = record.published.astimezone(CHINA).date() if record.published else None
    analysis = Tagger.default().analyze(record.title, record.text_normalized, language=record.language,
                                        published=published)
    return {"url": final, "title": record.title, "published": published.isoformat() if published else None,
            "language": record.language, "author": record.author, "length": len(record.text),
            "text": record.text, "analysis": analysis.to_dict()}


def retag(db: Database, since: datetime | None = None, batch: int = 200,
          progress: Callable[[int, int], None] | None = None) -> int:
    """Re-run the tagger over stored articles (all, or fetched since ``since``); returns the count."""
    from tagging import Tagger

    tagger = Tagger.default()
    stmt = select(Article.id).order_by(Article.id)
    if since is not None:
        stmt = stmt.where(Article.fetched_at >= since)
    with db.session() as s:
        ids = list(s.scalars(stmt))
    done = 0
    for i in range(0, len(ids), batch):
        chunk = ids[i : i + batch]

        def work(s: Any, chunk: list[int] = chunk) -> None:
            for art in s.scalars(select(Article).where(Article.id.in_(chunk))):
                region = s.scalar(select(Source.region_code).where(Source.id == art.source_id))
                published = art.published.astimezone(CHINA).date() if art.published else None
                analysis = tagger.analyze(art.title, art.text_normalized, language=art.language,
                                          published=published, source_region=region)
                save_analysis(s, art, analysis)
                index_article(s, art)  # the search filters are words in the index: keep them in step

        db.run(work)
        done += len(chunk)
        if progress:
            progress(done, len(ids))
    return done



