"""``chainwatch sources ...``: add, test, list, show, enable/disable, remove, import/export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from chainwatch.cli import Obj, pass_app


def override_options(fn: Any) -> Any:
    """The per-source overrides, shared by add, test and update."""
    options = [
        click.option("--name", help="Display name (default: from the home page title)."),
        click.option("--language", help="zh, zh-Hant or en (default: detected)."),
        click.option("--feed-url", help="Use this RSS/Atom feed."),
        click.option("--sitemap-url", help="Use this sitemap."),
        click.option("--listing-url", "listing_urls", multiple=True, help="A listing page (repeatable)."),
        click.option("--allow", "allow_patterns", multiple=True, help="Regex article URLs must match (repeatable)."),
        click.option("--deny", "deny_patterns", multiple=True, help="Regex of URLs never to fetch (repeatable)."),
        click.option("--encoding", help="Force the page encoding (e.g. gbk) when the site lies about it."),
        click.option("--max-pages", type=int, help="Listing pages to follow per section."),
        click.option("--interval", "crawl_interval_hours", type=float, help="Hours between crawls of this source."),
        click.option("--region", "region_code", help="The site's own region (GB/T 2260 code), a tagging hint."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _overrides(kwargs: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, tuple):
            v = list(v)
        if v not in (None, [], ""):
            out[k] = v
    return out


def print_report(report: Any) -> None:
    r = report
    click.echo(f"site:       {r.site_name or '?'}  ({r.final_url or r.url})")
    click.echo(f"language:   {r.language or '?'}")
    click.echo(f"strategy:   {r.strategy or 'none found'}")
    if r.feed_url:
        click.echo(f"feed:       {r.feed_url}")
    if r.sitemap_url:
        click.echo(f"sitemap:    {r.sitemap_url}")
    for url in r.listing_urls:
        nxt = r.pagination.get(url)
        click.echo(f"listing:    {url}" + (f"  (next page: {nxt})" if nxt else ""))
    click.echo(f"links:      {len(r.links_found)} article links found")
    for url in r.links_found[:10]:
        click.echo(f"            {url}")
    if len(r.links_found) > 10:
        click.echo(f"            … and {len(r.links_found) - 10} more")
    for sample in r.samples:
        click.echo("")
        if sample.get("error"):
            click.echo(f"  sample {sample['url']}: {sample['error']}")
            continue
        click.echo(f"  {sample.get('title')}")
        click.echo(f"  {sample['url']}")
        click.echo(f"  date {sample.get('date') or '?'} · {sample.get('length')} characters · "
                   f"{sample.get('language') or '?'}")
        for line in sample.get("first_lines", []):
            click.echo(f"    {line[:160]}")
    for err in r.errors:
        click.echo(click.style(f"error: {err}", fg="red"), err=True)


@click.group("sources")
def sources_group() -> None:
    """The sites chainwatch watches."""


@sources_group.command("add")
@click.argument("url")
@click.option("--key", help="Short key for the source (default: from the host name).")
@override_options
@click.option("--json", "as_json", is_flag=True, help="Print the saved source as JSON.")
@pass_app
def add(obj: Obj, url: str, key: str | None, as_json: bool, **kwargs: Any) -> None:
    """Add a site by its home page URL; discovery finds its feed, sitemap or listing pages."""
    from chainwatch.sources import SourceError, add_source

    click.echo(f"discovering {url} …", err=True)
    try:
        src = add_source(obj.app, url, key=key, **_overrides(kwargs))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(_source_dict(src), ensure_ascii=False, default=str))
        return
    click.echo(f"added {src.key}: {src.name} ({src.strategy}; {len(src.listing_urls or [])} listing pages"
               f"{'; feed' if src.feed_url else ''}{'; sitemap' if src.sitemap_url else ''})")


@sources_group.command("test")
@click.argument("url")
@override_options
@click.option("--json", "as_json", is_flag=True)
@pass_app
def test(obj: Obj, url: str, as_json: bool, **kwargs: Any) -> None:
    """Show what a crawl of URL would find, without saving anything."""
    from chainwatch.sources import SourceError, test_source

    try:
        report = test_source(obj.app, url, **_overrides(kwargs))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    else:
        print_report(report)
    if not report.usable:
        raise SystemExit(1)


def _source_dict(src: Any) -> dict[str, Any]:
    from chainwatch.sources import EXPORT_FIELDS

    return {f: getattr(src, f) for f in EXPORT_FIELDS} | {"last_crawled_at": src.last_crawled_at}


@sources_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_cmd(obj: Obj, as_json: bool) -> None:
    """Sources with their health: last crawl, articles, errors."""
    from chainwatch.sources import source_health

    rows = source_health(obj.app.db)
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
        return
    if not rows:
        click.echo("no sources yet; add one with: chainwatch sources add URL")
        return
    click.echo(f"{'key':<24} {'on':<3} {'strategy':<8} {'articles':>8} {'new':>5} {'err':>4}  last crawl        name")
    for r in rows:
        last = r["last_crawled_at"].strftime("%Y-%m-%d %H:%M") if r["last_crawled_at"] else "never"
        click.echo(f"{r['key']:<24} {'yes' if r['enabled'] else 'no':<3} {r['strategy']:<8} {r['articles']:>8} "
                   f"{r['new_articles_last_run'] if r['new_articles_last_run'] is not None else '-':>5} "
                   f"{r['errors_last_run'] if r['errors_last_run'] is not None else '-':>4}  {last:<17} {r['name']}")


@sources_group.command("show")
@click.argument("key")
@pass_app
def show(obj: Obj, key: str) -> None:
    """Everything about one source."""
    from chainwatch.sources import SourceError, get_source, source_health

    try:
        src = get_source(obj.app.db, key)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    for k, v in _source_dict(src).items():
        click.echo(f"{k:<22} {v}")
    health = next(h for h in source_health(obj.app.db) if h["key"] == key)
    click.echo(f"{'articles':<22} {health['articles']}")
    click.echo(f"{'last error':<22} {health['last_error'] or '-'}")
    if health["consecutive_failures"]:
        click.echo(f"{'failing':<22} the last {health['consecutive_failures']} crawls fetched nothing but errors")


@sources_group.command("update")
@click.argument("key")
@override_options
@pass_app
def update(obj: Obj, key: str, **kwargs: Any) -> None:
    """Change a source's overrides."""
    from chainwatch.sources import SourceError, update_source

    try:
        src = update_source(obj.app, key, **_overrides(kwargs))
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"updated {src.key}")


def _toggle(enabled: bool) -> Any:
    @click.argument("keys", nargs=-1, required=True)
    @pass_app
    def command(obj: Obj, keys: tuple[str, ...]) -> None:
        from chainwatch.sources import SourceError, set_enabled

        for key in keys:
            try:
                set_enabled(obj.app.db, key, enabled)
            except SourceError as exc:
                raise click.ClickException(str(exc)) from None
            click.echo(f"{key}: {'enabled' if enabled else 'disabled'}")

    return command


sources_group.command("enable", help="Crawl these sources again.")(_toggle(True))
sources_group.command("disable", help="Stop crawling these sources (their articles stay).")(_toggle(False))


@sources_group.command("remove")
@click.argument("key")
@click.option("--delete-articles", is_flag=True, help="Also delete the source's articles from the archive.")
@click.confirmation_option(prompt="Remove this source?")
@pass_app
def remove(obj: Obj, key: str, delete_articles: bool) -> None:
    """Remove a source (its articles stay unless --delete-articles)."""
    from chainwatch.sources import SourceError, remove_source

    try:
        count = remove_source(obj.app.db, key, delete_articles=delete_articles)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"removed {key}; {count} articles {'deleted' if delete_articles else 'kept in the archive'}")


@sources_group.command("export")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@pass_app
def export(obj: Obj, path: Path | None) -> None:
    """Write all sources as YAML (to PATH or standard output), for version control."""
    from chainwatch.sources import export_sources

    text = export_sources(obj.app.db)
    if path is None:
        click.echo(text, nl=False)
        return
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    click.echo(f"wrote {path}", err=True)


@sources_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--no-discover", is_flag=True, help="Do not run discovery for entries without a strategy.")
@pass_app
def import_cmd(obj: Obj, path: Path, no_discover: bool) -> None:
    """Create or update sources from a YAML file written by `sources export`."""
    from chainwatch.sources import SourceError, import_sources

    try:
        result = import_sources(obj.app, path, discover_missing=not no_discover)
    except SourceError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {len(result.added)}, updated {len(result.updated)}, failed {len(result.errors)}")
    for err in result.errors:
        click.echo(f"  error: {err}", err=True)
    if result.errors:
        raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(sources_group)
