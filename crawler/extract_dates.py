"""Publication-date parsing for extraction: meta tags, JSON-LD, <time>, visible
Chinese/English date lines, and URL paths."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from lxml.html import HtmlElement

from crawler.extract_rules import Rules

_MIN_YEAR = 1990

_NUMERIC = re.compile(
    r"(?<![\d.])((?:19|20)\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?![\d])\s*日?"
    r"(?:\s*[T ]?\s*(\d{1,2})[:：](\d{2})(?:[:：](\d{2}))?)?"
)
_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ]
    )
    for m in names
}
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EN_MDY = re.compile(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?,?\s+((?:19|20)\d{{2}})\b", re.I)
_EN_DMY = re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH_RE})\.?,?\s+((?:19|20)\d{{2}})\b", re.I)
_URL_DATES = (
    # /202211/t20221103_123.html, /20221103/..., /2022-11-03/...
    re.compile(r"(?<!\d)((?:19|20)\d{2})[-_/]?(\d{2})[-_/]?(\d{2})(?!\d)"),
    # /2022/11/3/...
    re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/"),
)
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{6,40})"')


def _valid(y: int, m: int, d: int) -> bool:
    if not (_MIN_YEAR <= y <= dt.date.today().year + 1):
        return False
    try:
        dt.date(y, m, d)
    except ValueError:
        return False
    return True


def _fmt(y: int, m: int, d: int, hh: str | None = None, mm: str | None = None, ss: str | None = None) -> str:
    out = f"{y:04d}-{m:02d}-{d:02d}"
    if hh is not None and mm is not None and int(hh) < 24 and int(mm) < 60:
        out += f"T{int(hh):02d}:{int(mm):02d}:{int(ss or 0):02d}"
    return out


def _iso_datetime(value: str) -> str | None:
    """Full ISO strings (with time zone) are kept as they are, normalised."""
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if not _valid(parsed.year, parsed.month, parsed.day):
        return None
    if "T" not in value and " " not in value.strip():
        return parsed.date().isoformat()
    return parsed.isoformat()


def find_date(text: str) -> tuple[str, int] | None:
    """First date in ``text`` as (ISO string, position), or None."""
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    found: list[tuple[int, str]] = []
    for m in _NUMERIC.finditer(text):
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if _valid(y, mo, d):
            found.append((m.start(), _fmt(y, mo, d, m.group(4), m.group(5), m.group(6))))
            break
    for rx, order in ((_EN_MDY, "mdy"), (_EN_DMY, "dmy")):
        m = rx.search(text)
        if not m:
            continue
        if order == "mdy":
            mo, d, y = _MONTHS[m.group(1).lower()], int(m.group(2)), int(m.group(3))
        else:
            d, mo, y = int(m.group(1)), _MONTHS[m.group(2).lower()], int(m.group(3))
        if _valid(y, mo, d):
            found.append((m.start(), _fmt(y, mo, d)))
    if not found:
        return None
    pos, value = min(found)
    return value, pos


def parse_date_value(value: str | None) -> str | None:
    """A date from an attribute value (meta content, datetime=...)."""
    if not value:
        return None
    return _iso_datetime(value) or (hit[0] if (hit := find_date(value)) else None)


def date_from_meta(root: HtmlElement, rules: Rules) -> tuple[str, int] | None:
    """Best <meta> date as (value, rank); lower rank means a more specific tag."""
    best: tuple[str, int] | None = None
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        if key not in rules.date_meta:
            continue
        rank = rules.date_meta.index(key)
        if best is not None and rank >= best[1]:
            continue
        value = parse_date_value(meta.get("content"))
        if value:
            best = (value, rank)
    return best


def date_from_jsonld(root: HtmlElement) -> str | None:
    for script in root.iter("script"):
        if (script.get("type") or "").lower() != "application/ld+json" or not script.text:
            continue
        m = _JSONLD_DATE.search(script.text)
        if m:
            value = parse_date_value(m.group(1))
            if value:
                return value
    return None


def date_from_time_tags(root: HtmlElement) -> str | None:
    """First <time> outside link lists: related-story lists carry their own."""
    for el in root.iter("time"):
        if any(anc.tag in ("a", "li") for anc in el.iterancestors()):
            continue
        value = parse_date_value(el.get("datetime")) or parse_date_value(el.text_content())
        if value:
            return value
    return None


def date_from_url(url: str) -> str | None:
    if not url:
        return None
    path = re.sub(r"^[a-z]+://[^/]+", "", url, flags=re.I)
    for rx in _URL_DATES:
        for m in rx.finditer(path):
            y, mo, d = (int(g) for g in m.groups())
            if _valid(y, mo, d):
                return _fmt(y, mo, d)
    return None
