"""URL canonicalisation: one key per page, whatever tracking parameters, fragments or index files."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import yaml

RULES_FILE = Path(__file__).with_name("data") / "url_rules.yaml"


@cache
def _rules() -> tuple[frozenset[str], frozenset[str]]:
    data = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    return frozenset(p.lower() for p in data["tracking_parameters"]), frozenset(data["index_files"])


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, default port dropped, fragment dropped, tracking parameters
    dropped, remaining parameters sorted, ``/dir/index.html`` folded into ``/dir/``."""
    tracking, index_files = _rules()
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:  # "http://[broken" or a port out of range: the URL is its own key
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    netloc = host if port is None or (scheme, port) in {("http", 80), ("https", 443)} else f"{host}:{port}"
    path = parts.path or "/"
    head, _, last = path.rpartition("/")
    if last.lower() in index_files:
        path = head + "/"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() not in tracking]
    query.sort()
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))


def same_site(url: str, home: str) -> bool:
    """True when ``url`` is on the host of ``home`` or one of its subdomains (www. ignored)."""
    try:
        a = (urlsplit(url).hostname or "").lower().removeprefix("www.")
        b = (urlsplit(home).hostname or "").lower().removeprefix("www.")
    except ValueError:  # "http://[broken": not a URL of any site
        return False
    if not a or not b:
        return False
    return a == b or a.endswith("." + b) or b.endswith("." + a)
