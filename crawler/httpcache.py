"""HTTP caching for the pages chainwatch reads again and again: robots.txt, feeds, sitemaps, listings.

Scrapy's RFC 2616 policy revalidates a cached page with If-None-Match /
If-Modified-Since and uses the cached body on 304, so a listing that has not
changed costs the site one small answer, and a page fetched by discovery is not
fetched in full again by the first crawl. Article pages are stored in the archive
and never requested twice, so only requests marked ``meta["cache"]`` (and
robots.txt) are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy.extensions.httpcache import FilesystemCacheStorage, RFC2616Policy
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached


class EntryPagePolicy(RFC2616Policy):
    def should_cache_response(self, response: Response, request: Request) -> bool:
        if request.meta.get("sample") and response.status == 200:
            return True  # discovery's sample articles: the first crawl takes them from here
        if not (request.meta.get("cache") or urlparse_cached(request).path == "/robots.txt"):
            return False
        return super().should_cache_response(response, request)

    def is_cached_response_fresh(self, cachedresponse: Response, request: Request) -> bool:
        if request.meta.get("article"):
            return True  # only discovery's samples are cached among articles, minutes before
        return super().is_cached_response_fresh(cachedresponse, request)


class SharedFilesystemCacheStorage(FilesystemCacheStorage):
    """One cache for all chainwatch spiders (Scrapy keeps one folder per spider), so the
    news spider revalidates what discovery fetched instead of fetching it again."""

    def _get_request_path(self, spider: Any, request: Request) -> str:
        key = self._fingerprinter.fingerprint(request).hex()
        return str(Path(self.cachedir, "shared", key[0:2], key))
