"""DOM helpers for extraction: safe parsing, cleaning, block text, and a
CJK-aware content-density extractor.

The density extractor follows readability's idea (score paragraphs, credit
their parent and grandparent, penalise link-heavy containers) but counts what
marks prose in Chinese: full-width sentence punctuation and character counts
rather than ASCII commas and word lengths.  readability-lxml scores a
Chinese paragraph by ``len(text.split(","))``, which is 1 for most of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator

import lxml.etree
import lxml.html
from lxml.html import HtmlElement

# Elements that never hold article text.
JUNK_TAGS: tuple[str, ...] = (
    "script",
    "style",
    "noscript",
    "iframe",
    "svg",
    "canvas",
    "template",
    "object",
    "embed",
    "select",
    "button",
    "textarea",
    "input",
    "map",
    "audio",
    "video",
)

BLOCK_TAGS = frozenset(
    ["p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "td", "th", "table", "tbody", "thead", "section", "article", "blockquote", "pre", "header", "footer", "figure", "figcaption", "dd", "dt", "dl", "main", "aside", "nav", "form", "center", "hr", "address", "fieldset", "legend", "caption", "details", "summary"]
)
_HEADINGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
_CONTAINERS = frozenset(["div", "td", "article", "section", "main", "center", "form", "body", "blockquote", "dd", "span", "font"])
_PARAGRAPH_TAGS = frozenset(["p", "td", "pre", "div", "li", "dd", "blockquote", "font", "span", "section", "article"])

_WS = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\u3000]+")
_SENTENCE_PUNCT = re.compile(r"[，。！？；、,.!?;\u060c\u061b\u061f\u06d4\u0964]")
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def parse(html: str) -> HtmlElement | None:
    """Parse HTML into a document tree; None for input lxml cannot make sense of."""
    if not html or not html.strip():
        return None
    # lxml rejects str input with an XML encoding declaration, and NUL bytes.
    html = _CONTROL.sub("", _XML_DECL.sub("", html, count=1))
    try:
        root = lxml.html.document_fromstring(html)
    except (lxml.etree.ParserError, ValueError, TypeError):
        return None
    return root


_MEDIA_TAGS = ("video", "audio")


def remove_junk(root: HtmlElement) -> None:
    """Drop scripts, styles, form controls, comments and media players
    (drop_media_players) in place."""
    for el in list(root.iter(lxml.etree.Comment, lxml.etree.ProcessingInstruction)):
        _drop_keep_tail(el)
    for el in list(root.iter(*(t for t in JUNK_TAGS if t not in _MEDIA_TAGS))):
        _drop_keep_tail(el)
    drop_media_players(root)


# A sentence of prose: this long, ending in (or holding) a full stop, question
# or exclamation mark.  A player's controls and messages ("很抱歉，当前视频播放失败",
# "时长：01:45", "480P") never are.
_PROSE_SENTENCE = re.compile(r"[^。！？!?]{20,}[。！？!?]|[^.]{30,}\.(?:\s|$)")
_MEDIA_LEVELS = 8


def _holds_prose(el: HtmlElement) -> bool:
    return any(_PROSE_SENTENCE.search(_own_text(d) if d.tag != "br" else "") for d in el.iter(*BLOCK_TAGS, "span", "font", "a"))


def drop_media_players(root: HtmlElement) -> None:
    """Drop, in place, each <video> or <audio> player with the controls,
    titles and messages around it: the largest ancestor (up to
    _MEDIA_LEVELS, below <body>) that holds no sentence of prose.  Video
    players print their buttons and error messages as text ("展开", "收起",
    "00:00", "很抱歉，当前视频播放失败", "建议WIFI下打开") that every extractor
    otherwise keeps when the player sits inside the article.  Run on a tree
    without comments and scripts (remove_junk runs it)."""
    for media in list(root.iter(*_MEDIA_TAGS)):
        if not any(anc is root for anc in media.iterancestors()):  # in a player dropped already
            continue
        top = media
        for _ in range(_MEDIA_LEVELS):
            parent = top.getparent()
            if parent is None or parent.tag in ("body", "html") or _holds_prose(parent):
                break
            top = parent
        _drop_keep_tail(top)


_NAMED = lxml.etree.XPath("//body//*[@id or @class]")


def drop_named_blocks(root: HtmlElement, words: frozenset[str]) -> None:
    """Drop, in place, every element whose class or id has one of ``words``
    (cookie-consent and privacy dialogs: never article text, yet long prose
    that every extractor may take for the article)."""
    if not words:
        return
    # A substring test first (XPath contains() on every element is ~10x
    # slower); whole words are then checked by has_class_word.
    rx = re.compile("|".join(re.escape(w) for w in sorted(words)))
    for el in _NAMED(root):
        attrs = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
        if rx.search(attrs) and el.getparent() is not None and has_class_word(el, words):
            _drop_keep_tail(el)


def _drop_keep_tail(el: lxml.etree._Element) -> None:
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def drop(el: HtmlElement) -> None:
    """Remove an element but keep its tail text."""
    _drop_keep_tail(el)


def _walk_text(el: lxml.etree._Element, out: list[str]) -> None:
    tag = el.tag if isinstance(el.tag, str) else ""
    block = tag in BLOCK_TAGS
    if block:
        out.append("\n")
    if el.text and tag:
        out.append(el.text)
    for child in el:
        _walk_text(child, out)
    if block:
        out.append("\n")
    if el.tail:
        out.append(el.tail)


def block_lines(el: lxml.etree._Element) -> list[str]:
    """Visible text of ``el`` as lines, one per block element or <br>."""
    parts: list[str] = []
    _walk_text(el, parts)
    lines = (_WS.sub(" ", line).strip() for line in "".join(parts).split("\n"))
    return [line for line in lines if line]


def element_text(el: lxml.etree._Element) -> str:
    """Whitespace-collapsed text of an element on one line."""
    return _WS.sub(" ", " ".join(el.itertext())).strip()


def has_class_word(el: HtmlElement, words: frozenset[str]) -> bool:
    attrs = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    if not attrs.strip():
        return False
    return any(tok in words for tok in re.split(r"[\s_\-]+", attrs) if tok) or any(
        w in words for w in attrs.split()
    )


# --------------------------------------------------------------------------
# density extractor


def _nonspace_len(text: str) -> int:
    return len(text) - text.count(" ")


class _Stats:
    __slots__ = ("link", "text")

    def __init__(self) -> None:
        self.text = 0
        self.link = 0


def _collect_stats(root: HtmlElement) -> dict[HtmlElement, _Stats]:
    """Text and link-text lengths of every element, in one bottom-up pass."""
    stats: dict[HtmlElement, _Stats] = {}
    for el in root.iter():
        stats[el] = _Stats()
    for el in reversed(list(root.iter())):
        st = stats[el]
        own = _nonspace_len(_WS.sub("", el.text or "")) if isinstance(el.tag, str) else 0
        st.text += own
        if el.tag == "a":
            st.link += own
        for child in el:
            cs = stats[child]
            tail = _nonspace_len(_WS.sub("", child.tail or ""))
            st.text += cs.text + tail
            st.link += cs.text if el.tag == "a" else cs.link
    return stats


def _paragraph_score(text: str) -> float:
    # A sentence-punctuation mark marks roughly one clause of prose; long
    # unpunctuated runs are menus and lists.
    return 1.0 + len(_SENTENCE_PUNCT.findall(text)) + min(len(text) / 60.0, 4.0)


def _own_text(el: HtmlElement) -> str:
    """Text directly in ``el`` and its inline children (not nested blocks)."""
    parts = [el.text or ""]
    for child in el:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag not in BLOCK_TAGS or tag == "br":
            parts.append("".join(child.itertext()) if tag != "br" else "")
        parts.append(child.tail or "")
    return _WS.sub("", "".join(parts))


class DensityScan:
    """Text statistics and paragraph scores of one document, computed once and
    shared by the density extractor over the whole page and over the
    headline's box (and by headline_container).  The tree must not change
    while the scan is in use."""

    __slots__ = ("body", "paragraphs", "stats")

    def __init__(self, root: HtmlElement, min_paragraph_chars: int = 12) -> None:
        body = root.find(".//body")
        self.body: HtmlElement = root if body is None else body
        self.stats = _collect_stats(self.body)
        # each prose paragraph's own score, in document order
        self.paragraphs: dict[HtmlElement, float] = {}
        for el in self.body.iter(*_PARAGRAPH_TAGS):
            text = _own_text(el)
            if len(text) < min_paragraph_chars:
                continue
            st = self.stats[el]
            if st.text and st.link / st.text > 0.5:
                continue
            self.paragraphs[el] = _paragraph_score(text)


def density_candidate(root: HtmlElement, min_paragraph_chars: int = 12, *, scan: DensityScan | None = None) -> HtmlElement | None:
    """The element under ``root`` most likely to hold the article body, or None.

    ``scan``: a DensityScan of the whole document that holds ``root`` (reused
    instead of scanning ``root`` again; its paragraph length bar applies)."""
    if scan is None:
        scan = DensityScan(root, min_paragraph_chars)
        scope = scan.body
    else:
        scope = scan.body if root.getparent() is None else root
    stats = scan.stats
    stop = scope.getparent()  # credit and widening stay inside the scope
    scores: dict[HtmlElement, float] = {}
    own: dict[HtmlElement, float] = {}  # each paragraph's own score
    paragraphs = scan.paragraphs
    for el in scope.iter(*_PARAGRAPH_TAGS):
        score = paragraphs.get(el)
        if score is None:
            continue
        own[el] = score
        parent = el.getparent()
        if el.tag in ("div", "td", "section", "article") and parent is not None:
            # Text that sits directly in a container: credit the container itself.
            scores[el] = scores.get(el, 0.0) + score
        weight = 1.0
        anc = parent
        for _ in range(2):
            if anc is None or anc is stop:
                break
            scores[anc] = scores.get(anc, 0.0) + score * weight
            weight = 0.5
            anc = anc.getparent()
    def adjusted(el: HtmlElement) -> float:
        st = stats[el]
        return max(scores.get(el, 0.0), own.get(el, 0.0)) * (1.0 - (st.link / st.text if st.text else 1.0))

    best, best_score = None, 0.0
    for el in scores:
        score = adjusted(el)
        if score > best_score:
            best, best_score = el, score
    return _widen_to_siblings(best, best_score, adjusted, stats, stop) if best is not None else None


# An article split into sections or pages (<section>s, page <div>s), or
# whose first paragraphs sit beside a wrapper <div> holding the rest, has its
# paragraphs' credit spread over several siblings; the best one alone is a
# fragment.  When the siblings of the same kind (_same_kind) together score
# this share of the best, their parent is taken (readability merges siblings above 0.2 of the top score) ...
_SIBLING_SHARE = 0.3
# ... when the common parent is not a link list.
_WIDEN_MAX_LINK_DENSITY = 0.3
_WIDEN_LEVELS = 3


def _same_kind(sibling: lxml.etree._Element, best: HtmlElement) -> bool:
    """A further section or page of the same article (same tag and class as
    the best block), or a plain paragraph beside it; not a differently named
    block (author box, teaser list) that happens to hold prose."""
    if sibling.tag == "p":
        return True
    return sibling.tag == best.tag and (sibling.get("class") or "") == (best.get("class") or "")


def _widen_to_siblings(best: HtmlElement, best_score: float, adjusted: Callable[[HtmlElement], float], stats: dict[HtmlElement, _Stats], stop: HtmlElement | None) -> HtmlElement:
    """The parent of ``best`` (repeatedly, not up to ``stop``) while its siblings also score as prose."""
    for _ in range(_WIDEN_LEVELS):
        parent = best.getparent()
        st = stats.get(parent) if parent is not None and parent is not stop else None
        if st is None or not st.text or st.link / st.text > _WIDEN_MAX_LINK_DENSITY:
            break
        if sum(adjusted(child) for child in parent if child is not best and _same_kind(child, best)) < _SIBLING_SHARE * best_score:
            break
        best = parent
    return best


_HEADLINE_TAGS = ("h1", "h2", "h3", "h4", "header", "div", "td", "span", "p", "strong", "b", "font")


def _compact(text: str) -> str:
    return _WS.sub("", text).replace(" ", "").replace("\n", "")


def headline_container(root: HtmlElement, title: str | None, min_chars: int = 200, *, scan: DensityScan | None = None) -> HtmlElement | None:
    """The nearest ancestor of the headline element that also holds at least
    ``min_chars`` of text outside links besides the headline: the article's
    own box on portal pages whose related-story and teaser blocks outweigh a
    short article.  None when the headline is not found as an element."""
    if not title:
        return None
    want = _compact(title)
    if len(want) < 4:
        return None
    if scan is not None:
        body, stats = scan.body, scan.stats
    else:
        body = root.find(".//body")
        if body is None:
            body = root
        stats = _collect_stats(body)
    headline = None
    for el in body.iter(*_HEADLINE_TAGS):
        st = stats.get(el)
        # stats count characters without whitespace: a cheap filter before comparing text.
        if st is None or abs(st.text - len(want)) > 2 or st.link * 2 > st.text:
            continue
        if _compact("".join(el.itertext())) == want:
            headline = el
            break
    if headline is None:
        return None
    own = stats[headline].text
    for anc in headline.iterancestors():
        st = stats.get(anc)
        if st is None:
            return None
        if st.text - st.link - own >= min_chars:
            return anc
    return None


def prune_link_blocks(el: HtmlElement, noise_words: frozenset[str]) -> None:
    """Inside a chosen body container, drop link lists and named noise blocks."""
    stats = _collect_stats(el)
    for child in list(el.iter()):
        if child is el or not isinstance(child.tag, str) or child.getparent() is None:
            continue
        st = stats.get(child)
        if st is None:
            continue
        if (has_class_word(child, noise_words) and child.tag not in ("p", "span", "font")) or (child.tag in ("ul", "ol", "table", "div", "dl") and st.text and st.link / st.text > 0.6) or (child.tag in ("table", "ul", "ol", "dl") and st.text >= 30 and _is_data_block(child)):
            drop(child)


def _is_data_block(el: HtmlElement) -> bool:
    """A table or list of short unpunctuated cells (infobox, menu), not prose."""
    text = "".join(el.itertext())
    return len(_SENTENCE_PUNCT.findall(text)) * 100 < len(text) * 0.5


def lines_to_text(lines: Iterable[str]) -> str:
    return "\n\n".join(line for line in lines if line)


def iter_elements(root: HtmlElement, tags: Iterable[str]) -> Iterator[HtmlElement]:
    yield from root.iter(*tags)
