"""What the spider hands to the pipelines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


@dataclass
class PageItem:
    """A fetched page that may be an article. The pipelines extract, analyse and store it."""

    source_id: int
    source_key: str
    url: str                      # as requested (before redirects)
    final_url: str                # after redirects
    body: bytes = field(repr=False)
    content_type: str | None
    encoding_override: str | None = None
    fetched_at: datetime | None = None
    listing_date: date | None = None  # date shown beside the link in a feed, sitemap or listing
    listing_title: str | None = None  # title shown in a feed or listing (full when the page truncates it)
    source_region: str | None = None
    source_language: str | None = None
    # filled by the pipelines
    extracted: Any = field(default=None, repr=False)
    analysis: Any = field(default=None, repr=False)
    signature: Any = field(default=None, repr=False)
    notes: dict[str, Any] = field(default_factory=dict, repr=False)
