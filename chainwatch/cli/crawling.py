"""``chainwatch crawl``, ``chainwatch export`` and ``chainwatch demo``."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from chainwatch.cli import Obj, pass_app


def print_summary(summary: object) -> None:
    s = summary
    click.echo("")
    click.echo(f"crawl run {s.run_id}: {s.status} ({s.finish_reason})")
    if s.distributed:
        d = s.distributed
        click.echo(f"distributed crawl {d.get('crawl')} ({'started' if d.get('started') else 'joined'}) as worker "
                   f"{d.get('worker')}; this worker's share below; re-queued from dead workers: "
                   f"{d.get('recovered', 0)}")
    click.echo(f"{'source':<24} {'pages':>6} {'304':>5} {'new':>5} {'dups':>5} {'errors':>6}")
    for src in s.sources:
        click.echo(f"{src.key:<24} {src.pages:>6} {src.not_modified:>5} {src.new:>5} {src.duplicates:>5} "
                   f"{src.errors:>6}")
    click.echo(f"{'total':<24} {s.pages:>6} {'':>5} {s.new:>5} {s.duplicates:>5} {s.errors:>6}")
    for src in s.sources:
        for message in src.error_messages[:5]:
            click.echo(f"  {src.key}: {message}")
        if len(src.error_messages) > 5:
            click.echo(f"  {src.key}: … {len(src.error_messages) - 5} more errors")


@click.command("crawl")
@click.option("--source", "sources", multiple=True, help="Crawl only this source key (repeatable).")
@click.option("--distributed", is_flag=True,
              help="Be one worker of a crawl shared through Redis (crawl.redis_url) with workers on other "
                   "machines; needs PostgreSQL. See docs/distributed.md.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress lines.")
@pass_app
def crawl(obj: Obj, sources: tuple[str, ...], distributed: bool, as_json: bool, quiet: bool) -> None:
    """Crawl every enabled source (or --source KEY) and store new articles."""
    from chainwatch.crawling import CrawlBusy, DistributedUnavailable, run_crawl

    if not quiet:
        click.echo(f"crawling {', '.join(sources) if sources else 'all enabled sources'} …", err=True)
    try:
        summary = run_crawl(obj.app, list(sources) or None, progress=not quiet and not as_json,
                            distributed=distributed)
    except CrawlBusy as exc:
        click.echo(f"not started: {exc}", err=True)
        sys.exit(75)  # EX_TEMPFAIL: try again later
    except (LookupError, DistributedUnavailable) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(summary.to_dict(), ensure_ascii=False, default=str))
    else:
        print_summary(summary)
    if summary.status != "finished":
        sys.exit(1)


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True)
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only articles fetched since this date.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here instead of stdout.")
@pass_app
def export(obj: Obj, fmt: str, since: datetime | None, out: Path | None) -> None:
    """One record per stored article: text, tags, events and duplicate_of."""
    from chainwatch.exporting import iter_records, write_csv, write_jsonl

    writer = write_csv if fmt == "csv" else write_jsonl
    records = iter_records(obj.app.db, since=since)
    if out is None:
        writer(records, sys.stdout)
        return
    tmp = out.with_suffix(out.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        n = writer(records, fh)
    tmp.replace(out)
    click.echo(f"wrote {n} records to {out}", err=True)


@click.command("demo")
@click.option("--port", "base_port", type=int, default=8710, show_default=True,
              help="First port of the demo sites (one port per site).")
@click.option("--keep-serving", is_flag=True, help="Keep the demo sites up after the run (Ctrl-C to stop).")
@pass_app
def demo(obj: Obj, base_port: int, keep_serving: bool) -> None:
    """Serve the bundled demo sites on loopback, add them, crawl, tag, and write a digest preview."""
    from chainwatch.demo import run_demo

    run_demo(obj.app.config, base_port=base_port, keep_serving=keep_serving, echo=click.echo)


def register(group: click.Group) -> None:
    group.add_command(crawl)
    group.add_command(export)
    group.add_command(demo)
