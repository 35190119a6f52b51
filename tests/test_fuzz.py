"""Hostile input: everything a site sends goes through parsers that must not crash, hang or lie.

Property-based (hypothesis) tests over the feed, sitemap and listing-page readers, the encoding
detector, the extractor, the date parsers, the number reader and the tagger. Inputs are built
from structure (random tag trees, deeply nested and broken markup, bytes under a declared GBK
or Big5 charset, huge numbers, Chinese numerals, full-width digits) as well as plain random
text and bytes. Each property asserts that only documented exceptions escape (none, for all of
these), that one example finishes within a deadline, and an invariant of the result.

Bounded for CI by the ``chainwatch-ci`` profile (about 100-150 examples per test, the file in
well under a minute). ``CHAINWATCH_FUZZ_EXAMPLES=5000 ./run test -k fuzz`` runs longer locally.
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import os
import re
import time
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from crawler import feeds, listing
from crawler.encoding import decode_html, normalize_encoding_name
from crawler.extract_dates import date_from_url, find_date, parse_date_value
from crawler.extraction import extract_article
from crawler.urls import canonical_url, same_site
from tagging.analyzer import Tagger
from tagging.numbers import en_quantities, zh_quantities

_EXAMPLES = int(os.environ.get("CHAINWATCH_FUZZ_EXAMPLES", "0"))
settings.register_profile(
    "chainwatch-ci", max_examples=_EXAMPLES or 120, deadline=dt.timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], print_blob=True)
settings.load_profile("chainwatch-ci")
FEW = _EXAMPLES or 60  # for the slow properties (extraction runs three extractors per page)

SITE = "http://news.example.cn/"
PAGE = "http://news.example.cn/cyjj/index.html"
TODAY = dt.date.today()
NUMBER_UNITS = {None, "CNY", "USD", "%", "count", "ton", "mu", "kWh", "other", "pp", "times", "other-count"}

# ------------------------------------------------------------------------------------------ strategies
ZH_WORDS = ["洛阳", "河南省", "轴承", "产业联盟", "成立", "正式成立", "揭牌", "力争", "到2025年", "突破", "亿元",
            "万吨", "链长制", "链主", "同比增长", "目标", "。", "，", "；", "、", "（", "）", "《", "》", "“", "”",
            "三千三百亿", "五百亿元", "一二三四五六七八九十百千万亿", "２０２４年１１月３日", "１２３４５", "％",
            "个百分点", "第", "年", "月", "日", "会上", "截至", "去年", "集成电路", "新能源汽车", "苏州市", "工业园区"]
EN_WORDS = ["Luoyang", "bearing", "industry", "alliance", "was", "established", "by", "2025", "will", "strive",
            "to", "reach", "billion", "yuan", "million", "percent", "%", "US$", "RMB", "tons", "year-on-year",
            "chain", "chief", "system", "on", "November", "3,", "the", "of", "and", ".", ",", ";", "enterprises",
            "with", "more", "than", "1,234,567.89", "1e308", "0.0000001"]
NUMBERISH = ["0", "1", "9" * 30, "9" * 400, "1,000", "1,00", "3.14", ".5", "5.", "1.2.3", "００", "１２３", "٣",
             "三千三百亿", "两万", "十", "亿", "万亿", "千", "万", "%", "％", "元", "美元", "吨", "亩", "GWh", "倍", "-",
             "—", "~", "年", "第", " ", "，", "billion", "trillion", "hundred million", "US$", "$", "yuan",
             "percent", "times", "No.", "number", "Nov.", "2025", "1999"]


def joined(words: list[str], max_size: int = 40) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(words), st.text(max_size=6)), max_size=max_size).map(
        lambda parts: "".join(parts))


def spaced(words: list[str], max_size: int = 40) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(words), st.text(max_size=6)), max_size=max_size).map(" ".join)


HREFS = st.one_of(
    st.sampled_from([
        "/2024/11/t20241103_123.html", "2024/1103/456.shtml", "../a/b/c/7788.htm", "?page=2", "#top", "", " ",
        "index_1.html", "http://news.example.cn/art/2024/11/3/art_1_2.html", "https://www.news.example.cn/x/9999",
        "http://sub.news.example.cn/y/12345.html", "http://evil.example/2024/11/03/1234.html", "//evil.example/x",
        "javascript:alert(1)", "JAVASCRIPT:void(0)", "mailto:a@b.c", "tel:123", "data:text/html,<b>", "ftp://x/y",
        "http://[::1", "http://[oops/a", "http://news.example.cn:99999/2024/11/1234.html", "http://:80/x",
        "http://news.example.cn:abc/1", "\\\\evil.example\\x", "http:\\\\evil.example", " \t\nhttp://news.example.cn/a/1234 ",
        "http://新闻.example.cn/2024/1.html", "http://news.example.cn/%zz/1234", "http://user:pw@news.example.cn/1234",
        "http://0x7f.1/", "http://2130706433/", "http://news.example.cn/\x00/1234", "https://[fe80::1%25eth0]/",
    ]),
    st.text(max_size=30),
)
TAGS = ["a", "div", "p", "li", "ul", "ol", "span", "td", "tr", "table", "h1", "h2", "title", "article", "section",
        "time", "font", "b", "i", "script", "style", "noscript", "iframe", "form", "svg", "math", "template",
        "textarea", "select", "option", "pre", "br", "img", "meta", "link", "base", "head", "body", "html"]
ATTR_NAMES = ["href", "title", "class", "id", "rel", "type", "datetime", "content", "name", "property", "charset",
              "http-equiv", "style", "onclick", "src", "itemprop"]
ATTR_VALUES = st.one_of(HREFS, st.sampled_from([
    "next", "alternate", "application/rss+xml", "application/atom+xml", "2024-11-03T08:00:00+08:00",
    "2024年11月3日", "9999-12-31", "0000-00-00", "article:published_time", "pubdate", "gbk", "big5",
    "text/html; charset=gb2312", "application/ld+json", "下一页", "尾页", ">>", "content", "TRS_Editor"]))
TEXTS = st.one_of(joined(ZH_WORDS, 12), spaced(EN_WORDS, 12), st.sampled_from(
    ["下一页", "尾页", "首页", "上一页", ">", "»", "2024-11-03", "2024年11月3日", "11-03", "Nov 3, 2024",
     "&nbsp;", "&#0;", "&#xD800;", "&amp;&lt;", "<", ">", "]]>", "<!--", "-->", "<![CDATA[", "\x00", "\ufeff",
     'createPageHTML(10, 0, "index", "html");', "createPage(3,1,'index_','shtml')"]), st.text(max_size=20))


@st.composite
def attrs(draw: st.DrawFn) -> str:
    out = []
    for name, value in draw(st.lists(st.tuples(st.sampled_from(ATTR_NAMES), ATTR_VALUES), max_size=3)):
        quote = draw(st.sampled_from(['"', "'", ""]))
        out.append(f"{name}={quote}{value}{quote}" if quote or " " not in value else f'{name}="{value}"')
    return (" " + " ".join(out)) if out else ""


@st.composite
def element(draw: st.DrawFn, children: st.SearchStrategy[str]) -> str:
    tag = draw(st.sampled_from(TAGS))
    inner = "".join(draw(st.lists(children, max_size=4)))
    close = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", f"</{tag}>", "", "</div>", f"</{tag}"]))
    return f"<{tag}{draw(attrs())}>{inner}{close}"


HTML_TREES = st.recursive(TEXTS, lambda children: element(children), max_leaves=40)


@st.composite
def html_documents(draw: st.DrawFn) -> str:
    body = draw(HTML_TREES)
    prefix = draw(st.sampled_from(["", "<!DOCTYPE html>", '<?xml version="1.0" encoding="gbk"?>', "\ufeff",
                                   '<html><head><meta charset="utf-8"><title>洛阳日报 - 首页</title></head><body>',
                                   '<base href="http://news.example.cn/base/">', "<base href='javascript:x'>",
                                   "<base href='http://[bad'>", "<html><frameset>"]))
    return prefix + body


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=50, max_value=3000))
    tag = draw(st.sampled_from(["div", "span", "table", "li", "a href='/2024/11/1234.html'", "font", "b"]))
    name = tag.split()[0]
    closing = draw(st.booleans())
    return f"<{tag}>" * depth + "洛阳轴承产业联盟正式成立 2024-11-03" + (f"</{name}>" * depth if closing else "")


ANY_HTML = st.one_of(html_documents(), deep_nesting(), st.text(max_size=300))

CHARSETS = ["gbk", "gb2312", "GB18030", "big5", "BIG5-HKSCS", "utf-8", "utf-16", "utf-32", "shift_jis", "x-bogus",
            "latin1", "utf-7", "", "rot13", "hex", "base64", "zlib", "idna", "mbcs", "cp65001", "undefined",
            "unicode_escape", "raw_unicode_escape", "punycode"]


@st.composite
def declared_bytes(draw: st.DrawFn) -> tuple[bytes, str | None]:
    charset = draw(st.sampled_from(CHARSETS))
    body = draw(st.one_of(
        st.binary(max_size=400),
        st.text(max_size=100).map(lambda t: t.encode("gb18030", "replace")),
        st.text(max_size=100).map(lambda t: t.encode("big5hkscs", "replace")),
        joined(ZH_WORDS, 20).map(lambda t: t.encode("gbk", "replace")),
        joined(ZH_WORDS, 20).map(lambda t: t.encode("big5", "replace")),
    ))
    where = draw(st.sampled_from(["meta", "http-equiv", "header", "both", "none", "bom"]))
    header = None
    if where == "meta":
        body = f'<meta charset="{charset}">'.encode() + body
    elif where == "http-equiv":
        body = f'<meta http-equiv="Content-Type" content="text/html; charset={charset}">'.encode() + body
    elif where == "header":
        header = f"text/html; charset={charset}"
    elif where == "both":
        header = f"text/html;charset='{charset}'"
        body = f'<meta charset="{draw(st.sampled_from(CHARSETS))}">'.encode() + body
    elif where == "bom":
        body = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00"])) + body
    return body, header


def _is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.hostname)


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    t = Tagger.default()
    t.analyze("预热", "洛阳轴承产业联盟正式成立。")  # load data files outside the deadline
    return t


# ------------------------------------------------------------------------------------------ listing pages
@given(html=ANY_HTML)
@example(html='<a href="http://[x/a">洛阳轴承产业联盟正式成立大会召开</a>')
@example(html="<base href='http://[bad'><a href='/2024/11/1234.html'>洛阳轴承产业联盟正式成立大会召开</a>")
def test_listing_links_are_absolute_same_site_urls(html: str) -> None:
    page = listing.analyse_listing(html, PAGE, SITE)
    for link in [*page.articles, *page.sections]:
        assert _is_web_url(link.url) and same_site(link.url, SITE), link.url
        assert "#" not in link.url
        assert link.date is None or 1900 <= link.date.year <= 2099
        assert math.isfinite(link.score)
    for url in (page.next_url, page.last_url):
        assert url is None or (_is_web_url(url) and same_site(url, SITE)), url
    for url in page.feeds:
        assert _is_web_url(url), url


@given(html=ANY_HTML, allow=st.lists(st.sampled_from([r"\d{4}", "art_", "(", "[", r"^http"]), max_size=2),
       deny=st.lists(st.sampled_from(["evil", r"\?", "index", "*"]), max_size=2))
@settings(max_examples=FEW)
def test_listing_with_allow_and_deny_patterns(html: str, allow: list[str], deny: list[str]) -> None:
    def valid(p: str) -> bool:
        try:
            re.compile(p)
        except re.error:
            return False
        return True

    assume(all(map(valid, allow + deny)))  # sources.validate_overrides refuses the others
    page = listing.analyse_listing(html, PAGE, SITE, allow, deny)
    for link in page.articles:
        assert same_site(link.url, SITE) and not any(re.search(p, link.url) for p in deny)


def test_listing_page_with_an_xml_declaration_still_has_links() -> None:
    items = "".join(f'<li><a href="/2024/11/t2024110{i}_{i}.html">洛阳轴承产业联盟第{i}次理事会在洛阳召开</a>'
                    f"<span>2024-11-0{i}</span></li>" for i in range(1, 6))
    html = f'<?xml version="1.0" encoding="utf-8"?>\n<html><body><ul>{items}</ul>\x00</body></html>'
    page = listing.analyse_listing(html, PAGE, SITE)
    assert len(page.articles) == 5


@given(html=deep_nesting())
@settings(max_examples=min(FEW, 30))
def test_deeply_nested_listing_is_fast(html: str) -> None:
    start = time.perf_counter()
    listing.analyse_listing(html, PAGE, SITE)
    assert time.perf_counter() - start < 2


@given(text=st.one_of(joined([*ZH_WORDS, "2024-11-03", "1999/1/1", "2099.12.31", "11-03", "13-45", "Feb 30, 2024"]),
                      st.text()))
def test_listing_find_date_is_a_real_date(text: str) -> None:
    when = listing.find_date(text)
    assert when is None or isinstance(when, dt.date)


@given(url=HREFS, home=st.sampled_from([SITE, "https://www.news.example.cn", "http://[::1]/", "", "http://[x"]))
def test_url_helpers_never_raise(url: str, home: str) -> None:
    assert isinstance(same_site(url, home), bool)
    key = canonical_url(url)
    assert isinstance(key, str)


# ------------------------------------------------------------------------------------------ feeds and sitemaps
FEED_ITEM = st.builds(
    lambda link, title, date: f"<item><title>{title}</title><link>{link}</link><pubDate>{date}</pubDate></item>",
    HREFS, TEXTS, st.sampled_from(["Sun, 03 Nov 2024 08:00:00 +0800", "Sun, 03 Nov 9999 08:00:00 GMT",
                                   "Mon, 01 Jan 0001 00:00:00 GMT", "2024-11-03", "yesterday", "", "&#0;",
                                   "Tue, 31 Feb 2024 25:61:61 +9999", "1e400"]))


@st.composite
def feed_documents(draw: st.DrawFn) -> bytes:
    items = "".join(draw(st.lists(FEED_ITEM, max_size=6)))
    kind = draw(st.sampled_from(["rss", "atom", "rdf", "broken", "entity"]))
    if kind == "rss":
        doc = f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'
    elif kind == "atom":
        doc = ('<feed xmlns="http://www.w3.org/2005/Atom">' + items.replace("<item>", "<entry>")
               .replace("</item>", "</entry>") + "</feed>")
    elif kind == "rdf":
        doc = f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">{items}</rdf:RDF>'
    elif kind == "entity":
        doc = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">'
               '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">'
               '<!ENTITY x SYSTEM "file:///etc/passwd">]>'
               f'<rss version="2.0"><channel><title>&d;&x;</title>{items}</channel></rss>')
    else:
        doc = items[: draw(st.integers(0, len(items)))]
    return doc.encode(draw(st.sampled_from(["utf-8", "gb18030", "utf-16"])), "replace")


@given(body=st.one_of(feed_documents(), st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
@example(body=b'<rss version="2.0"><channel><item><title>&#xD800;</title><link>http://x.cn/1</link></item></channel></rss>')
@settings(max_examples=FEW)
def test_feed_entries_are_web_urls_with_sane_dates(body: bytes) -> None:
    entries = feeds.parse_feed(body)
    assert entries is None or isinstance(entries, list)
    for entry in entries or []:
        assert _is_web_url(entry.url), entry.url
        assert entry.date is None or dt.date(1970, 1, 1) <= entry.date <= TODAY + dt.timedelta(days=366)
        assert "root:" not in (entry.title or "")  # no external entities


@st.composite
def sitemap_documents(draw: st.DrawFn) -> bytes:
    locs = draw(st.lists(st.tuples(HREFS, st.sampled_from(
        ["2024-11-03", "2024-11-03T08:00:00+08:00", "9999-12-31", "0001-01-01", "2024-13-45", "", "今天", "2024"])),
        max_size=6))
    kind = draw(st.sampled_from(["urlset", "sitemapindex", "other"]))
    child = "url" if kind != "sitemapindex" else "sitemap"
    body = "".join(f"<{child}><loc>{loc}</loc><lastmod>{mod}</lastmod></{child}>" for loc, mod in locs)
    doc = (f'<?xml version="1.0" encoding="UTF-8"?><{kind} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           f"{body}</{kind}>").encode()
    if draw(st.booleans()):
        doc = doc[: draw(st.integers(0, len(doc)))]
    if draw(st.booleans()):
        doc = gzip.compress(doc)
    return doc


@given(body=st.one_of(sitemap_documents(), st.binary(max_size=300),
                      st.binary(max_size=300).map(lambda b: b"\x1f\x8b" + b)))
def test_sitemap_entries_are_web_urls_with_sane_dates(body: bytes) -> None:
    content = feeds.parse_sitemap(body)
    if content is None:
        return
    assert content.kind in ("urlset", "sitemapindex")
    for entry in content.entries:
        assert _is_web_url(entry.url), entry.url
        assert entry.date is None or dt.date(1970, 1, 1) <= entry.date <= TODAY + dt.timedelta(days=366)


def test_gzip_bomb_sitemap_is_bounded() -> None:
    """A small .xml.gz that inflates to gigabytes is cut off, not inflated into memory."""
    import resource

    head = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>'
    compressor = __import__("zlib").compressobj(9, wbits=31)
    parts = [compressor.compress(head + b"http://news.example.cn/1.html</loc></url>")]
    zeros = b" " * (1 << 20)
    for _ in range(320):  # 320 MiB of whitespace, six times what a sitemap may hold
        parts.append(compressor.compress(zeros))
    parts.append(compressor.flush())
    bomb = b"".join(parts)
    assert len(bomb) < 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    feeds.parse_sitemap(bomb)
    assert time.perf_counter() - start < 20
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, f"inflating the sitemap took {grown_mb:.0f} MB"


@given(body=st.binary(max_size=300).map(lambda b: b + b"\nSitemap: http://x/s.xml\nsitemap:\n:"))
def test_sitemaps_from_robots(body: bytes) -> None:
    assert all(isinstance(u, str) and u for u in feeds.sitemaps_from_robots(body))


# ------------------------------------------------------------------------------------------ encodings
@given(case=declared_bytes(), override=st.one_of(st.none(), st.sampled_from(CHARSETS)))
@example(case=(b'<meta charset="utf-7">+AGEAYgBj-', None), override=None)
@example(case=(b"\xff\xfe\x00", "text/html; charset=utf-16"), override=None)
def test_decode_html_never_raises_and_names_a_real_codec(case: tuple[bytes, str | None], override: str | None) -> None:
    body, header = case
    text, encoding = decode_html(body, header, override)
    assert isinstance(text, str)
    import codecs

    codecs.lookup(encoding)
    assert encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be") or normalize_encoding_name(
        encoding) == encoding
    # web charsets only: a page declaring "rot13", "base64", "unicode_escape" or "punycode" is not read so
    assert not encoding.startswith(("rot", "base64", "zlib", "hex", "unicode", "raw-unicode", "punycode", "idna",
                                    "undefined", "charmap")), encoding


# ------------------------------------------------------------------------------------------ extraction
@given(html=ANY_HTML, url=st.sampled_from([PAGE, "", "http://news.example.cn/2024/11/03/1234.html", "not a url",
                                           "http://[x/2024/11/03/1.html"]))
@settings(max_examples=FEW, deadline=dt.timedelta(seconds=5))
def test_extractor_survives_any_html(html: str, url: str) -> None:
    art = extract_article(html, url)
    assert isinstance(art.text, str) and (art.title is None or isinstance(art.title, str))
    assert art.language and isinstance(art.language, str)
    if art.date:
        year = int(art.date[:4])
        assert 1990 <= year <= TODAY.year + 1, art.date


@given(case=declared_bytes())
@settings(max_examples=FEW, deadline=dt.timedelta(seconds=5))
def test_extractor_on_random_bytes_with_declared_charsets(case: tuple[bytes, str | None]) -> None:
    body, header = case
    html, _ = decode_html(body, header)
    art = extract_article(html, PAGE)
    assert isinstance(art.text, str)


# ------------------------------------------------------------------------------------------ dates
DATEY = joined([*ZH_WORDS, "2024-11-03", "2024/11/03 08:30", "2024.11.3", "1989-06-04", "2099-01-01", "0000", "2024-02-30", "２０２４－１１－０３", "2024年13月1日", "23:59:60", "T", "Z", "+08:00", "November 3, 2024", "3rd Nov 2024", "Sept. 31, 2024", "20241103", "/2024/11/3/"], 20)


def _sane_iso(value: str) -> None:
    parsed = dt.datetime.fromisoformat(value)
    assert 1990 <= parsed.year <= TODAY.year + 1, value


@given(text=st.one_of(DATEY, st.text(max_size=200)))
@example(text="2024-11-03T08:00:00+99:00")
def test_dates_are_real_dates_in_a_sane_range(text: str) -> None:
    hit = find_date(text)
    if hit is not None:
        value, pos = hit
        _sane_iso(value)
        assert pos >= 0
    value = parse_date_value(text)
    if value is not None:
        _sane_iso(value)
    value = date_from_url("http://news.example.cn" + text)
    if value is not None:
        _sane_iso(value)


def test_long_date_like_text_is_linear() -> None:
    for text in ("2024-" * 20000, "2024年11月" * 20000, "1" * 100_000, "November " * 20000, "2024 " * 20000):
        start = time.perf_counter()
        find_date(text)
        parse_date_value(text)
        date_from_url("/" + text)
        listing.find_date(text)
        assert time.perf_counter() - start < 2, text[:20]


# ------------------------------------------------------------------------------------------ numbers and events
NUMBER_TEXT = st.one_of(joined(NUMBERISH, 30), spaced(NUMBERISH, 30), st.text(max_size=200))


@given(text=NUMBER_TEXT)
@example(text="力争" + "9" * 400 + "亿元")
@example(text="9" * 400 + " billion yuan")
def test_numbers_are_finite_and_point_at_their_text(text: str) -> None:
    for q in [*zh_quantities(text), *en_quantities(text)]:
        assert math.isfinite(q.value) and q.value >= 0, q
        assert q.unit in NUMBER_UNITS, q.unit
        assert 0 <= q.start < q.end <= len(text)
        assert text[q.start : q.end] == q.raw


ARTICLE_TEXT = st.one_of(joined(ZH_WORDS, 60), spaced(EN_WORDS, 60), joined(NUMBERISH + ZH_WORDS, 60),
                         st.text(max_size=300))


@given(title=st.one_of(joined(ZH_WORDS, 10), spaced(EN_WORDS, 10), st.text(max_size=40)), text=ARTICLE_TEXT,
       language=st.sampled_from([None, "zh", "en", "zh-Hant", "xx"]),
       published=st.one_of(st.none(), st.dates(min_value=dt.date(1, 1, 1), max_value=dt.date(9999, 12, 31))),
       region=st.sampled_from([None, "410300", "999999", "", "x"]))
@settings(max_examples=FEW, deadline=dt.timedelta(seconds=3))
def test_tagger_survives_any_text(tagger: Tagger, title: str, text: str, language: str | None,
                                  published: dt.date | None, region: str | None) -> None:
    analysis = tagger.analyze(title, text, language=language, published=published, source_region=region)
    assert math.isfinite(analysis.relevance_score)
    for ev in analysis.events:
        assert ev.type in ("alliance", "target", "chain_chief")
        assert ev.value is None or (math.isfinite(ev.value) and ev.value >= 0)
        assert ev.start is None or ev.end is None or 0 <= ev.start <= ev.end
    for tag in [*analysis.regions, *analysis.chains]:
        assert math.isfinite(tag.score)
    import json

    json.dumps(analysis.to_dict(), allow_nan=False)  # the API and the database take it as it is


@pytest.mark.parametrize("english", [False, True])
def test_many_figures_in_one_clause_is_not_quadratic(tagger: Tagger, english: bool) -> None:
    """A table flattened into one clause (thousands of figures, no punctuation) used to take minutes."""
    if english:
        title, text = "bearing industry", "By 2025 the bearing industry will strive to reach " + "5 billion yuan and " * 6000
    else:
        title, text = "轴承产业", "到2025年力争" + "5亿元 " * 6000 + "。"
    start = time.perf_counter()
    tagger.analyze(title, text, language="en" if english else "zh")
    assert time.perf_counter() - start < 15


def test_huge_figures_are_not_targets_of_infinity(tagger: Tagger) -> None:
    analysis = tagger.analyze("洛阳轴承产业发展目标", "到2025年，洛阳市轴承产业规模力争突破" + "9" * 400 + "亿元，"
                              "规模以上轴承企业达到50家。")
    for ev in analysis.events:
        assert ev.value is None or math.isfinite(ev.value)
