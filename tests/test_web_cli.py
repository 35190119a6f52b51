"""The terminal side: ``chainwatch users ...``, ``chainwatch search``, ``chainwatch reindex``."""

from __future__ import annotations

import csv
import io
import json

from click.testing import CliRunner
from web_seed import seed_archive

from chainwatch import users
from chainwatch.cli import main_group
from chainwatch.context import AppContext


def _run(app: AppContext, *args: str, input: str | None = None):
    from chainwatch.cli import Obj

    obj = Obj()
    obj._ctx = app
    return CliRunner().invoke(main_group, list(args), obj=obj, input=input, catch_exceptions=False)


def test_users_commands_never_echo_passwords(app, tmp_path) -> None:
    secret = "very secret password"
    pw = tmp_path / "pw"
    pw.write_text(secret + "\n")
    r = _run(app, "users", "add", "root", "--admin", "--password-file", str(pw))
    assert r.exit_code == 0 and "added root (admin)" in r.output and secret not in r.output
    r = _run(app, "users", "add", "ann", "--password-file", "-", input=secret + "\n")
    assert r.exit_code == 0 and secret not in r.output
    assert users.authenticate(app.db, "ann", secret, None).role == "reader"
    r = _run(app, "users", "add", "ann", "--password-file", str(pw))
    assert r.exit_code == 1 and "already exists" in r.output
    r = _run(app, "users", "add", "bob", "--password-file", "-", input="short\n")
    assert r.exit_code == 1 and "at least 10" in r.output and "short" not in r.output.split("at least")[0]
    assert _run(app, "users", "set-role", "ann", "editor").exit_code == 0
    assert _run(app, "users", "passwd", "ann", "--password-file", "-", input="another secret 1\n").exit_code == 0
    r = _run(app, "users", "list")
    assert "root" in r.output and "ann" in r.output and "editor" in r.output and secret not in r.output
    assert _run(app, "users", "token", "ann").output.startswith("cw_")
    assert _run(app, "users", "remove", "root").exit_code == 1  # the last admin
    assert _run(app, "users", "remove", "ann").exit_code == 0


def test_search_command_formats(app) -> None:
    seed_archive(app.db, hostile=True)
    r = _run(app, "search", "轴承", "--region", "河南")
    assert r.exit_code == 0 and "孟津区出台轴承产业高质量发展实施方案" in r.output
    data = json.loads(_run(app, "search", "bearings", "--format", "json").output)
    assert data["hits"][0]["title"] == "Luoyang sets target for bearings output"
    out = _run(app, "search", "script", "--format", "csv").output
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0][0] == "title" and any(row[0].startswith("<script>") for row in rows[1:])
    r = _run(app, "search", "轴承", "--since", "soon")
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output
    r = _run(app, "reindex")
    assert r.exit_code == 0 and "indexed 9 articles" in r.output
