"""Scrapy's caching DNS resolver, refusing the server's own network at connection time.

NetGuardMiddleware checks a request's host before it is sent, with a lookup of its own;
the connection then resolves the name again. A hostile name server can answer a public
address to the first lookup and 127.0.0.1 to the second (DNS rebinding). Checking the
address the connection is about to use closes that gap; the middleware still gives the
clear per-request message in the ordinary case.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scrapy.crawler import Crawler
from scrapy.resolver import CachingThreadedResolver
from twisted.internet.defer import Deferred
from twisted.internet.error import DNSLookupError

from chainwatch.netguard import forbidden_reason


def _allow_private(settings: Any) -> bool:
    # Scrapy builds resolvers from the CrawlerProcess, which has settings but no crawler resources.
    if settings.get("CHAINWATCH_ALLOW_PRIVATE_NETWORKS") is None:
        from chainwatch.config import load_config

        return load_config().allow_private_networks
    return settings.getbool("CHAINWATCH_ALLOW_PRIVATE_NETWORKS")


class GuardedResolver(CachingThreadedResolver):
    def __init__(self, reactor: Any, cache_size: int, timeout: float, allow_private: bool = False) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.allow_private = allow_private

    @classmethod
    def from_crawler(cls, crawler: Crawler, reactor: Any) -> GuardedResolver:
        cache_size = crawler.settings.getint("DNSCACHE_SIZE") if crawler.settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, crawler.settings.getfloat("DNS_TIMEOUT"), _allow_private(crawler.settings))

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:
        d = super().getHostByName(name, timeout)
        if not self.allow_private:
            d.addCallback(self._refuse_forbidden, name)
        return d

    @staticmethod
    def _refuse_forbidden(address: str, name: str) -> str:
        reason = forbidden_reason(address)
        if reason:
            raise DNSLookupError(f"{name} resolved to {address}, {reason}, when connecting; refused "
                                 "(allow_private_networks is off)")
        return address
