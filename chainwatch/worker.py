"""Child-process entry point for Scrapy work started by long-lived processes.

    echo '[{"url": "https://example.gov.cn/"}]' | python -m chainwatch.worker discover

prints a JSON list of discovery reports on stdout (logs go to stderr).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from chainwatch.config import load_config


def discover(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from scrapy.crawler import CrawlerProcess

    from chainwatch.crawling import scrapy_settings
    from spiders.discover import DiscoverySpider

    config = load_config()
    settings = scrapy_settings(config, LOG_LEVEL="ERROR", ITEM_PIPELINES={}, EXTENSIONS={},
                               AUTOTHROTTLE_ENABLED=False, DOWNLOAD_TIMEOUT=min(config.crawl.download_timeout, 20),
                               RETRY_TIMES=1)
    process = CrawlerProcess(settings)
    crawlers = []
    for req in requests:
        crawler = process.create_crawler(DiscoverySpider)
        kwargs = {k: v for k, v in req.items() if v not in (None, [], "")}
        process.crawl(crawler, **kwargs)
        crawlers.append(crawler)
    process.start()
    return [c.spider.report.to_dict() if c.spider else {"url": r.get("url"), "errors": ["discovery did not run"]}
            for c, r in zip(crawlers, requests, strict=True)]


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if argv[:1] == ["discover"]:
        requests = json.loads(sys.stdin.read() or "[]")
        json.dump(discover(requests), sys.stdout, ensure_ascii=False, default=str)
        return 0
    print("usage: python -m chainwatch.worker discover < requests.json", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
