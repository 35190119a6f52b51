"""Digest → subject, HTML and plain text, in the subscriber's language.

Crawled titles are untrusted: the HTML template is autoescaped, links are
limited to http(s), and the subject is made of our own words only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from digests.build import Digest, EventItem
from digests.numbers import format_quantity

TEMPLATES = Path(__file__).with_name("templates")

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title_weekly": "产业链政策周报", "title_daily": "产业链政策日报",
        "greeting": "{name}，您好：", "summary": "本期共 {stories} 条报道（{articles} 篇文章）。",
        "filters": "订阅范围", "all": "全部地区和产业链",
        "alliances": "新成立的产业联盟", "targets": "量化目标", "chain_chief": "链长制动态",
        "stories": "本期报道（按地区、产业链）", "counts": "统计", "by_region": "按地区", "by_chain": "按产业链",
        "stories_n": "条报道", "articles_n": "篇文章", "sources": "来源", "evidence": "原文",
        "target_year": "{year}年", "region_none": "未标注地区", "chain_none": "其他",
        "period": "统计周期", "timezone": "时区", "failed": "本期抓取失败的来源",
        "errors_n": "次错误", "unsubscribe": "退订", "unsubscribe_text": "不想再收到此邮件？退订：",
        "empty": "本期（{period}）没有新的相关报道。", "region": "地区", "chain": "产业链",
        "about": "本邮件由 chainwatch 自动生成。",
        "more_stories": "另有 {n} 条来源较少的报道未列出，可在 chainwatch 网页版按地区、产业链检索。",
    },
    "en": {
        "title_weekly": "Industry-chain policy weekly", "title_daily": "Industry-chain policy daily",
        "greeting": "Dear {name},", "summary": "{stories} stories ({articles} articles) this period.",
        "filters": "Subscription", "all": "all regions and chains",
        "alliances": "New industry alliances", "targets": "Quantified targets",
        "chain_chief": "Chain-chief system news", "stories": "Stories by region and chain", "counts": "Counts",
        "by_region": "By region", "by_chain": "By chain", "stories_n": "stories", "articles_n": "articles",
        "sources": "Sources", "evidence": "Evidence", "target_year": "by {year}",
        "region_none": "No region tagged", "chain_none": "Other", "period": "Period", "timezone": "Time zone",
        "failed": "Sources that failed to crawl this period", "errors_n": "errors",
        "unsubscribe": "Unsubscribe", "unsubscribe_text": "No longer want this email? Unsubscribe:",
        "empty": "No new relevant stories for {period}.", "region": "Region", "chain": "Chain",
        "about": "Generated automatically by chainwatch.",
        "more_stories": "{n} more stories with fewer sources are not listed; search the archive in the chainwatch "
                        "web app by region and chain.",
    },
}


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")


def oneline(value: object) -> str:
    """Collapse CR, LF and other control characters: a title stays one line in text and headers."""
    return _CONTROL.sub(" ", "" if value is None else str(value)).strip()


def safe_url(value: object) -> str:
    url = oneline(value)
    return url if re.match(r"^https?://", url, re.I) else "#"


def _fmt_date(value: date | None) -> str:
    return value.isoformat() if value else ""


@cache
def _env(autoescape: bool) -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html"]) if autoescape else False,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(oneline=oneline, safe_url=safe_url, day=_fmt_date)
    return env


def subject_for(digest: Digest) -> str:
    """Built from our own words and the period key only; nothing crawled goes into a header."""
    lab = LABELS[_lang(digest)]
    title = lab["title_daily"] if digest.period.kind == "daily" else lab["title_weekly"]
    if digest.is_empty:
        return oneline(f"{title} {digest.period.key}")
    count = f"（{digest.story_count}条）" if _lang(digest) == "zh" else f" ({digest.story_count} stories)"
    return oneline(f"{title} {digest.period.key}{count}")


def quantity(item: EventItem, language: str) -> str:
    return format_quantity(item.value, item.unit, language, item.metric)


def render(digest: Digest) -> Rendered:
    lang = _lang(digest)
    lab = LABELS[lang]
    ctx = {
        "d": digest, "L": lab, "lang": lang, "qty": lambda item: quantity(item, lang),
        "title": lab["title_daily"] if digest.period.kind == "daily" else lab["title_weekly"],
        "period_label": digest.period.label(lang),
        "empty_line": lab["empty"].format(period=digest.period.key),
        "greeting": lab["greeting"].format(name=digest.subscriber_name) if digest.subscriber_name else "",
        "summary": lab["summary"].format(stories=digest.story_count, articles=digest.article_count),
    }
    html = _env(True).get_template("digest.html").render(**ctx)
    text = _env(False).get_template("digest.txt").render(**ctx)
    return Rendered(subject=subject_for(digest), html=html, text=text)


def _lang(digest: Digest) -> str:
    return digest.language if digest.language in LABELS else "zh"
