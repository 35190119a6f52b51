"""The web app's doorway to core modules other areas own (sources, crawling, subscribers, digests).

Imports happen inside the functions, so the app starts, and its other pages
work, even when one of those modules is missing or broken; tests replace these
functions to avoid the network. Form input is turned into the core's keyword
arguments here, and nowhere else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chainwatch.context import AppContext

OVERRIDE_FIELDS = ("name", "language", "feed_url", "sitemap_url", "listing_urls", "allow_patterns",
                   "deny_patterns", "encoding", "max_pages", "crawl_interval_hours", "region_code")
LIST_FIELDS = {"listing_urls", "allow_patterns", "deny_patterns"}
INT_FIELDS = {"max_pages"}
FLOAT_FIELDS = {"crawl_interval_hours"}


class ServiceError(ValueError):
    """A core operation refused or failed; the message is for the user."""


class Unavailable(ServiceError):
    pass


def _core(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"{module} is not available in this installation ({exc})") from None


def _source_error(mod: Any) -> type[Exception]:
    return getattr(mod, "SourceError", ValueError)


def overrides_from_form(form: dict[str, Any], keep_empty: bool = False) -> dict[str, Any]:
    """Form strings → override values: lists one per line, numbers parsed, blanks dropped."""
    out: dict[str, Any] = {}
    for name in OVERRIDE_FIELDS:
        raw = form.get(name)
        if raw is None:
            continue
        text = str(raw).strip()
        if not text:
            if keep_empty:
                out[name] = [] if name in LIST_FIELDS else None
            continue
        try:
            if name in LIST_FIELDS:
                out[name] = [line.strip() for line in text.splitlines() if line.strip()]
            elif name in INT_FIELDS:
                out[name] = int(text)
            elif name in FLOAT_FIELDS:
                out[name] = float(text)
            else:
                out[name] = text
        except ValueError:
            raise ServiceError(f"{name}: not a number: {text[:30]!r}") from None
    return out


# A test's report, kept briefly so "save" after "test" does not crawl the site a second time.
_REPORTS: dict[tuple[str, str], tuple[float, Any]] = {}
REPORT_TTL = 600.0


def _report_key(url: str, overrides: dict[str, Any]) -> tuple[str, str]:
    return url.strip(), repr(sorted(overrides.items()))


def test_source(app: AppContext, url: str, overrides: dict[str, Any]) -> dict[str, Any]:
    mod = _core("chainwatch.sources")
    try:
        report = mod.test_source(app, url, **overrides)
    except _source_error(mod) as exc:
        raise ServiceError(str(exc)) from None
    now = time.monotonic()
    for key in [k for k, (at, _) in _REPORTS.items() if now - at > REPORT_TTL]:
        _REPORTS.pop(key, None)
    _REPORTS[_report_key(url, overrides)] = (now, report)
    return report.to_dict() if hasattr(report, "to_dict") else dict(report)


def add_source(app: AppContext, url: str, overrides: dict[str, Any], key: str | None = None) -> Any:
    mod = _core("chainwatch.sources")
    cached = _REPORTS.pop(_report_key(url, overrides), None)
    extra: dict[str, Any] = {}
    if cached and time.monotonic() - cached[0] < REPORT_TTL:
        extra["report"] = cached[1]
    if key:
        extra["key"] = key
    try:
        return mod.add_source(app, url, **extra, **overrides)
    except TypeError:  # an add_source without report=/key=: let it discover again
        return mod.add_source(app, url, **overrides)
    except _source_error(mod) as exc:
        raise ServiceError(str(exc)) from None


def source_health(app: AppContext) -> list[dict[str, Any]]:
    return _core("chainwatch.sources").source_health(app.db)


def get_source(app: AppContext, key: str) -> Any:
    mod = _core("chainwatch.sources")
    try:
        if hasattr(mod, "get_source"):
            return mod.get_source(app.db, key)
        for src in mod.list_sources(app.db):
            if src.key == key:
                return src
    except _source_error(mod) as exc:
        raise ServiceError(str(exc)) from None
    raise ServiceError(f"no source {key!r}")


def update_source(app: AppContext, key: str, changes: dict[str, Any]) -> Any:
    mod = _core("chainwatch.sources")
    try:
        return mod.update_source(app, key, **changes)
    except _source_error(mod) as exc:
        raise ServiceError(str(exc)) from None


def set_enabled(app: AppContext, key: str, enabled: bool) -> None:
    mod = _core("chainwatch.sources")
    try:
        mod.set_enabled(app.db, key, enabled)
    except _source_error(mod) as exc:
        raise ServiceError(str(exc)) from None


def remove_source(app: AppContext, key: str) -> None:
    mod = _core("chainwatch.sources")
    try:
        mod.remove_source(app.db, key)
    except _source_error(mod) as exc:
        raise ServiceError(str(exc)) from None


def start_crawl(app: AppContext, keys: list[str] | None) -> int:
    mod = _core("chainwatch.crawling")
    try:
        return int(mod.start_crawl_process(app, keys))
    except (RuntimeError, ValueError, OSError) as exc:  # CrawlBusy is a RuntimeError
        raise ServiceError(str(exc) or "the crawl could not be started") from None


# --------------------------------------------------------------------------- subscribers and digests


@dataclass
class SubscriberForm:
    email: str
    name: str | None
    regions: list[str]
    chains: list[str]
    language: str
    frequency: str

    @classmethod
    def parse(cls, form: dict[str, Any]) -> SubscriberForm:
        def items(name: str) -> list[str]:
            return [x for x in str(form.get(name) or "").replace("，", ",").replace(" ", ",").split(",") if x]

        return cls(email=str(form.get("email") or "").strip(), name=str(form.get("name") or "").strip() or None,
                   regions=items("regions"), chains=items("chains"),
                   language=str(form.get("language") or "zh"), frequency=str(form.get("frequency") or "weekly"))


def _subs() -> Any:
    return _core("chainwatch.subscribers")


def _sub_call(fn_names: tuple[str, ...], *args: Any, **kwargs: Any) -> Any:
    mod = _subs()
    err = getattr(mod, "SubscriberError", ValueError)
    for name in fn_names:
        fn = getattr(mod, name, None)
        if fn is not None:
            try:
                return fn(*args, **kwargs)
            except err as exc:
                raise ServiceError(str(exc)) from None
    raise Unavailable(f"chainwatch.subscribers has none of {fn_names}")


def list_subscribers(app: AppContext) -> list[Any]:
    return _sub_call(("list_all",), app)


def get_subscriber(app: AppContext, ident: str | int) -> Any:
    return _sub_call(("get",), app, ident)


def add_subscriber(app: AppContext, f: SubscriberForm) -> Any:
    return _sub_call(("add",), app, f.email, name=f.name, regions=f.regions, chains=f.chains,
                     language=f.language, frequency=f.frequency)


def update_subscriber(app: AppContext, ident: str | int, f: SubscriberForm, active: bool | None) -> Any:
    return _sub_call(("update",), app, ident, email=f.email or None, name=f.name, regions=f.regions,
                     chains=f.chains, language=f.language, frequency=f.frequency, active=active)


def remove_subscriber(app: AppContext, ident: str | int) -> None:
    _sub_call(("remove",), app, ident)


def preview_digest(app: AppContext, period: str | None, email: str | None) -> str:
    """The digest's HTML, as it would be mailed."""
    mod = _core("digests.service")
    errors: tuple[type[Exception], ...] = (ValueError, LookupError)
    try:
        if hasattr(mod, "render_for"):
            return mod.render_for(app, period or None, email or None).html
        path: Path = mod.preview(app, period=period or None, subscriber_email=email or None)
        return Path(path).read_text(encoding="utf-8")
    except errors as exc:
        raise ServiceError(str(exc)) from None


def digest_periods(app: AppContext, email: str | None) -> list[str]:
    try:
        mod = _core("digests.service")
        sub = get_subscriber(app, email) if email else None
        if sub is not None and hasattr(mod, "periods_for"):
            return list(mod.periods_for(sub))
    except (ServiceError, ValueError):
        pass
    return []


def deliveries(app: AppContext, email: str | None = None, period: str | None = None) -> list[Any]:
    mod = _core("digests.service")
    try:
        return mod.deliveries(app, subscriber_email=email or None, period=period or None)
    except ValueError as exc:
        raise ServiceError(str(exc)) from None
