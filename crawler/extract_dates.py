"""Publication-date parsing for extraction: meta tags, JSON-LD, <time>, visible
Chinese/English date lines, and URL paths."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from contextvars import ContextVar

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
# 7/5/2005 9:23:57 PM, 09/17/2004: month first as in the US, unless the first
# number cannot be a month (17/09/2004) or the page writes its other slash
# dates day first (see slash_day_first).
_SLASH_DMY = re.compile(
    r"(?<![\d/.])(\d{1,2})/(\d{1,2})/((?:19|20)\d{2})(?![\d/])"
    r"(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([AaPp])\.?[Mm]\.?)?)?"
)
# A line that is only a year and month, or ends with a magazine issue
# ("——《某刊》1998年3月号").
_MONTH_LINE = re.compile(
    r"^\s*(?:[-—–―\s]*[《〈][^》〉]{1,30}[》〉]\s*)?((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月(?:号|號|刊)?\s*$"
)
_URL_DATES = (
    # /202211/t20221103_123.html, /20221103/..., /2022-11-03/...
    re.compile(r"(?<!\d)((?:19|20)\d{2})[-_/]?(\d{2})[-_/]?(\d{2})(?!\d)"),
    # /2022/11/3/...
    re.compile(r"/((?:19|20)\d{2})/(\d{1,2})/(\d{1,2})/"),
)
_JSONLD_DATE = re.compile(r'"datePublished"\s*:\s*"([^"]{6,40})"')


_DAY_FIRST: ContextVar[bool] = ContextVar("slash_day_first", default=False)


def slash_day_first(texts: Iterable[str]) -> bool:
    """Whether a page writes slash dates day first: more of its unambiguous
    ones (a first number over 12) are day/month than month/day."""
    dmy = mdy = 0
    for text in texts:
        if "/" not in text:
            continue
        for m in _SLASH_DMY.finditer(text):
            a, b = int(m.group(1)), int(m.group(2))
            dmy += a > 12 and b <= 12
            mdy += b > 12 and a <= 12
    return dmy > mdy


def set_day_first(day_first: bool) -> object:
    """Read ambiguous slash dates of the current page day first; returns a token for reset_day_first."""
    return _DAY_FIRST.set(day_first)


def reset_day_first(token: object) -> None:
    _DAY_FIRST.reset(token)  # type: ignore[arg-type]


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
    m = _SLASH_DMY.search(text)
    if m:
        a, b, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
        mo, d = (b, a) if a > 12 or (_DAY_FIRST.get() and b <= 12) else (a, b)
        hh = m.group(4)
        if hh is not None and m.group(7):
            hh = str(int(hh) % 12 + (12 if m.group(7) in "Pp" else 0))
        if _valid(y, mo, d):
            found.append((m.start(), _fmt(y, mo, d, hh, m.group(5), m.group(6))))
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


def find_month(line: str) -> str | None:
    """"2003年5月" or "《某刊》1998年3月号" alone on a line, as the month's first day."""
    m = _MONTH_LINE.match(unicodedata.normalize("NFKC", line))
    if m and _valid(int(m.group(1)), int(m.group(2)), 1):
        return _fmt(int(m.group(1)), int(m.group(2)), 1)
    return None


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
