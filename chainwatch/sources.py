"""Sources: the sites a team watches. Add by home page URL (discovery finds how to crawl it),
test without saving, list, change, enable/disable, remove, import/export as YAML."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from chainwatch.context import AppContext
from chainwatch.netguard import UnsafeURLError, check_url
from storage.db import Database
from storage.models import Article, CrawlError, CrawlRun, CrawlRunSource, Source, UrlState
from storage.timeutil import as_utc

# Fields a user may set on a source, with how to read them from text (CLI, YAML, forms).
OVERRIDES: dict[str, type] = {
    "name": str, "language": str, "feed_url": str, "sitemap_url": str, "listing_urls": list,
    "allow_patterns": list, "deny_patterns": list, "encoding": str, "max_pages": int,
    "crawl_interval_hours": float, "region_code": str,
}
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class SourceError(ValueError):
    """A source operation cannot be done; the message says why in the user's terms."""


@dataclass
class DiscoveryReport:
    url: str
    strategy: str | None = None
    site_name: str | None = None
    language: str | None = None
    feed_url: str | None = None
    sitemap_url: str | None = None
    listing_urls: list[str] = field(default_factory=list)
    links_found: list[str] = field(default_factory=list)
    pagination: dict[str, str] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    final_url: str | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DiscoveryReport:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return asdict(self)

    @property
    def usable(self) -> bool:
        return self.strategy is not None


def validate_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in OVERRIDES:
            raise SourceError(f"unknown source setting {key!r}; known: {', '.join(sorted(OVERRIDES))}")
        if value is None or value == "" or value == []:
            continue
        kind = OVERRIDES[key]
        try:
            if kind is list:
                value = [str(v).strip() for v in (value if isinstance(value, list | tuple) else str(value).split(","))
                         if str(v).strip()]
            elif kind is int:
                value = int(value)
                if value < 1:
                    raise ValueError
            elif kind is float:
                value = float(value)
                if value <= 0:
                    raise ValueError
            else:
                value = str(value).strip()
        except ValueError:
            raise SourceError(f"{key}: {value!r} is not a valid {kind.__name__}") from None
        if key in ("allow_patterns", "deny_patterns"):
            for pattern in value:
                try:
                    re.compile(pattern)
                except re.error as exc:
                    raise SourceError(f"{key}: {pattern!r} is not a regular expression ({exc})") from None
        if key == "encoding":
            import codecs

            try:
                codecs.lookup(value)
            except LookupError:
                raise SourceError(f"encoding: {value!r} is not an encoding Python knows") from None
        if key == "region_code" and not re.fullmatch(r"\d{6}", value):
            raise SourceError("region_code: a six-digit GB/T 2260 code, e.g. 320500")
        clean[key] = value
    return clean


def check_source_url(app: AppContext, url: str, must_resolve: bool = True) -> str:
    url = url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", url):
        url = "http://" + url if "." in url.split("/")[0] else url
    try:
        check_url(url, allow_private=app.config.allow_private_networks, must_resolve=must_resolve)
    except UnsafeURLError as exc:
        raise SourceError(str(exc)) from None
    return url


def checked_overrides(app: AppContext, overrides: dict[str, Any], must_resolve: bool = True) -> dict[str, Any]:
    """Validated overrides whose URLs (feed, sitemap, listing pages) pass the network guard. Saving
    without fetching (``must_resolve=False``) accepts a host that does not resolve today."""
    clean = validate_overrides(overrides)
    for key in ("feed_url", "sitemap_url"):
        if clean.get(key):
            clean[key] = check_source_url(app, clean[key], must_resolve)
    if "listing_urls" in clean:
        clean["listing_urls"] = [check_source_url(app, u, must_resolve) for u in clean["listing_urls"] or []]
    return clean


def test_source(app: AppContext, url: str, **overrides: Any) -> DiscoveryReport:
    """What a crawl of ``url`` would find, without saving anything."""
    return test_sources(app, [(url, overrides)])[0]


def test_sources(app: AppContext, sites: list[tuple[str, dict[str, Any]]]) -> list[DiscoveryReport]:
    from chainwatch.crawling import discover_sites

    requests = []
    for url, overrides in sites:
        url = check_source_url(app, url)
        clean = checked_overrides(app, overrides)
        clean.setdefault("listing_urls", [])
        requests.append({"url": url, "feed_url": clean.get("feed_url"), "sitemap_url": clean.get("sitemap_url"),
                         "listing_urls": clean.get("listing_urls"), "encoding": clean.get("encoding"),
                         "allow": clean.get("allow_patterns"), "deny": clean.get("deny_patterns")})
    try:
        reports = discover_sites(app.config, requests)
    except (RuntimeError, OSError) as exc:
        raise SourceError(str(exc)) from None
    return [DiscoveryReport.from_dict(r) for r in reports]


def make_key(session: Session, url: str, wanted: str | None = None) -> str:
    if wanted:
        if not _KEY.match(wanted):
            raise SourceError(f"key {wanted!r}: use lower-case letters, digits, '-' and '_' (at most 64)")
        if session.scalar(select(Source.id).where(Source.key == wanted)):
            raise SourceError(f"a source with key {wanted!r} exists already")
        return wanted
    host = (urlsplit(url).hostname or "site").lower().removeprefix("www.")
    base = re.sub(r"[^a-z0-9]+", "-", host).strip("-")[:50] or "site"
    port = urlsplit(url).port
    if port and port not in (80, 443):
        base = f"{base}-{port}"
    key, n = base, 2
    while session.scalar(select(Source.id).where(Source.key == key)):
        key, n = f"{base}-{n}", n + 1
    return key


def add_source(app: AppContext, url: str, key: str | None = None, report: DiscoveryReport | None = None,
               **overrides: Any) -> Source:
    """Discover how to crawl ``url`` and save it. Refuses a site where nothing crawlable was found."""
    clean = validate_overrides(overrides)
    url = check_source_url(app, url)
    with app.db.session() as s:
        existing = s.scalar(select(Source).where(Source.home_url == url))
        if existing is not None:
            raise SourceError(f"{url} is already a source ({existing.key})")
    report = report or test_source(app, url, **clean)
    if not report.usable:
        raise SourceError(f"nothing to crawl found at {url}: " + "; ".join(report.errors or ["no articles"]))
    return save_source(app.db, url, report, key=key, **clean)


def save_source(db: Database, url: str, report: DiscoveryReport, key: str | None = None,
                **overrides: Any) -> Source:
    name = overrides.get("name") or _site_name(report, url)
    region_code = overrides.get("region_code") or site_region(name)

    def work(s: Session) -> Source:
        src = Source(
            key=make_key(s, url, key), name=name, home_url=url,
            language=overrides.get("language") or report.language, strategy=report.strategy or "listing",
            feed_url=overrides.get("feed_url") or report.feed_url,
            sitemap_url=overrides.get("sitemap_url") or report.sitemap_url,
            listing_urls=overrides.get("listing_urls") or report.listing_urls or [url],
            allow_patterns=overrides.get("allow_patterns", []), deny_patterns=overrides.get("deny_patterns", []),
            encoding=overrides.get("encoding"), max_pages=overrides.get("max_pages"),
            crawl_interval_hours=overrides.get("crawl_interval_hours"), region_code=region_code,
            discovery={k: v for k, v in report.to_dict().items() if k not in ("samples", "links_found")}
            | {"links_found": len(report.links_found)},
        )
        s.add(src)
        s.flush()
        # Pages discovery found to be no articles (a PDF, an empty page) are not fetched again.
        from chainwatch.archive import mark_url

        for sample in report.samples:
            if sample.get("error") and sample.get("permanent"):
                mark_url(s, sample["url"], src.id, "skipped", sample["error"])
        return src

    return db.run(work)


def site_region(name: str) -> str | None:
    """A site named after its region (郑州市工业和信息化局, 洛阳日报) writes 我市 and 全市 for it: the
    region becomes the source's tagging hint unless the user gave one."""
    from tagging.gazetteer import Gazetteer

    return Gazetteer.default().leading_region(name)


def _site_name(report: DiscoveryReport, url: str) -> str:
    """The site's name from its home page title: "首页 - 某市工信局" or "Daily – slogan" → the name."""
    title = (report.site_name or "").strip()
    parts = [p.strip() for p in re.split(r"\s[-–—|]\s|_|\||——", title) if p.strip()]
    parts = [p for p in parts if p.lower() not in {"首页", "主页", "home", "index", "网站首页"}] or parts
    name = min(parts, key=len) if parts else ""
    return name[:200] or (urlsplit(url).hostname or url)


def list_sources(db: Database) -> list[Source]:
    with db.session() as s:
        return list(s.scalars(select(Source).order_by(Source.key)))


def get_source(db: Database, key: str) -> Source:
    with db.session() as s:
        src = s.scalar(select(Source).where(Source.key == key))
        if src is None:
            raise SourceError(f"no source {key!r} (see: chainwatch sources list)")
        return src


def update_source(app: AppContext, key: str, **changes: Any) -> Source:
    """Change a source's overrides; URLs given are checked like those of a new source."""
    clean = checked_overrides(app, {k: v for k, v in changes.items() if k != "enabled"}, must_resolve=False)
    return _update(app.db, key, clean, changes.get("enabled"))


def _update(db: Database, key: str, clean: dict[str, Any], enabled: bool | None) -> Source:
    def work(s: Session) -> Source:
        src = s.scalar(select(Source).where(Source.key == key))
        if src is None:
            raise SourceError(f"no source {key!r}")
        for k, v in clean.items():
            setattr(src, k, v)
        if enabled is not None:
            src.enabled = bool(enabled)
        return src

    return db.run(work)


def set_enabled(db: Database, key: str, enabled: bool) -> Source:
    return _update(db, key, {}, enabled)


def remove_source(db: Database, key: str, delete_articles: bool = False) -> int:
    """Remove a source. Its articles stay in the archive (detached) unless ``delete_articles``."""

    def work(s: Session) -> int:
        src = s.scalar(select(Source).where(Source.key == key))
        if src is None:
            raise SourceError(f"no source {key!r}")
        count = s.scalar(select(func.count()).select_from(Article).where(Article.source_id == src.id)) or 0
        if delete_articles:
            s.execute(delete(Article).where(Article.source_id == src.id))
        s.execute(delete(UrlState).where(UrlState.source_id == src.id))
        s.delete(src)
        return count

    return db.run(work)


def source_health(db: Database) -> list[dict[str, Any]]:
    """Per source: last crawl, articles, figures of the last run and its last error, and how many
    runs in a row (up to the newest) fetched nothing from it but errors: a site that is down."""
    with db.session() as s:
        counts = dict(s.execute(select(Article.source_id, func.count()).group_by(Article.source_id)).all())
        out = []
        for src in s.scalars(select(Source).order_by(Source.key)):
            # runs that ended: a running or killed run's row holds zeros, not what happened
            recent = s.scalars(select(CrawlRunSource).join(CrawlRun, CrawlRun.id == CrawlRunSource.run_id)
                               .where(CrawlRunSource.source_id == src.id, CrawlRun.status.in_(("finished", "failed")))
                               .order_by(CrawlRunSource.run_id.desc()).limit(100)).all()
            last = recent[0] if recent else None
            failures = 0
            for rs in recent:
                if rs.errors == 0 or rs.pages_fetched or rs.not_modified:
                    break
                failures += 1
            err = s.scalar(select(CrawlError).where(CrawlError.source_id == src.id)
                           .order_by(CrawlError.id.desc()).limit(1))
            out.append({
                "key": src.key, "name": src.name, "home_url": src.home_url, "enabled": src.enabled,
                "strategy": src.strategy, "last_crawled_at": as_utc(src.last_crawled_at),
                "articles": counts.get(src.id, 0),
                "pages_last_run": last.pages_fetched if last else None,
                "new_articles_last_run": last.new_articles if last else None,
                "errors_last_run": last.errors if last else None,
                "consecutive_failures": failures,
                "last_error": f"{err.kind}: {err.message} ({err.url})" if err else None,
                "last_error_at": as_utc(err.at) if err else None,
            })
        return out


# ---------------------------------------------------------------- YAML import / export
EXPORT_FIELDS = ("key", "name", "home_url", "enabled", "language", "region_code", "strategy", "feed_url",
                 "sitemap_url", "listing_urls", "allow_patterns", "deny_patterns", "encoding", "max_pages",
                 "crawl_interval_hours")


def export_sources(db: Database) -> str:
    items = []
    for src in list_sources(db):
        row = {f: getattr(src, f) for f in EXPORT_FIELDS}
        items.append({k: v for k, v in row.items() if v not in (None, [], "")})
    header = f"# chainwatch sources, exported {datetime.now():%Y-%m-%d %H:%M}\n"
    return header + yaml.safe_dump({"sources": items}, allow_unicode=True, sort_keys=False)


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def import_sources(app: AppContext, path: Path, discover_missing: bool = True) -> ImportResult:
    """Create or update sources from a YAML file. Entries that name a strategy and its URLs are
    saved as they are; others are discovered first. Bad entries are reported, the rest imported."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SourceError(f"{path}: cannot read sources YAML ({exc})") from None
    entries = data.get("sources") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise SourceError(f"{path}: expected a list under 'sources:'")
    result = ImportResult()
    for i, entry in enumerate(entries, 1):
        try:
            _import_one(app, entry, result, discover_missing)
        except SourceError as exc:
            result.errors.append(f"entry {i}: {exc}")
    return result


def _import_one(app: AppContext, entry: Any, result: ImportResult, discover_missing: bool) -> None:
    if not isinstance(entry, dict) or not entry.get("home_url"):
        raise SourceError("each entry needs home_url")
    url = check_source_url(app, str(entry["home_url"]))
    overrides = {k: entry[k] for k in OVERRIDES if k in entry}
    with app.db.session() as s:
        existing = s.scalar(select(Source).where((Source.key == entry.get("key")) | (Source.home_url == url)))
    if existing is not None:
        update_source(app, existing.key, **overrides, enabled=entry.get("enabled", existing.enabled))
        result.updated.append(existing.key)
        return
    if entry.get("strategy") and (entry.get("feed_url") or entry.get("sitemap_url") or entry.get("listing_urls")):
        report = DiscoveryReport(url=url, strategy=entry["strategy"])
    elif discover_missing:
        report = test_source(app, url, **overrides)
        if not report.usable:
            raise SourceError(f"{url}: nothing to crawl found ({'; '.join(report.errors)})")
    else:
        raise SourceError(f"{url}: no strategy given and discovery is off")
    src = save_source(app.db, url, report, key=entry.get("key"), **checked_overrides(app, overrides, must_resolve=False))
    if entry.get("enabled") is False:
        set_enabled(app.db, src.key, False)
    result.added.append(src.key)
