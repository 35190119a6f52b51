"""Feeds as sites write them: relative links, GBK bytes, Atom."""

from __future__ import annotations

from crawler.feeds import parse_feed

RSS_RELATIVE = """<?xml version="1.0" encoding="gbk"?>
<rss version="2.0"><channel><title>工信动态</title>
<item><title>全市召开产业链链长制工作推进会</title><link>/gzdt/202211/t20221108_1.html</link>
<pubDate>Tue, 08 Nov 2022 09:30:00 +0800</pubDate></item>
<item><title>无链接的条目</title></item>
<item><title>脚本链接</title><link>javascript:alert(1)</link></item>
</channel></rss>""".encode("gbk")

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>News</title>
<entry><title>Alliance founded</title><link href="https://news.example.com/a/1"/>
<updated>2022-11-03T08:00:00Z</updated></entry></feed>"""


def test_relative_links_resolve_against_the_feed_url_and_junk_entries_are_left_out() -> None:
    entries = parse_feed(RSS_RELATIVE, "http://gxj.example.gov.cn/rss.xml")
    assert [e.url for e in entries] == ["http://gxj.example.gov.cn/gzdt/202211/t20221108_1.html"]
    assert entries[0].title == "全市召开产业链链长制工作推进会"
    assert entries[0].date is not None and entries[0].date.isoformat().startswith("2022-11-08")


def test_without_a_base_relative_links_are_dropped_and_atom_reads() -> None:
    assert parse_feed(RSS_RELATIVE) == []
    (entry,) = parse_feed(ATOM)
    assert entry.url == "https://news.example.com/a/1" and entry.title == "Alliance founded"


def test_html_is_not_a_feed() -> None:
    assert parse_feed(b"<html><body><p>not a feed</p></body></html>") is None
