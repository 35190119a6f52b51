"""Downloader middlewares: network guard, retries with backoff, redirect loops. All async."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import socket
from datetime import UTC, datetime
from typing import Any

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response

from chainwatch.netguard import UnsafeURLError, check_addresses, check_scheme, literal_address
from crawler.resources import allow_private_networks

log = logging.getLogger(__name__)


class NetGuardMiddleware:
    """Refuses requests (redirect targets included) to loopback, private, link-local or metadata
    addresses unless the configuration allows private networks."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self._checked: dict[str, str | None] = {}  # host -> refusal message or None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NetGuardMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        if allow_private_networks(self.crawler):
            return None
        try:
            host = check_scheme(request.url)
        except UnsafeURLError as exc:
            raise IgnoreRequest(str(exc)) from None
        if host not in self._checked:
            self._checked[host] = await self._check_host(host)
        if self._checked[host]:
            raise IgnoreRequest(self._checked[host])
        return None

    async def _check_host(self, host: str) -> str | None:
        try:
            addresses = literal_address(host)
            if not addresses:
                infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
                addresses = sorted({i[4][0] for i in infos})
            check_addresses(host, addresses, allow_private=False)
        except UnsafeURLError as exc:
            return str(exc)
        except OSError:
            return None  # unresolvable: let the downloader report the DNS error
        return None


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retries, spaced out: exponential backoff with jitter, or the server's Retry-After."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("CHAINWATCH_RETRY_BACKOFF_BASE", 1.0)
        self.cap = settings.getfloat("CHAINWATCH_RETRY_BACKOFF_MAX", 60.0)

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop("cw_retry_delay", None)
        if delay:
            await asyncio.sleep(delay)
        return None

    def process_response(self, request: Request, response: Response, spider: Any = None) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request):
            result.meta["cw_retry_delay"] = self._delay(result, response.headers.get(b"Retry-After"))
        return result

    def process_exception(self, request: Request, exception: Exception, spider: Any = None) -> Any:
        if "timeout" in type(exception).__name__.lower():
            # A page that hung for the whole download timeout will likely hang again now; the next
            # crawl retries it (url_states 'failed'), which is the politer backoff.
            return None
        result = super().process_exception(request, exception)
        if isinstance(result, Request):
            result.meta["cw_retry_delay"] = self._delay(result, None)
        return result

    def _delay(self, request: Request, retry_after: bytes | None) -> float:
        if retry_after:
            seconds = parse_retry_after(retry_after.decode("latin-1"))
            if seconds is not None:
                return min(seconds, self.cap)
        attempt = request.meta.get("retry_times", 1)
        return min(self.cap, self.base * (2 ** (attempt - 1))) * random.uniform(0.8, 1.2)


def parse_retry_after(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class LoopAwareRedirectMiddleware(RedirectMiddleware):
    """Scrapy's redirects, with a loop (A → B → A) reported as such (otherwise the duplicate
    filter drops the second A silently and the source's errors never show it), and an article
    redirect that lands on an article already stored not followed."""

    async def process_response(self, request: Request, response: Response, spider: Any = None) -> Any:
        result = super().process_response(request, response)
        if isinstance(result, Request) and request.meta.get("article"):
            from chainwatch.archive import known_urls
            from crawler.resources import resources

            res = resources(self.crawler)
            known = await res.in_db(res.db.run, lambda s: known_urls(s, [result.url]))
            if known:
                raise IgnoreRequest(f"redirects to an article already stored: {result.url}")
        return result

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        seen = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in seen:
            chain = " → ".join([*seen, redirected.url])
            raise IgnoreRequest(f"redirect loop: {chain}")
        return super()._redirect(redirected, request, reason)
