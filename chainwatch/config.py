"""Effective configuration: defaults < config file (CHAINWATCH_HOME/config.toml) < environment.

Every key can be set by an environment variable named ``CHAINWATCH_`` plus the
key path in upper case with dots turned into underscores: ``smtp.host`` is
``CHAINWATCH_SMTP_HOST``. Secrets may also come from a file named by the
variable with ``_FILE`` appended (``CHAINWATCH_SMTP_PASSWORD_FILE``), which is the
way to keep them out of the process environment.

A :class:`Config` is an immutable value passed to whoever needs it; there is no
module-level singleton.
"""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import platformdirs

log = logging.getLogger(__name__)

SECRET_KEYS = frozenset({"smtp.password", "web.secret_key", "database_url", "crawl.redis_url"})
_URL_KEYS = frozenset({"database_url", "crawl.redis_url"})  # only the password part is hidden


class ConfigError(ValueError):
    """The configuration cannot be used as it is; the message says which key and why."""


@dataclass(frozen=True)
class CrawlConfig:
    concurrency_per_domain: int = 4
    concurrency: int = 32
    download_timeout: int = 30
    max_page_bytes: int = 20 * 1024 * 1024
    max_pages: int = 20  # listing pages per section, by default
    retry_times: int = 3
    autothrottle: bool = True
    autothrottle_target_concurrency: float = 2.0
    download_delay: float = 0.0
    interval_hours: float = 6.0
    max_redirects: int = 10
    distributed: bool = False
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "chainwatch"  # Redis keys of distributed crawls start with this (docs/distributed.md)
    worker_heartbeat: float = 5.0  # seconds between a distributed worker's heartbeats
    worker_timeout: float = 60.0  # a worker silent this long is dead; its in-flight requests are re-queued
    cpu_processes: int = -1  # processes extracting and tagging pages; -1: one per core (max 4); 0: threads


@dataclass(frozen=True)
class SmtpConfig:
    host: str = ""
    port: int = 587
    security: str = "starttls"  # starttls | ssl | none
    user: str = ""
    password: str = ""
    sender: str = "chainwatch <chainwatch@localhost>"
    timeout: float = 30.0
    max_attempts: int = 5


@dataclass(frozen=True)
class ScheduleConfig:
    crawl_every_hours: float = 6.0
    digest_day: str = "mon"
    digest_time: str = "08:00"


@dataclass(frozen=True)
class WebConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    secret_key: str = ""
    session_hours: float = 12.0
    secure_cookies: bool = False  # set true behind HTTPS
    login_attempts_per_minute: int = 5


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    contact: str = "admin@example.org"
    allow_private_networks: bool = False
    timezone: str = "Asia/Shanghai"
    base_url: str = "http://127.0.0.1:8080"
    crawl: CrawlConfig = field(default_factory=CrawlConfig)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    web: WebConfig = field(default_factory=WebConfig)
    config_file: Path | None = None

    @property
    def user_agent(self) -> str:
        return f"chainwatch/0.1 (+{self.contact}; regional industrial-policy news monitor)"

    @property
    def outbox_dir(self) -> Path:
        return self.home / "outbox"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def as_dict(self, mask_secrets: bool = True) -> dict[str, Any]:
        """Flat ``{"smtp.host": ...}`` view, secrets masked, for ``config show``."""
        out: dict[str, Any] = {}
        for key, value in _flatten(self):
            if mask_secrets and key in SECRET_KEYS and value:
                value = _mask(key, str(value))
            out[key] = value
        return out


def _mask(key: str, value: str) -> str:
    if key in _URL_KEYS and "@" in value and "://" in value:
        # keep scheme, user, host and database; hide the password
        scheme, rest = value.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else value
    if key in _URL_KEYS:
        return value
    return "***"


def _flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    items: list[tuple[str, Any]] = []
    for f in fields(obj):
        value = getattr(obj, f.name)
        key = f"{prefix}{f.name}"
        if hasattr(value, "__dataclass_fields__"):
            items.extend(_flatten(value, key + "."))
        else:
            items.append((key, str(value) if isinstance(value, Path) else value))
    return items


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("chainwatch", appauthor=False))


def _coerce(raw: Any, current: Any, key: str) -> Any:
    target = type(current)
    if isinstance(raw, target) and not (target is int and isinstance(raw, bool)):
        return raw
    text = str(raw).strip()
    try:
        if target is bool:
            if text.lower() in {"1", "true", "yes", "on"}:
                return True
            if text.lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(text)
        if target is int:
            return int(text)
        if target is float:
            return float(text)
    except ValueError:
        raise ConfigError(f"{key}: expected {target.__name__}, got {raw!r}") from None
    if target is Path or current is None:
        return text
    return text


def _env_value(env: Mapping[str, str], key: str) -> str | None:
    name = "CHAINWATCH_" + key.upper().replace(".", "_")
    if name in env:
        return env[name]
    file_name = env.get(name + "_FILE")
    if file_name:
        path = Path(file_name)
        warn_if_readable_by_others(path)
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
    return None


def warn_if_readable_by_others(path: Path) -> bool:
    """Warn (and return True) when a file holding secrets is readable by group or others."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    if mode & (stat.S_IRGRP | stat.S_IROTH | stat.S_IWGRP | stat.S_IWOTH):
        log.warning("%s holds secrets but is readable by other users; run: chmod 600 %s", path, path)
        return True
    return False


def _apply(section: Any, prefix: str, file_data: Mapping[str, Any], env: Mapping[str, str]) -> Any:
    changes: dict[str, Any] = {}
    for f in fields(section):
        if f.name == "config_file" or f.name == "home":
            continue
        key = f"{prefix}{f.name}"
        current = getattr(section, f.name)
        if hasattr(current, "__dataclass_fields__"):
            sub = file_data.get(f.name, {})
            if not isinstance(sub, Mapping):
                raise ConfigError(f"{key}: expected a table")
            changes[f.name] = _apply(current, key + ".", sub, env)
            continue
        raw = _env_value(env, key)
        if raw is None and f.name in file_data:
            raw = file_data[f.name]
        if raw is not None:
            changes[f.name] = _coerce(raw, current, key)
    return replace(section, **changes)


def load_config(env: Mapping[str, str] | None = None, home: Path | str | None = None) -> Config:
    """Read the effective configuration. ``env`` defaults to ``os.environ``."""
    env = os.environ if env is None else env
    home_path = Path(home or env.get("CHAINWATCH_HOME") or default_home()).expanduser()
    config_file = home_path / "config.toml"
    file_data: dict[str, Any] = {}
    if config_file.exists():
        warn_if_readable_by_others(config_file) if _file_has_secrets(config_file) else None
        try:
            file_data = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{config_file}: not valid TOML: {exc}") from None
    base = Config(home=home_path, database_url=f"sqlite:///{home_path / 'chainwatch.sqlite3'}")
    cfg = _apply(base, "", file_data, env)
    cfg = replace(cfg, config_file=config_file if config_file.exists() else None)
    _validate(cfg)
    return cfg


def _file_has_secrets(path: Path) -> bool:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return "password" in text or "secret_key" in text or "@" in text


def _validate(cfg: Config) -> None:
    if cfg.smtp.security not in {"starttls", "ssl", "none"}:
        raise ConfigError(f"smtp.security: expected starttls, ssl or none, got {cfg.smtp.security!r}")
    if not cfg.database_url.startswith(("sqlite", "postgresql")):
        raise ConfigError(f"database_url: only sqlite:/// and postgresql:// URLs are supported, got "
                          f"{cfg.database_url.split('://', 1)[0]!r}")
    if cfg.crawl.concurrency_per_domain < 1:
        raise ConfigError("crawl.concurrency_per_domain: must be at least 1")


def ensure_home(cfg: Config) -> None:
    cfg.home.mkdir(parents=True, exist_ok=True)
