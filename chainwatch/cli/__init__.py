"""The ``chainwatch`` command: a thin shell over the core functions.

Each command group lives in its own module under ``chainwatch.cli`` and exposes
``register(group)``; commands parse arguments, call one core function and print.
"""

from __future__ import annotations

import importlib
import logging
import sys

import click

from chainwatch.config import ConfigError
from chainwatch.context import AppContext

# Modules whose register() adds commands; each owns one area of the product.
COMMAND_MODULES = (
    "chainwatch.cli.admin",      # config show, db upgrade
    "chainwatch.cli.sources",    # sources add/test/list/show/enable/disable/remove/import/export
    "chainwatch.cli.crawling",   # crawl, export, demo
    "chainwatch.cli.tagging",    # retag, analyze
    "chainwatch.cli.digests",    # subscribers ..., digest preview/send, schedule
    "chainwatch.cli.web",        # web, search, users
)


class Obj:
    """Lazily built application context handed to every command through click's ``obj``."""

    def __init__(self) -> None:
        self._ctx: AppContext | None = None

    @property
    def app(self) -> AppContext:
        if self._ctx is None:
            self._ctx = AppContext.from_env()
        return self._ctx


pass_app = click.make_pass_decorator(Obj, ensure=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.pass_context
def main_group(ctx: click.Context, verbose: int) -> None:
    """chainwatch: regional industrial-policy news, crawled, deduplicated, tagged and digested."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.root.handlers:
        handler.setLevel(level)  # Scrapy lowers the root logger's level when a crawl starts
    ctx.ensure_object(Obj)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # that area is not built yet
                continue
            raise
        module.register(main_group)


_register_all()


def main(argv: list[str] | None = None) -> None:
    try:
        main_group.main(args=argv, prog_name="chainwatch", standalone_mode=True)
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:
        from sqlalchemy.exc import OperationalError

        if not isinstance(exc, OperationalError):
            raise
        # the database is unreachable, full or locked past every retry: say so, not a traceback
        reason = str(exc.orig or exc).strip().splitlines()[0]
        click.echo(f"database error: {reason}", err=True)
        sys.exit(1)
