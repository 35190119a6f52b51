"""Configuration and secrets: passwords from the environment or from ``…_FILE`` secret files, a
warning when a file holding secrets is readable by others, secrets masked in ``config show`` and
never written to logs."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chainwatch.config import ConfigError, load_config

REPO = Path(__file__).resolve().parent.parent
SMTP_SECRET = "smtp-S3cret-from-file"
DB_SECRET = "db-S3cret-from-file"
TOML_SECRET = "toml-S3cret-9"
WARNING = "holds secrets but is readable by other users; run: chmod 600"


def _secret(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text + "\n", encoding="utf-8")
    path.chmod(mode)
    return path


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("CHAINWATCH_")} | env
    return subprocess.run([sys.executable, "-m", "chainwatch", *args], env=full, cwd=REPO, capture_output=True,
                          text=True, timeout=60, check=False)


def test_passwords_from_environment_and_secret_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cfg = load_config(env={"CHAINWATCH_HOME": str(home), "CHAINWATCH_SMTP_PASSWORD": "from-env",
                           "CHAINWATCH_DATABASE_URL": "postgresql://cw:from-env@db.internal/cw"})
    assert cfg.smtp.password == "from-env" and cfg.database_url == "postgresql://cw:from-env@db.internal/cw"
    smtp = _secret(tmp_path / "smtp_password", SMTP_SECRET)
    dburl = _secret(tmp_path / "database_url", f"postgresql://cw:{DB_SECRET}@db.internal/cw")
    web = _secret(tmp_path / "web_secret", "w" * 40)
    cfg = load_config(env={"CHAINWATCH_HOME": str(home), "CHAINWATCH_SMTP_PASSWORD_FILE": str(smtp),
                           "CHAINWATCH_DATABASE_URL_FILE": str(dburl), "CHAINWATCH_WEB_SECRET_KEY_FILE": str(web)})
    assert cfg.smtp.password == SMTP_SECRET  # trailing newline stripped
    assert cfg.database_url == f"postgresql://cw:{DB_SECRET}@db.internal/cw"
    assert cfg.web.secret_key == "w" * 40
    # the variable itself wins over its _FILE
    cfg = load_config(env={"CHAINWATCH_HOME": str(home), "CHAINWATCH_SMTP_PASSWORD": "direct",
                           "CHAINWATCH_SMTP_PASSWORD_FILE": str(smtp)})
    assert cfg.smtp.password == "direct"


def test_missing_secret_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="CHAINWATCH_SMTP_PASSWORD_FILE: cannot read"):
        load_config(env={"CHAINWATCH_HOME": str(tmp_path), "CHAINWATCH_SMTP_PASSWORD_FILE": str(tmp_path / "nope")})


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_warning_for_secret_files_readable_by_others(tmp_path: Path, caplog, mode: int) -> None:
    caplog.set_level(logging.WARNING, logger="chainwatch.config")
    smtp = _secret(tmp_path / "smtp_password", SMTP_SECRET, mode)
    load_config(env={"CHAINWATCH_HOME": str(tmp_path), "CHAINWATCH_SMTP_PASSWORD_FILE": str(smtp)})
    assert f"{smtp} {WARNING} {smtp}" in caplog.text
    assert SMTP_SECRET not in caplog.text


def test_no_warning_for_private_files(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="chainwatch.config")
    smtp = _secret(tmp_path / "smtp_password", SMTP_SECRET, 0o600)
    _secret(tmp_path / "config.toml", f'[smtp]\npassword = "{TOML_SECRET}"', 0o600)
    load_config(env={"CHAINWATCH_HOME": str(tmp_path), "CHAINWATCH_SMTP_PASSWORD_FILE": str(smtp)})
    assert WARNING not in caplog.text


def test_cli_warns_about_readable_config_and_secret_file_and_masks_secrets(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = _secret(home / "config.toml", f'[smtp]\nhost = "smtp.example.org"\npassword = "{TOML_SECRET}"\n'
                     f'[web]\nsecret_key = "{TOML_SECRET}-web"', 0o644)
    dburl = _secret(tmp_path / "database_url", f"postgresql://cw:{DB_SECRET}@db.internal/cw", 0o644)
    proc = _cli({"CHAINWATCH_HOME": str(home), "CHAINWATCH_DATABASE_URL_FILE": str(dburl)}, "-v", "config", "show")
    assert proc.returncode == 0, proc.stderr
    assert f"{config} {WARNING} {config}" in proc.stderr
    assert f"{dburl} {WARNING} {dburl}" in proc.stderr
    assert "smtp.password = '***'" in proc.stdout and "web.secret_key = '***'" in proc.stdout
    assert "database_url = 'postgresql://cw:***@db.internal/cw'" in proc.stdout
    for secret in (TOML_SECRET, DB_SECRET):
        assert secret not in proc.stdout and secret not in proc.stderr
    proc = _cli({"CHAINWATCH_HOME": str(home), "CHAINWATCH_DATABASE_URL_FILE": str(dburl)}, "config", "show",
                "--json")
    shown = json.loads(proc.stdout)
    assert shown["smtp.password"] == "***" and DB_SECRET not in proc.stdout


def test_cli_is_quiet_about_private_files(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    _secret(home / "config.toml", f'[smtp]\npassword = "{TOML_SECRET}"', 0o600)
    smtp = _secret(tmp_path / "smtp_password", SMTP_SECRET, 0o600)
    proc = _cli({"CHAINWATCH_HOME": str(home), "CHAINWATCH_SMTP_PASSWORD_FILE": str(smtp)}, "config", "show")
    assert proc.returncode == 0 and WARNING not in proc.stderr


def test_secrets_never_in_logs_of_a_digest_run(tmp_path: Path) -> None:
    """Debug logging of a command that uses SMTP and the database prints neither password."""
    home = tmp_path / "home"
    smtp = _secret(tmp_path / "smtp_password", SMTP_SECRET)
    env = {"CHAINWATCH_HOME": str(home), "CHAINWATCH_SMTP_PASSWORD_FILE": str(smtp),
           "CHAINWATCH_SMTP_HOST": "127.0.0.1", "CHAINWATCH_SMTP_PORT": "9", "CHAINWATCH_SMTP_USER": "cw",
           "CHAINWATCH_SMTP_TIMEOUT": "2", "CHAINWATCH_SMTP_MAX_ATTEMPTS": "1"}
    for args in (("-vv", "config", "show"), ("-vv", "digest", "send", "--dry-run"), ("-vv", "subscribers", "list")):
        proc = _cli(env, *args)
        assert SMTP_SECRET not in proc.stdout + proc.stderr, args


def test_config_show_masks_database_passwords_in_every_form(tmp_path: Path) -> None:
    cfg = load_config(env={"CHAINWATCH_HOME": str(tmp_path),
                           "CHAINWATCH_DATABASE_URL": "postgresql://cw:p%40ss:w@rd@db.internal:5432/cw"})
    shown = cfg.as_dict()
    assert "p%40ss" not in shown["database_url"] and "rd@db" not in shown["database_url"]
    assert shown["database_url"].endswith("@db.internal:5432/cw")
    assert cfg.as_dict(mask_secrets=False)["database_url"] == cfg.database_url


def test_config_show_masks_a_redis_password(tmp_path: Path) -> None:
    cfg = load_config(env={"CHAINWATCH_HOME": str(tmp_path),
                           "CHAINWATCH_CRAWL_REDIS_URL": "redis://:redis-S3cret@cache.internal:6379/0"})
    assert "redis-S3cret" not in str(cfg.as_dict())
    assert cfg.as_dict()["crawl.redis_url"] == "redis://:***@cache.internal:6379/0"
