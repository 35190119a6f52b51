"""``chainwatch analyze`` and ``chainwatch retag``."""

from __future__ import annotations

import json
from datetime import datetime

import click

from chainwatch.cli import Obj, pass_app


@click.command("analyze")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@pass_app
def analyze(obj: Obj, target: str, as_json: bool) -> None:
    """Show what chainwatch extracts and tags on one page (FILE.html or URL)."""
    from chainwatch.analysis import analyze_page
    from chainwatch.netguard import UnsafeURLError
    from crawler.pipelines import NotAnArticle

    try:
        result = analyze_page(obj.app.config, target)
    except (OSError, UnsafeURLError, NotAnArticle) as exc:
        raise click.ClickException(f"{target}: {exc}") from None
    if as_json:
        click.echo(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        return
    a = result["analysis"]
    click.echo(f"{result['title']}\n{result['url']}\n{result['published'] or 'no date'} · {result['language']} · "
               f"{result['length']} characters · relevant: {a['relevant']} ({a['relevance_score']:.2f})")
    for r in a["regions"]:
        click.echo(f"  region  {r['code']} {r['name']} ({r['level']})  « {r['evidence'][:80]} »")
    for c in a["chains"]:
        click.echo(f"  chain   {c['slug']} ({c['sector']})  « {(c['evidence'] or '')[:80]} »")
    for e in a["events"]:
        what = e.get("name") or e.get("metric") or ""
        value = f" = {e['value']:g} {e['unit']}" if e.get("value") is not None else ""
        year = f" by {e['year']}" if e.get("year") else ""
        click.echo(f"  {e['type']:<11} {what}{value}{year}  « {(e['evidence'] or '')[:80]} »")


@click.command("retag")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d"]), help="Only articles fetched since this date.")
@pass_app
def retag(obj: Obj, since: datetime | None) -> None:
    """Re-run the tagger over the archive (after the gazetteer or the taxonomy changed)."""
    from chainwatch.analysis import retag as retag_core

    def progress(done: int, total: int) -> None:
        click.echo(f"\r  {done}/{total} articles", nl=False, err=True)

    n = retag_core(obj.app.db, since=since, progress=progress)
    click.echo(f"\nretagged {n} articles", err=True)


def register(group: click.Group) -> None:
    group.add_command(analyze)
    group.add_command(retag)
