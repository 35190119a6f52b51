"""Jinja2 environment for the pages: autoescaped, with the UI language and labels.

The UI is Chinese first with English available (``?lang=en`` toggle, else the
browser's Accept-Language); templates write both and ``t(zh, en)`` picks one.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

TEMPLATES = Path(__file__).with_name("templates")
EVENT_LABELS = {"alliance": ("产业联盟", "Alliance"), "target": ("量化目标", "Target"),
                "chain_chief": ("链长制", "Chain chief")}
ROLE_LABELS = {"reader": ("读者", "Reader"), "editor": ("编辑", "Editor"), "admin": ("管理员", "Admin")}
LANG_LABELS = {"zh": ("简体中文", "Chinese"), "zh-hant": ("繁体中文", "Traditional Chinese"),
               "en": ("英文", "English")}
STRATEGY_LABELS = {"feed": ("RSS/Atom 订阅", "Feed"), "sitemap": ("站点地图", "Sitemap"),
                   "listing": ("列表页", "Listing pages")}


def ui_lang(request: Request) -> str:
    chosen = request.cookies.get("cw_lang")
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "zh"


def _tz(request: Request) -> ZoneInfo:
    return ZoneInfo(request.app.state.ctx.config.timezone or "Asia/Shanghai")


def _context(request: Request) -> dict[str, Any]:
    lang = ui_lang(request)
    principal = getattr(request.state, "principal", None)
    tz = _tz(request)

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    def label(table: dict[str, tuple[str, str]], key: str | None) -> str:
        if key is None:
            return ""
        pair = table.get(key) or table.get(key.lower())
        return t(*pair) if pair else key

    def chain_label(slug: str | None) -> str:
        if not slug:
            return ""
        try:
            from digests.labels import chain_name

            return chain_name(slug, "en" if lang == "en" else "zh") or slug
        except Exception:  # labels module absent or slug unknown: the slug is still meaningful
            return slug

    def fmt_dt(value: datetime | date | None, with_time: bool = False) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            local = value.astimezone(tz) if value.tzinfo else value
            return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")
        return value.isoformat()

    def quantity(value: float | None, unit: str | None, metric: str | None = None) -> str:
        """3300亿元 / 330 billion yuan, as the digest writes it (not 3.3e+11CNY)."""
        from digests.numbers import format_quantity

        return format_quantity(value, unit, "en" if lang == "en" else "zh", metric)

    def safe_url(url: str | None) -> str:
        """Crawled links are data: only http(s) ones become clickable (no javascript: URLs)."""
        return url if url and url.lower().startswith(("http://", "https://")) else "#"

    def url_with(base: str, params: dict[str, Any], **changes: Any) -> str:
        merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "", False)}
        return base + ("?" + urlencode(merged) if merged else "")

    return {
        "lang": lang, "t": t, "label": label, "EVENT_LABELS": EVENT_LABELS, "ROLE_LABELS": ROLE_LABELS,
        "LANG_LABELS": LANG_LABELS, "STRATEGY_LABELS": STRATEGY_LABELS, "chain_label": chain_label,
        "fmt_dt": fmt_dt, "quantity": quantity, "url_with": url_with, "safe_url": safe_url,
        "user": principal.user if principal else None,
        "csrf_token": principal.csrf if principal and principal.csrf else getattr(request.state, "pre_csrf", ""),
        "path": request.url.path,
    }


templates = Jinja2Templates(directory=str(TEMPLATES), context_processors=[_context])


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(request, name, context, status_code=status_code)
