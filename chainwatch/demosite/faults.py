"""Fault pages (`faults=True`): what each misbehaving URL answers, planned per site and per `now`."""

from __future__ import annotations

import itertools
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chainwatch.demosite.content import article_path
from chainwatch.demosite.models import Article, SiteSpec
from chainwatch.demosite.pages import Page, encode_html, make_page

# kinds the server handles: flaky (500 twice, then the page), busy (429 + Retry-After once, then the page),
# hang (wait, then the page), static (the page as is), redirect (status + Location), bomb, endless
LINKED = ("hang", "truncated", "pdf", "charset", "hop1", "loop1", "empty", "bomb", "endless")
SYNTHETIC = ("hang", "truncated", "pdf", "charset", "hop1", "hop2", "hop3", "loop1", "loop2", "empty", "bomb",
             "endless")


@dataclass(frozen=True)
class Fault:
    kind: str
    page: Page | None = None
    status: int = 200
    location: str = ""


@dataclass
class FaultPlan:
    paths: dict[str, str] = field(default_factory=dict)  # fault name -> path
    routes: dict[str, Fault] = field(default_factory=dict)  # path -> fault
    links: list[dict[str, Any]] = field(default_factory=list)  # entries for home and first listing


RenderArticle = Callable[[dict[str, Any]], str]


def _fault_id(visible: tuple[Article, ...], index: int) -> str:
    numeric = [int(a.id) for a in visible if a.id.isdigit()]
    base = max(numeric) if numeric else 100000
    return str(base + 41 + 7 * index)


def _text(texts: dict[str, Any], name: str, variant: str) -> dict[str, str]:
    entry = texts.get("pages", {}).get(name, {})
    return {"title": entry.get(variant) or entry.get("zh", name), "slug": entry.get("slug", name)}


def _truncate(html: str, encoding: str, lang: str) -> bytes:
    """Cut the page inside an <img> tag's alt text, halfway through a multibyte character."""
    cut_at = html.rfind("</p>")
    cut_at = cut_at + 4 if cut_at > 0 else len(html) // 2
    prefix, char = ("Photo shows the ", "\u201c") if lang == "en" else ("图为产业园区", "全")
    head = encode_html(html[:cut_at] + '\n<p class="pic"><img src="/uploads/2026/fx-pic.jpg" alt="' + prefix, encoding)
    return head + char.encode(encoding)[:1]


def minimal_pdf(title: str) -> bytes:
    """A small, valid one-page PDF (ASCII text only)."""
    stream = f"BT /F1 14 Tf 72 760 Td ({title}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


_BOMB_LOCK = threading.Lock()
_BOMB: bytes | None = None
BOMB_INFLATED_MB = 110


def gzip_bomb() -> bytes:
    """Gzip bytes (about 110 KB) that inflate to an HTML prefix and 110 MB of spaces; built once."""
    global _BOMB
    with _BOMB_LOCK:
        if _BOMB is None:
            packer = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
            parts = [packer.compress(b"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>")]
            block = b" " * (1 << 20)
            parts.extend(packer.compress(block) for _ in range(BOMB_INFLATED_MB))
            parts.append(packer.flush())
            _BOMB = b"".join(parts)
        return _BOMB


def plan_faults(site: SiteSpec, base_url: str, visible: tuple[Article, ...], article_pages: dict[str, Page],
                texts: dict[str, Any], render_article: RenderArticle, html_type: str) -> FaultPlan:
    """Where each fault lives on this site now, and what it answers."""
    plan = FaultPlan()
    if not visible:
        return plan
    variant = site.info.get("script", "zh") if site.lang != "en" else "en"
    newest = visible[0].published
    oldest_first = sorted(visible, key=lambda a: (a.published, a.id))
    # real articles that misbehave: the oldest answers 500 twice, the second oldest 429 once
    for name, kind, article in zip(("flaky", "busy"), ("flaky", "busy"), oldest_first, strict=False):
        plan.paths[name] = article.path
        plan.routes[article.path] = Fault(kind, page=article_pages[article.path])
    target = oldest_first[2] if len(oldest_first) > 2 else oldest_first[-1]
    plan.paths["target"] = target.path

    for index, name in enumerate(SYNTHETIC):
        words = _text(texts, name, variant)
        path = article_path(site.article_path, id=_fault_id(visible, index), slug=words["slug"],
                            section=site.sections[0].key, published=newest)
        plan.paths[name] = path
        if name in LINKED:
            plan.links.append({"title": words["title"], "url": path, "abs_url": base_url + path.lstrip("/"),
                               "published": newest, "date": newest.date().isoformat(), "summary": ""})

    def synthetic(name: str) -> str:
        words = _text(texts, name, variant)
        body = texts.get("body", {}).get(variant) or texts.get("body", {}).get("zh") or [words["title"]]
        path = plan.paths[name]
        return render_article({
            "title": words["title"], "published": newest, "date": newest.date().isoformat(), "url": path,
            "abs_url": base_url + path.lstrip("/"), "paragraphs": list(body), "summary": body[0],
            "source": site.name, "author": "", "editor": "", "id": path, "section": site.sections[0].key,
            "tags": [],
        })

    other = "gbk" if site.encoding.lower().replace("-", "") in ("utf8",) else "utf-8"
    base_html = synthetic("truncated")
    routes = plan.routes
    routes[plan.paths["hang"]] = Fault("hang", page=make_page(encode_html(synthetic("hang"), site.encoding),
                                                              html_type))
    routes[plan.paths["truncated"]] = Fault("static", page=make_page(
        _truncate(base_html, site.encoding, site.lang), html_type))
    routes[plan.paths["pdf"]] = Fault("static", page=make_page(
        minimal_pdf("Chainwatch demo notice 2026"), "application/pdf"))
    routes[plan.paths["charset"]] = Fault("static", page=make_page(encode_html(synthetic("charset"), other),
                                                                   html_type))
    routes[plan.paths["empty"]] = Fault("static", page=make_page(b"", html_type))
    hops = [plan.paths["hop1"], plan.paths["hop2"], plan.paths["hop3"], plan.paths["target"]]
    for (src, dst), status in zip(itertools.pairwise(hops), (301, 302, 307), strict=True):
        location = base_url + dst.lstrip("/") if status == 301 else dst
        routes[src] = Fault("redirect", status=status, location=location)
    routes[plan.paths["loop1"]] = Fault("redirect", status=302, location=plan.paths["loop2"])
    routes[plan.paths["loop2"]] = Fault("redirect", status=302, location=base_url + plan.paths["loop1"].lstrip("/"))
    routes[plan.paths["bomb"]] = Fault("bomb")
    routes[plan.paths["endless"]] = Fault("endless")
    return plan

