"""Administrative commands: effective configuration and schema upgrades."""

from __future__ import annotations

import click

from chainwatch.cli import Obj, pass_app


@click.group("config")
def config_group() -> None:
    """Show the effective configuration."""


@config_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of key = value lines.")
@pass_app
def config_show(obj: Obj, as_json: bool) -> None:
    """Print the effective settings (file + environment), secrets masked."""
    cfg = obj.app.config
    values = cfg.as_dict(mask_secrets=True)
    if as_json:
        import json

        click.echo(json.dumps(values, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(f"# config file: {cfg.config_file or '(none; defaults and environment)'}")
    for key, value in values.items():
        click.echo(f"{key} = {value!r}")


@click.group("db")
def db_group() -> None:
    """Database schema."""


@db_group.command("upgrade")
@pass_app
def db_upgrade(obj: Obj) -> None:
    """Bring the schema to the newest migration (done automatically on first use)."""
    from storage.db import current_revision

    db = obj.app.db
    click.echo(f"schema at revision {current_revision(db)} ({db.engine.url.render_as_string(hide_password=True)})")


def register(group: click.Group) -> None:
    group.add_command(config_group)
    group.add_command(db_group)
