"""Subscribers, digests and the unattended schedule: `subscribers ...`, `digest preview|send`, `schedule`."""

from __future__ import annotations

from pathlib import Path

import click

from chainwatch.cli import Obj, pass_app

_LANG = click.Choice(["zh", "en"])
_FREQ = click.Choice(["weekly", "daily"])


def _fail(exc: Exception) -> None:
    raise click.ClickException(str(exc))


# ---------------------------------------------------------------- subscribers


@click.group("subscribers")
def subscribers_group() -> None:
    """People who receive the digest, and what they follow."""


@subscribers_group.command("add")
@click.argument("email")
@click.option("--name", help="Display name for the greeting and the To: header.")
@click.option("--regions", help="Region codes, comma separated; 410000 (河南) covers its cities and counties.")
@click.option("--chains", help="Chain or sector slugs, comma separated; a sector covers its chains.")
@click.option("--language", type=_LANG, default="zh", show_default=True)
@click.option("--frequency", type=_FREQ, default="weekly", show_default=True)
@click.option("--timezone", help="IANA time zone for periods (default: the configured one, Asia/Shanghai).")
@pass_app
def subscribers_add(obj: Obj, email: str, name: str | None, regions: str | None, chains: str | None,
                    language: str, frequency: str, timezone: str | None) -> None:
    """Subscribe EMAIL; with no --regions/--chains it gets everything."""
    from chainwatch import subscribers

    try:
        sub = subscribers.add(obj.app, email, name=name, regions=regions, chains=chains, language=language,
                              frequency=frequency, timezone=timezone)
    except subscribers.SubscriberError as exc:
        _fail(exc)
    click.echo(f"subscribed {sub.email} (#{sub.id}, {sub.frequency}, {sub.language}, {sub.timezone})")


@subscribers_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_app
def subscribers_list(obj: Obj, as_json: bool) -> None:
    """List subscribers and their filters."""
    from chainwatch import subscribers

    subs = subscribers.list_all(obj.app)
    if as_json:
        import dataclasses
        import json

        click.echo(json.dumps([dataclasses.asdict(s) for s in subs], ensure_ascii=False, indent=2, default=str))
        return
    if not subs:
        click.echo("no subscribers; add one with: chainwatch subscribers add EMAIL")
    for s in subs:
        state = "" if s.active else " [inactive]"
        filters = ", ".join([*s.regions, *s.chains]) or "everything"
        click.echo(f"#{s.id} {s.email}{state}  {s.frequency} {s.language} {s.timezone}  {filters}")


@subscribers_group.command("update")
@click.argument("subscriber")
@click.option("--email", help="New address.")
@click.option("--name")
@click.option("--regions", help="Replace region filter ('' clears it).")
@click.option("--chains", help="Replace chain filter ('' clears it).")
@click.option("--language", type=_LANG)
@click.option("--frequency", type=_FREQ)
@click.option("--timezone")
@click.option("--active/--inactive", default=None, help="Pause or resume deliveries.")
@pass_app
def subscribers_update(obj: Obj, subscriber: str, email: str | None, name: str | None, regions: str | None,
                       chains: str | None, language: str | None, frequency: str | None, timezone: str | None,
                       active: bool | None) -> None:
    """Change SUBSCRIBER (email or #id); options not given stay as they are."""
    from chainwatch import subscribers

    extra = {"name": name} if name is not None else {}
    try:
        sub = subscribers.update(obj.app, subscriber.lstrip("#"), email=email, regions=regions, chains=chains,
                                 language=language, frequency=frequency, timezone=timezone, active=active, **extra)
    except subscribers.SubscriberError as exc:
        _fail(exc)
    click.echo(f"updated {sub.email} (#{sub.id})")


@subscribers_group.command("remove")
@click.argument("subscriber")
@pass_app
def subscribers_remove(obj: Obj, subscriber: str) -> None:
    """Delete SUBSCRIBER (email or #id) and its delivery records."""
    from chainwatch import subscribers

    try:
        subscribers.remove(obj.app, subscriber.lstrip("#"))
    except subscribers.SubscriberError as exc:
        _fail(exc)
    click.echo(f"removed {subscriber}")


# ---------------------------------------------------------------- digest


@click.group("digest")
def digest_group() -> None:
    """Preview and send the weekly (or daily) digest."""


@digest_group.command("preview")
@click.option("--period", help="2022-W45 or 2022-11-07 (default: the newest period with relevant news).")
@click.option("--subscriber", help="Render what this subscriber gets (default: everything, in Chinese).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="HTML file to write.")
@pass_app
def digest_preview(obj: Obj, period: str | None, subscriber: str | None, out: Path | None) -> None:
    """Write a digest as HTML and print its path."""
    from chainwatch.subscribers import SubscriberError
    from digests import service
    from digests.periods import PeriodError

    try:
        path = service.preview(obj.app, period=period, subscriber_email=subscriber, out=out)
    except (PeriodError, SubscriberError) as exc:
        _fail(exc)
    click.echo(str(path))


@digest_group.command("send")
@click.option("--period", help="Send this period (2022-W45 / 2022-11-07) instead of every completed one due.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send and record nothing.")
@pass_app
def digest_send(obj: Obj, period: str | None, dry_run: bool) -> None:
    """Send completed periods' digests that were not sent yet (each at most once)."""
    from digests import service
    from digests.periods import PeriodError

    try:
        report = service.send(obj.app, period=period, dry_run=dry_run)
    except PeriodError as exc:
        _fail(exc)
    click.echo(f"{'would send' if dry_run else 'delivering'} via {report.transport}")
    for o in report.outcomes:
        click.echo(f"  {o.status:8} {o.period:10} {o.email}  {o.detail}".rstrip())
    if not report.outcomes:
        click.echo("  nothing due")
    if report.aborted:
        click.echo(f"stopped early: {report.aborted}; the rest will be sent on the next run", err=True)
    if not dry_run:
        click.echo(f"{len(report.sent)} sent, {len(report.failed)} failed")
    if report.failed or report.aborted:
        raise SystemExit(1)


# ---------------------------------------------------------------- schedule


@click.command("schedule")
@pass_app
def schedule_cmd(obj: Obj) -> None:
    """Run crawls and digests unattended until stopped (SIGTERM or Ctrl-C)."""
    from chainwatch import scheduler

    scheduler.run(obj.app, echo=lambda line: click.echo(line))


def register(group: click.Group) -> None:
    group.add_command(subscribers_group)
    group.add_command(digest_group)
    group.add_command(schedule_cmd)
