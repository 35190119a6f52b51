"""Article extraction: body text, headline, publication date, author, language.

The body comes from three extractors that fail in different ways:
trafilatura (good recall, sometimes swallows a whole portal page),
readability-lxml (precise, but scores paragraphs by ASCII commas and so
sometimes keeps one Chinese sentence), and a CJK-aware density extractor
(crawler.extract_dom).  The one that agrees best with the other two (the
medoid, by bag-of-characters overlap) is kept, then boilerplate lines from
crawler/data/boilerplate.yaml are removed.  Title, date and author come from
metadata and from the lines around the headline.
"""

from __future__ import annotations

import copy
import logging
import re
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from lxml.html import HtmlElement

from crawler import extract_dom as dom
from crawler.extract_dates import (
    date_from_jsonld,
    date_from_meta,
    date_from_time_tags,
    date_from_url,
    reset_day_first,
    set_day_first,
    slash_day_first,
)
from crawler.extract_meta import (
    Line,
    choose_title,
    document_info,
    find_author,
    find_title_lines,
    labelled_date_anywhere,
    month_anywhere,
    page_lines,
    timestamp_anywhere,
    visible_date,
)
from crawler.extract_rules import Rules, load_rules
from crawler.textnorm import detect_language, strip_inline_pinyin

log = logging.getLogger(__name__)

# Related lists and disclaimers end an article: a "相关阅读" heading in the
# first part of a text is more likely a section title inside the article.
_TAIL_SHARE = 0.4
# Meta lines (date/source) are only dropped near the top of the body.
_HEAD_LINES = 4
# <meta> date tags ranked below this index in date_meta are generic ("date",
# modified time) and lose against a dateline printed near the headline.
_MIN_DEDUP_CHARS = 40
# A line this long is body prose: metadata lines are no longer dropped after it.
_PARAGRAPH_CHARS = 60
# Tie-breaking bonus in choose_body (in units of overlap F1): readability and
# the density extractor are the more precise on Chinese pages, trafilatura on
# alphabetic ones (measured on the extraction benchmark, not per page).
_PRIOR_CJK = {"readability": 0.1, "density": 0.05}
_PRIOR_OTHER = {"trafilatura": 0.1}
# The density extractor run inside the headline's container: it breaks ties
# between a short article and the long teaser blocks around it, but is never
# the body itself (it misses text that sits beside the headline's box), and
# votes on CJK pages only.
_VOTERS = frozenset({"headline"})
_WEAK_META_NAMES = ("date", "article:modified_time", "dc.date", "dcterms.date")

_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_WORD = re.compile(r"\w+")


@dataclass
class ExtractedArticle:
    text: str
    title: str | None
    date: str | None
    author: str | None
    language: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _empty(date: str | None = None) -> ExtractedArticle:
    return ExtractedArticle(text="", title=None, date=date, author=None, language="und")


# --------------------------------------------------------------------------
# body candidates


def _trafilatura_lines(root: HtmlElement, url: str) -> list[str]:
    import trafilatura

    # trafilatura copies a tree it is given before changing it.
    text = trafilatura.extract(
        root,
        url=url or None,
        include_comments=False,
        include_tables=True,
        deduplicate=False,
        fast=True,
    )
    return [line.strip() for line in (text or "").split("\n") if line.strip()]


def _readability_lines(root: HtmlElement, url: str) -> list[str]:
    """Runs last: readability drops hidden elements from the tree it is given
    (then works on its own cleaned copy)."""
    import lxml.html
    from readability import Document

    # readability drops paragraphs under 25 characters; a 25-character
    # Chinese sentence is a long one, so the bar is lowered.  ``url`` is not
    # passed on: readability only uses it to make every link absolute (on
    # each of its passes), which costs ~10 % of its time and changes no text.
    summary = Document(root, min_text_length=10).summary(html_partial=True)
    if not summary or not summary.strip():
        return []
    return dom.block_lines(lxml.html.fragment_fromstring(summary, create_parent="div"))


def _drop_noise_blocks(root: HtmlElement, rules: Rules) -> HtmlElement:
    """A copy without nav/footer/aside and blocks whose class or id names noise."""
    work = copy.deepcopy(root)
    for el in list(work.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None or el.tag in ("body", "html"):
            continue
        if el.tag in ("nav", "footer", "aside") or dom.has_class_word(el, rules.noise_class_words):
            dom.drop(el)
    return work


def _density_lines(root: HtmlElement, rules: Rules, title: str | None = None) -> tuple[list[str], list[str]]:
    """The density extractor's lines over the whole page, and over the
    headline's own container (empty when the headline is not found)."""
    work = _drop_noise_blocks(root, rules)
    scan = dom.DensityScan(work)  # one pass over the page serves all three look-ups
    best = dom.density_candidate(work, scan=scan)
    box = dom.headline_container(work, title, scan=scan)
    near = dom.density_candidate(box, scan=scan) if box is not None else None
    out: list[list[str]] = []
    for el in (best, near):
        if el is None:
            out.append([])
            continue
        dom.prune_link_blocks(el, rules.noise_class_words)
        out.append(dom.block_lines(el))
    return out[0], out[1]


def body_candidates(root: HtmlElement, url: str, rules: Rules, title: str | None = None) -> dict[str, list[str]]:
    """Body lines from each extractor; an extractor that fails gives no lines.

    ``headline`` (the density extractor inside the headline's container)
    only votes in choose_body.  The tree is changed: readability, last,
    drops hidden elements from it.
    """
    out: dict[str, list[str]] = {}

    def density() -> list[str]:
        lines, out["headline"] = _density_lines(root, rules, title)
        return lines

    for name, fn in (
        ("trafilatura", lambda: _trafilatura_lines(root, url)),
        ("density", density),
        ("readability", lambda: _readability_lines(root, url)),
    ):
        try:
            out[name] = fn()
        except Exception:  # one extractor's bug must not lose the page
            log.debug("extractor %s failed on %s", name, url, exc_info=True)
            out[name] = []
    out.setdefault("headline", [])
    return out


# --------------------------------------------------------------------------
# choosing and cleaning


def _tokens(text: str) -> Counter[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    cjk = _CJK.findall(text)
    words = _WORD.findall(_CJK.sub(" ", text))
    return Counter(cjk + words)


def _overlap_f1(a: Counter[str], b: Counter[str]) -> float:
    if not a or not b:
        return 0.0
    common = sum((a & b).values())
    if not common:
        return 0.0
    p, r = common / sum(a.values()), common / sum(b.values())
    return 2 * p * r / (p + r)


def _is_cjk(candidates: dict[str, list[str]], sample_chars: int = 3000) -> bool:
    """True if the first ``sample_chars`` of the candidates' text are mostly CJK."""
    parts: list[str] = []
    size = 0
    for lines in candidates.values():
        for line in lines:
            parts.append(line)
            size += len(line)
            if size >= sample_chars:
                break
        if size >= sample_chars:
            break
    sample = "".join(parts)[:sample_chars]
    return len(_CJK.findall(sample)) > 0.3 * max(1, len(sample))


# A date or a month-day time in a line: the stamp of a list item or a reply.
_STAMP = re.compile(r"(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}|(?<!\d)\d{1,2}[-/月]\d{1,2}日?\s+\d{1,2}:\d{2}")
# A candidate with at least this many lines, this share of them short and
# stamped, is a list of stories or forum replies, not an article.
_LISTING_MIN_LINES = 5
_LISTING_SHARE = 0.6
_LISTING_ITEM_CHARS = 150


def is_dated_listing(lines: list[str]) -> bool:
    """True for a list of dated headlines or reply headers ("title【user】08-11 16:58")."""
    if len(lines) < _LISTING_MIN_LINES:
        return False
    stamped = sum(1 for line in lines if len(line) <= _LISTING_ITEM_CHARS and _STAMP.search(line))
    return stamped >= _LISTING_SHARE * len(lines)


def choose_body(candidates: dict[str, list[str]]) -> list[str]:
    """The candidate that agrees best with the others, with a small prior for
    the extractor that is most precise on the page's script.  Candidates
    named in _VOTERS only vote; a candidate that is a dated list (of related
    stories, of forum replies) neither wins nor votes while another is left."""
    listings = {n for n, lines in candidates.items() if lines and is_dated_listing(lines)}
    if listings and any(lines and n not in listings and n not in _VOTERS for n, lines in candidates.items()):
        candidates = {n: lines for n, lines in candidates.items() if n not in listings}
    voters = [n for n, lines in candidates.items() if lines]
    names = [n for n in voters if n not in _VOTERS]
    if not names:
        return []
    if len(names) == 1:
        return candidates[names[0]]
    cjk = _is_cjk({n: candidates[n] for n in names})
    prior = _PRIOR_CJK if cjk else _PRIOR_OTHER
    if not cjk:
        # The headline box's vote helps Chinese portal pages (a short article
        # among long teaser blocks); on alphabetic pages it mostly doubles the
        # density extractor's vote against trafilatura, the more precise there.
        voters = [n for n in voters if n not in _VOTERS]
    # Extractors often return the same lines: each distinct text is tokenized
    # once, and each pair of distinct texts compared once (overlap F1 is
    # symmetric; a text agrees fully with itself).
    by_text: dict[str, Counter[str]] = {}
    toks: dict[str, Counter[str]] = {}
    for n in voters:
        text = "\n".join(candidates[n])
        if text not in by_text:
            by_text[text] = _tokens(text)
        toks[n] = by_text[text]
    pair_f1: dict[tuple[int, int], float] = {}

    def f1(a: Counter[str], b: Counter[str]) -> float:
        if a is b:
            return 1.0 if a else 0.0
        key = (id(a), id(b)) if id(a) < id(b) else (id(b), id(a))
        if key not in pair_f1:
            pair_f1[key] = _overlap_f1(a, b)
        return pair_f1[key]

    def agreement(n: str) -> float:
        return sum(f1(toks[n], toks[m]) for m in voters if m != n) + prior.get(n, 0.0)

    return candidates[max(names, key=agreement)]


def choose_clean_body(candidates: dict[str, list[str]], title: str | None, rules: Rules) -> list[str]:
    """choose_body over the cleaned candidates: boilerplate lines (widgets,
    disclaimers, related lists) that two extractors both kept must not
    outvote the one that left them out."""
    cleaned: dict[tuple[str, ...], list[str]] = {}  # extractors often agree line for line
    facts: dict[str, _LineFacts] = {}
    out: dict[str, list[str]] = {}
    for name, lines in candidates.items():
        key = tuple(lines)
        if key not in cleaned:
            cleaned[key] = clean_lines(lines, title, rules, facts)
        out[name] = cleaned[key]
    # after the vote: an extractor that kept all entries agrees with the others
    return cut_second_entry(choose_body(out))


class _LineFacts:
    """What clean_lines asks of a line, each worked out once per page."""

    __slots__ = ("compact", "cut", "disclaimer", "drop")

    def __init__(self, line: str, rules: Rules) -> None:
        self.cut = rules.is_cut_line(line)
        self.disclaimer = rules.is_disclaimer(line)
        self.drop = rules.is_drop_line(line)
        self.compact = "" if self.drop else _compact(line)


def clean_lines(lines: list[str], title: str | None, rules: Rules, facts: dict[str, _LineFacts] | None = None) -> list[str]:
    """Drop boilerplate lines, the repeated headline and the dateline.

    ``facts`` caches the rule checks and compact form of each line across
    calls: the candidates of one page share most of their lines."""
    out: list[str] = []
    seen: set[str] = set()
    norm_title = _compact(title) if title else ""
    if facts is None:
        facts = {}
    for i, line in enumerate(lines):
        f = facts.get(line)
        if f is None:
            f = facts[line] = _LineFacts(line, rules)
        if (f.cut and _in_tail(lines, i)) or (i > 0 and f.disclaimer):
            break
        if f.drop:
            continue
        key = f.compact
        # Pages that print the article twice (a print or mobile copy in the
        # same container) would otherwise double every paragraph.
        if len(key) >= _MIN_DEDUP_CHARS and key in seen:
            continue
        seen.add(key)
        in_head = len(out) < _HEAD_LINES and not any(len(x) >= _PARAGRAPH_CHARS for x in out)
        if in_head and (rules.is_meta_line(line) or (norm_title and key == norm_title)):
            continue
        out.append(line)
    return cut_dated_list_tail(out)


# "headline 2022-10-09", "·headline (2005-04-19 10:25AM)", "headline [2022年10月9日 08:30]"
_DATED_ITEM = re.compile(
    r"^.{4,150}?\s[(（\[【]?(?:19|20)\d{2}[-/.年]\d{1,2}[-/.月]\d{1,2}日?"
    r"(?:\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?\s*(?:[AaPp]\.?[Mm]\.?)?)?\s*[)）\]】]?$"
)


def cut_dated_list_tail(lines: list[str]) -> list[str]:
    """Drop a closing run of "headline 2022-10-09" items: a related-stories
    list whose heading the extractor did not keep."""
    end = len(lines)
    start = end
    while start > 0 and _DATED_ITEM.match(lines[start - 1]):
        start -= 1
    if end - start >= 2 and _in_tail(lines, start):
        return lines[:start]
    return lines


# A line that is only a date and a clock time: the header of a blog post, a
# diary entry or a reply ("2005-03-18 01:58:01", "2023年5月8日 09:30").
_BARE_STAMP = re.compile(
    r"^[(（\[【]?(?:19|20)\d{2}(?:[-/.]\d{1,2}[-/.]\d{1,2}|年\d{1,2}月\d{1,2}日)\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2})?[)）\]】]?$"
)
# An entry's heading: a short line that does not end a sentence.
_ENTRY_TITLE_CHARS = 50


def cut_second_entry(lines: list[str]) -> list[str]:
    """The first entry of a page of dated entries (a blog's or diary's latest
    posts, a post and its replies): when two or more bare date-time lines
    follow prose, cut before the first of them and before the heading line
    just above it.  A stamp in the article's own head is a dateline, dropped
    earlier; a date without a clock time (a document's 落款) is never cut at."""
    before = 0  # characters above the line before each line
    after: list[int] = []
    for i, line in enumerate(lines):
        if before >= _PARAGRAPH_CHARS and _BARE_STAMP.match(line):
            after.append(i)
        if i:
            before += len(lines[i - 1])
    if len(after) < 2:
        return lines
    cut = after[0]
    above = lines[cut - 1]
    if len(above) <= _ENTRY_TITLE_CHARS and not above.endswith(("。", "！", "？", ".", "!", "?", "”")):
        cut -= 1
    return lines[:cut]


def _in_tail(lines: list[str], i: int) -> bool:
    """True if line ``i`` starts in the last _TAIL_SHARE of the text (by characters)."""
    total = sum(len(line) for line in lines)
    return sum(len(line) for line in lines[:i]) >= total * (1 - _TAIL_SHARE)


_SPACES = re.compile(r"\s+")


def _compact(text: str) -> str:
    """NFKC, no whitespace, lower case."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text)).lower()


def with_document_info(body: list[str], info: list[str], rules: Rules) -> list[str]:
    """The body with the page's document register lines (document_info) first,
    unless the body kept the table itself (two of its labels near the top)."""
    if not info or not body:
        return body
    head = "\n".join(body[: len(info) * 2 + 2])
    if len({_compact(m.group(1)) for m in rules.document_info_label.finditer(head)}) >= 2:
        return body
    return [*info, *body]


# --------------------------------------------------------------------------
# date


def _choose_date(root: HtmlElement, lines: list[Line], title_idxs: list[int], url: str, rules: Rules) -> str | None:
    """Publication date: specific meta tags and labelled datelines first, URL last."""
    meta = date_from_meta(root, rules)
    strong_meta = meta[0] if meta and rules.date_meta[meta[1]] not in _WEAK_META_NAMES else None
    weak_meta = meta[0] if meta and not strong_meta else None
    seen, labelled = visible_date(lines, title_idxs, rules) if lines else (None, False)
    if seen and labelled:
        return seen
    return (
        strong_meta
        or date_from_jsonld(root)
        or date_from_time_tags(root)
        or seen
        or weak_meta
        or labelled_date_anywhere(lines, rules)
        or date_from_url(url)
        or timestamp_anywhere(lines)
    )


# --------------------------------------------------------------------------
# entry points


def _extract(html: str, url: str, fallback_date: str | None) -> ExtractedArticle:
    if not isinstance(html, str) or not html.strip():
        return _empty(fallback_date)
    rules = load_rules()
    # Reprint sites gloss characters with pinyin everywhere, boilerplate
    # included; removing it first lets the boilerplate patterns match.
    html = strip_inline_pinyin(html)
    root = dom.parse(html)
    if root is None:
        return _empty(fallback_date)
    title = choose_title(root, rules)
    jsonld_date = date_from_jsonld(root)  # read before scripts are dropped
    dom.remove_junk(root)
    dom.drop_named_blocks(root, rules.junk_class_words)
    lines = page_lines(root)
    title_idxs = find_title_lines(lines, title)
    title_idx = title_idxs[0] if title_idxs else None
    token = set_day_first(slash_day_first(line.text for line in lines))
    try:
        date = _choose_date(root, lines, title_idxs, url, rules) or jsonld_date or fallback_date or month_anywhere(lines)
    finally:
        reset_day_first(token)

    info = document_info(lines, title, rules)
    body = choose_clean_body(body_candidates(root, url, rules, title), title, rules)
    text = dom.lines_to_text(with_document_info(body, info, rules))
    near_title = [ln.text for ln in lines[title_idx : title_idx + 8]] if title_idx is not None else []
    author = find_author([*near_title, *body[:2]], rules)
    language = detect_language(f"{title or ''}\n{text[:3000]}")
    return ExtractedArticle(text=text, title=title, date=date, author=author, language=language)


def extract_article(html: str, url: str, *, fallback_date: str | None = None) -> ExtractedArticle:
    """Extract one article; never raises (a failed page gives empty text)."""
    try:
        return _extract(html, url or "", fallback_date)
    except Exception:  # a crawler must survive any page
        log.warning("extraction failed for %s", url, exc_info=True)
        return _empty(fallback_date)


def extract(html: str, url: str) -> dict[str, Any]:
    """Dict form of :func:`extract_article`: text, title, date, author, language."""
    return extract_article(html, url).as_dict()
