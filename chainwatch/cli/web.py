"""``chainwatch web``, ``chainwatch search``, ``chainwatch reindex`` and ``chainwatch users ...``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from chainwatch.cli import Obj, pass_app


@click.command("web")
@click.option("--host", help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=int, help="Port (default: web.port, 8080).")
@click.option("--proxy-headers", is_flag=True, help="Trust X-Forwarded-For from a reverse proxy on this host.")
@pass_app
def web(obj: Obj, host: str | None, port: int | None, proxy_headers: bool) -> None:
    """Serve the web app: search, articles, events, sources, digests, users, and the /api."""
    import uvicorn

    from chainwatch import users
    from webapp.app import create_app

    app = obj.app
    if not users.list_users(app.db):
        click.echo("note: no users yet; create the first admin with: chainwatch users add NAME --admin", err=True)
    host = host or app.config.web.host
    port = port or app.config.web.port
    click.echo(f"chainwatch web on http://{host}:{port}/ (Ctrl-C to stop)")
    uvicorn.run(create_app(app), host=host, port=port, proxy_headers=proxy_headers,
                forwarded_allow_ips="127.0.0.1" if proxy_headers else None, log_level="info")


@click.command("search")
@click.argument("query", nargs=-1)
@click.option("--region", help="Region code or name; sub-regions included (河南, 410300).")
@click.option("--chain", help="Chain slug or sector.")
@click.option("--event-type", type=click.Choice(["alliance", "target", "chain_chief"]))
@click.option("--source", help="Source key.")
@click.option("--language", help="zh, zh-Hant, en.")
@click.option("--since", help="From this date (YYYY-MM-DD).")
@click.option("--until", help="Up to and including this date.")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True,
              help="Stories to show (csv: up to 1000).")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@pass_app
def search_cmd(obj: Obj, query: tuple[str, ...], region: str | None, chain: str | None, event_type: str | None,
               source: str | None, language: str | None, since: str | None, until: str | None, sort: str,
               limit: int, fmt: str) -> None:
    """Search the archive: one line per story, newest or most relevant first."""
    from chainwatch.search import SearchError, SearchQuery, export_hits, hits_to_csv, parse_date, search

    app = obj.app
    try:
        q = SearchQuery(q=" ".join(query), region=region, chain=chain, event_type=event_type, source=source,
                        language=language, since=parse_date(since, "--since"), until=parse_date(until, "--until"),
                        sort=sort, per_page=min(limit, 100), tz=app.config.timezone)
        if fmt == "csv":
            click.echo(hits_to_csv(export_hits(app.db, q, max_rows=limit)).lstrip("\ufeff"), nl=False)
            return
        result = search(app.db, q)
    except SearchError as exc:
        raise click.UsageError(str(exc)) from None
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, indent=2, default=str))
        return
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    total = f"{result.total}+" if result.total_capped else str(result.total)
    click.echo(f"{total} articles, {result.stories_in_window} stories ({result.took_ms} ms)")
    for hit in result.hits[:limit]:
        day = hit.published.date().isoformat() if hit.published else "          "
        also = f"  (+{len(hit.also)}: {', '.join(a.source_name for a in hit.also[:3])})" if hit.also else ""
        click.echo(f"{day}  [{hit.article_id}] {hit.title}  — {hit.source_name}{also}")
        click.echo(f"            {hit.snippet_text[:120]}")


@click.command("reindex")
@pass_app
def reindex(obj: Obj) -> None:
    """Rebuild the search index from the archive (after an upgrade, or a retag done elsewhere)."""
    from chainwatch.search import reindex_all

    count = reindex_all(obj.app.db, progress=lambda n: click.echo(f"\r{n} articles", nl=False, err=True))
    click.echo(f"\nindexed {count} articles")


@click.group("users")
def users_group() -> None:
    """Web app accounts: reader (search, read), editor (+ sources, subscribers), admin (+ users, settings)."""


def _read_password(password_file: str | None, confirm: bool = True) -> str:
    """From a file ('-' = stdin), else a hidden prompt on a terminal, else the first line of stdin."""
    if password_file == "-" or (password_file is None and not sys.stdin.isatty()):
        return sys.stdin.readline().rstrip("\r\n")
    if password_file:
        lines = Path(password_file).read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@users_group.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["reader", "editor", "admin"]), default="reader", show_default=True)
@click.option("--admin", "is_admin", is_flag=True, help="Same as --role admin.")
@click.option("--password-file", help="Read the password from this file's first line ('-' for stdin).")
@pass_app
def users_add(obj: Obj, username: str, role: str, is_admin: bool, password_file: str | None) -> None:
    """Create a user. The password is prompted (never echoed) unless given by file or stdin."""
    from chainwatch.users import UserError, add_user

    try:
        user = add_user(obj.app.db, username, _read_password(password_file), "admin" if is_admin else role)
    except (UserError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"added {user.username} ({user.role})")


@users_group.command("list")
@pass_app
def users_list(obj: Obj) -> None:
    from chainwatch.users import list_users

    for u in list_users(obj.app.db):
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        click.echo(f"{u.username:24} {u.role:7} {'active' if u.active else 'inactive':8} last login {last}")


@users_group.command("remove")
@click.argument("username")
@pass_app
def users_remove(obj: Obj, username: str) -> None:
    from chainwatch.users import UserError, remove_user

    try:
        remove_user(obj.app.db, username)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"removed {username}")


@users_group.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["reader", "editor", "admin"]))
@pass_app
def users_set_role(obj: Obj, username: str, role: str) -> None:
    from chainwatch.users import UserError, set_role

    try:
        set_role(obj.app.db, username, role)
    except UserError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{username} is now {role}")


@users_group.command("passwd")
@click.argument("username")
@click.option("--password-file", help="Read the new password from this file's first line ('-' for stdin).")
@pass_app
def users_passwd(obj: Obj, username: str, password_file: str | None) -> None:
    """Set a user's password (their open sessions end)."""
    from chainwatch.users import UserError, set_password

    try:
        set_password(obj.app.db, username, _read_password(password_file))
    except (UserError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"password changed for {username}")


@users_group.command("token")
@click.argument("username")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@pass_app
def users_token(obj: Obj, username: str, name: str) -> None:
    """Create an API token (printed once; use as Authorization: Bearer <token>)."""
    from chainwatch.users import UserError, create_token

    try:
        click.echo(create_token(obj.app.db, username, name))
    except UserError as exc:
        raise click.ClickException(str(exc)) from None


def register(group: click.Group) -> None:
    group.add_command(web)
    group.add_command(search_cmd)
    group.add_command(reindex)
    group.add_command(users_group)
