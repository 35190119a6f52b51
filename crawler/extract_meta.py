"""Headline, visible dateline and author for extraction."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import lxml.etree
from lxml.html import HtmlElement

from crawler.extract_dates import find_date, find_month
from crawler.extract_dom import BLOCK_TAGS, element_text
from crawler.extract_rules import Rules

_ELLIPSIS = re.compile(r"\s*(\.\.\.|…+|\.{2,}|。。。)\s*$")
_SPACE = re.compile(r"\s+")
_TITLE_CLASS = re.compile(r"(^|[\s_\-])(art_?title|article[_\-]?title|title|tit|headline|biaoti|bt)(\d|$|[\s_\-])", re.I)
_MAX_TITLE = 200
# A headline shorter than this (a blog's or forum's name) found inside a
# longer line is a mention ("海姑娘写于2005年6月12日"), not the headline.
_MIN_CONTAINED_TITLE = 6

# Names after 记者/作者: two to four Han characters (optionally with a middle
# dot), several of them separated by spaces or 、.
_CN_NAME = r"[\u4e00-\u9fff][\u4e00-\u9fff·•]{1,3}"
# The names must end at a delimiter: "记者从会上获悉" is a sentence, not a byline.
_NAME_LIST = re.compile(rf"\s*[:：]?\s*({_CN_NAME}(?:[\s、，,/]+{_CN_NAME})*)(?=[\s）)】\]，,。;；]|$)")
# A byline label starts a line or follows an opening bracket or a space;
# "原作者所有" inside a disclaimer sentence is not one.
_LABEL_START = re.compile(r"(^|[\s（(【\[|/／,，])$")
_NAME_TRAILERS = re.compile(r"(报道|報道|摄影|攝影|摄|攝|通讯员|通訊員|发自|發自|整理|编译|編譯)$")
_EN_BYLINE = re.compile(r"^(?:By|BY|by)\s+([A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3})\b")
_NOT_NAMES = frozenset({"本报", "本報", "本网", "本網", "新华社", "新華社", "中新网", "中新網", "通讯员", "通訊員"})


@dataclass(frozen=True)
class Line:
    """One visible line of the page and the share of its text inside links."""

    text: str
    link_share: float


def _norm(s: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", s)).lower()


def page_lines(root: HtmlElement) -> list[Line]:
    """Visible lines of the page, each with its link share (for skipping link lists)."""
    body = root.find(".//body")
    if body is None:
        body = root
    lines: list[Line] = []
    cur: list[str] = []
    link_chars = 0

    def flush() -> None:
        nonlocal cur, link_chars
        text = _SPACE.sub(" ", "".join(cur)).strip()
        if text:
            total = len(text.replace(" ", ""))
            lines.append(Line(text, min(1.0, link_chars / total) if total else 0.0))
        cur, link_chars = [], 0

    def walk(el: lxml.etree._Element, in_link: bool) -> None:
        nonlocal link_chars
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in BLOCK_TAGS:
            flush()
        link = in_link or tag == "a"
        if el.text and tag:
            cur.append(el.text)
            if link:
                link_chars += len(el.text.strip().replace(" ", ""))
        for child in el:
            walk(child, link)
        if tag in BLOCK_TAGS:
            flush()
        if el.tail:
            cur.append(el.tail)
            if in_link:
                link_chars += len(el.tail.strip().replace(" ", ""))

    walk(body, False)
    flush()
    return lines


# --------------------------------------------------------------------------
# title


def _meta_values(root: HtmlElement, keys: tuple[str, ...]) -> list[str]:
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").strip().lower()
        content = _SPACE.sub(" ", meta.get("content") or "").strip()
        if key in keys and content and key not in found:
            found[key] = content
    return [found[k] for k in keys if k in found]


def _headings(root: HtmlElement) -> list[str]:
    """Heading-like texts in document order of preference: h1, title-classed blocks, h2, h3."""
    out: list[str] = []
    body = root.find(".//body")
    if body is None:
        return out
    groups: list[list[HtmlElement]] = [list(body.iter("h1")), [], list(body.iter("h2")), list(body.iter("h3"))]
    for el in body.iter("div", "td", "span", "p", "strong", "font", "header", "h4"):
        if _TITLE_CLASS.search(f"{el.get('class') or ''} {el.get('id') or ''}"):
            groups[1].append(el)
            if len(groups[1]) > 40:
                break
    for group in groups:
        for el in group:
            if any(anc.tag == "a" for anc in el.iterancestors()):
                continue
            text = element_text(el)
            if 4 <= len(text) <= _MAX_TITLE:
                out.append(text)
    return out


def _split_title(raw: str, rules: Rules) -> list[str]:
    return [p.strip() for p in rules.title_separators.split(raw) if p and p.strip()]


def _strip_site(raw: str, site_names: list[str], rules: Rules) -> str:
    """Remove a site-name segment from either end of a <title>."""
    parts = _split_title(raw, rules)
    if len(parts) <= 1:
        return raw.strip()
    names = {_norm(n) for n in site_names}
    if _norm(parts[0]) in names:
        parts = parts[1:]
    elif len(parts) > 1:
        parts = parts[:-1]
    # Rejoin with the original text between the remaining parts.
    first, last = parts[0], parts[-1]
    start = raw.find(first)
    end = raw.rfind(last) + len(last)
    return raw[start:end].strip() if 0 <= start < end else first


def choose_title(root: HtmlElement, rules: Rules) -> str | None:
    title_el = root.find(".//title")
    raw = element_text(title_el) if title_el is not None else ""
    metas = _meta_values(root, rules.title_meta)
    sites = _meta_values(root, rules.site_name_meta)
    core = _strip_site(raw, sites, rules) if raw else ""
    full_texts = [t for t in [*metas, core, raw] if t]
    site_norms = {_norm(s) for s in sites}

    for heading in _headings(root):
        h = _norm(heading)
        if h in site_norms:
            continue
        truncated = _ELLIPSIS.search(heading)
        if truncated:
            prefix = _norm(heading[: truncated.start()])
            for full in (*metas, core):
                if len(prefix) >= 4 and _norm(full).startswith(prefix) and len(_norm(full)) > len(prefix):
                    return full
            continue
        if any(h == _norm(t) for t in full_texts) or (core and len(h) >= 4 and h in _norm(core)):
            return heading
    if metas:
        return _strip_site(metas[0], sites, rules)
    if core:
        return core
    headings = _headings(root)
    return headings[0] if headings else None


def find_title_lines(lines: list[Line], title: str | None, limit: int = 3) -> list[int]:
    """Indexes of lines that hold the headline, best match first.

    Pages repeat the headline (a stray <title> copy, breadcrumbs, the heading
    itself), so several are returned; exact matches rank first.
    """
    if not title:
        return []
    t = _norm(title)
    if not t:
        return []
    prefix = _norm(_ELLIPSIS.sub("", title))[:20]
    scored: list[tuple[int, int]] = []
    for i, line in enumerate(lines):
        n = _norm(line.text)
        if line.link_share > 0.5 or len(n) < 4:
            continue
        if n == t:
            scored.append((0, i))
        elif n in t and len(n) >= 0.5 * len(t):
            scored.append((1, i))
        elif (t in n and len(n) <= 2 * len(t) + 20 and len(t) >= _MIN_CONTAINED_TITLE) or (len(prefix) >= 8 and n.startswith(prefix) and len(n) <= len(t) + 10):
            scored.append((2, i))
    return [i for _, i in sorted(scored)[:limit]]


def find_title_line(lines: list[Line], title: str | None) -> int | None:
    """Index of the line holding the headline, if any."""
    found = find_title_lines(lines, title, limit=1)
    return found[0] if found else None


# --------------------------------------------------------------------------
# visible dateline


def _labelled_date(text: str, rules: Rules) -> tuple[str, int] | None:
    """A date that follows a label such as 发布时间：; (value, label strength)."""
    for strength, rx in enumerate(rules.date_labels):
        for m in rx.finditer(text):
            hit = find_date(text[m.end() : m.end() + 40])
            if hit and hit[1] <= 3:
                return hit[0], strength
    return None


def visible_date(lines: list[Line], title_idxs: list[int], rules: Rules) -> tuple[str | None, bool]:
    """Date printed near the headline: (value, labelled?).

    Tries each headline position in turn, then the top of the page.
    """
    for idx in title_idxs:
        found = _date_near(lines, idx, rules)
        if found[0]:
            return found
    return _date_near(lines, None, rules)


def _date_near(lines: list[Line], title_idx: int | None, rules: Rules) -> tuple[str | None, bool]:
    """Looks a few lines above and a dozen below the headline, skipping
    link-list lines (related stories carry their own dates); labelled dates
    win, then the one closest to the headline."""
    if title_idx is None:
        window = list(range(min(len(lines), 60)))
    else:
        below = range(title_idx, min(len(lines), title_idx + 12))
        above = range(max(0, title_idx - 3), title_idx)
        window = [*below, *reversed(above)]
    labelled: list[tuple[int, int, str]] = []
    plain: list[tuple[int, str]] = []
    for rank, i in enumerate(window):
        line = lines[i]
        if line.link_share > 0.5:
            continue
        hit = _labelled_date(line.text, rules)
        if hit:
            labelled.append((hit[1], rank, hit[0]))
            continue
        found = find_date(line.text)
        # Unlabelled dates count only on short lines: a date in a long
        # paragraph is an event date.  "<a>headline</a> 2020-01-02" is a list
        # item, while "2005-04-05 来源：<a>outlet</a>" is a dateline.
        list_item = found is not None and found[1] > 2 and line.link_share >= 0.2
        if found and len(line.text) <= 80 and not list_item:
            plain.append((rank, found[0]))
    if labelled:
        return min(labelled)[2], True
    if plain:
        return min(plain)[1], False
    return None, False


def timestamp_anywhere(lines: list[Line]) -> str | None:
    """The first date with a time of day on a short line that is not a link list: forums and blogs
    stamp the post that way ("2005-07-18 13:03:17"), and the post comes before its comments."""
    for line in lines:
        if line.link_share > 0.5 or len(line.text) > 120:
            continue
        hit = find_date(line.text)
        if hit and "T" in hit[0]:
            return hit[0]
    return None


def month_anywhere(lines: list[Line]) -> str | None:
    """A year and month alone on a short line ("2003年5月", "——《某刊》1998年3月号"):
    reports and magazine reprints that carry no day.  Given as the month's
    first day; used only when no full date is found."""
    for line in lines:
        if line.link_share > 0.5 or len(line.text) > 40:
            continue
        hit = find_month(line.text)
        if hit:
            return hit
    return None


def labelled_date_anywhere(lines: list[Line], rules: Rules) -> str | None:
    for line in lines:
        if line.link_share <= 0.5:
            hit = _labelled_date(line.text, rules)
            if hit and hit[1] == 0:
                return hit[0]
    return None


# --------------------------------------------------------------------------
# author


def _names_after(text: str, label_end: int) -> list[str]:
    m = _NAME_LIST.match(text, label_end)
    if not m:
        return []
    names = []
    for raw in re.split(r"[\s、，,/]+", m.group(1)):
        name = _NAME_TRAILERS.sub("", raw)
        if 2 <= len(name) <= 4 and name not in _NOT_NAMES:
            names.append(name)
    return names


def find_author(lines: list[str], rules: Rules) -> str | None:
    """Names after 作者/记者 (or an English "By ..." byline) in the given lines."""
    for text in lines:
        for m in rules.author_labels.finditer(text):
            if not _LABEL_START.search(text[: m.start()]):
                continue
            names = _names_after(text, m.end())
            if names:
                return " ".join(dict.fromkeys(names))
        en = _EN_BYLINE.match(text)
        if en:
            return en.group(1)
    return None


# --------------------------------------------------------------------------
# document register table (政府信息公开: 索引号, 发文机关, 发文字号, 成文日期 ...)

_MIN_INFO_LABELS = 3
_MAX_INFO_VALUE = 120


def document_info(lines: list[Line], title: str | None, rules: Rules) -> list[str]:
    """The first run of "label：value" pairs of a document register table on
    the page, as "label：value" lines, or [] when the page has none: at least
    _MIN_INFO_LABELS distinct labels, one a key label (索引号, 发文字号 ...),
    with no other line between them.  A value may sit on the label's line
    or, in table cells, on the next line.  Empty values and the row that
    repeats the headline are left out."""
    rx = rules.document_info_label
    norm_title = _norm(title) if title else ""
    pairs: list[list[str]] = []
    for line in lines:
        text = line.text
        found = list(rx.finditer(text))
        if not found:
            if pairs and not pairs[-1][1] and len(text) <= _MAX_INFO_VALUE:
                pairs[-1][1] = text  # the value cell after a label cell
                continue
            if _is_document_info(pairs, rules):
                break
            pairs = []
            continue
        if text[: found[0].start()].strip(" |｜"):  # a label inside a sentence
            if _is_document_info(pairs, rules):
                break
            pairs = []
            continue
        for i, m in enumerate(found):
            label = _SPACE.sub("", m.group(1))
            if any(label == seen for seen, _ in pairs):  # a second copy of the table (print or mobile view)
                if _is_document_info(pairs, rules):
                    break
                pairs = []
            end = found[i + 1].start() if i + 1 < len(found) else len(text)
            pairs.append([label, text[m.end() : end].strip(" |｜;；,，\u3000")])
        else:
            continue
        break
    if not _is_document_info(pairs, rules):
        return []
    return [f"{label}：{value}" for label, value in pairs if value and _norm(value) != norm_title]


def _is_document_info(pairs: list[list[str]], rules: Rules) -> bool:
    labels = {label for label, _ in pairs}
    return len(labels) >= _MIN_INFO_LABELS and bool(labels & rules.document_info_key_labels)
