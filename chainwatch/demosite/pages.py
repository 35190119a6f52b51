"""A rendered answer held in memory, and the small helpers that make one."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    body: bytes
    content_type: str
    etag: str = ""
    last_modified: dt.datetime | None = None  # aware; only articles have one
    encoding: str = ""  # Content-Encoding, e.g. "gzip"


def make_page(body: bytes, content_type: str, last_modified: dt.datetime | None = None) -> Page:
    etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
    return Page(body=body, content_type=content_type, etag=etag, last_modified=last_modified)


def encode_html(text: str, encoding: str) -> bytes:
    """Encode a page; characters the encoding lacks become numeric character references."""
    return text.encode(encoding, errors="xmlcharrefreplace")
