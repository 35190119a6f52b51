"""Accounts for the web app and API: users and roles, passwords, sessions, API tokens, login throttling.

Passwords are argon2id hashes (argon2-cffi); session ids and API tokens are
random and stored only as SHA-256 hashes. Failed logins are rows in
``login_attempts`` so the limit holds across server processes. Nothing here
ever logs or returns a password.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from chainwatch.config import Config
from storage.db import Database
from storage.models import LoginAttempt, User
from storage.models_web import ApiToken, WebSession
from storage.timeutil import as_utc, utcnow

log = logging.getLogger(__name__)

ROLES = ("reader", "editor", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 would take anything; a megabyte "password" is a denial of service
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$")
_hasher = PasswordHasher()
# Verified against when the username is unknown, so timing does not tell which usernames exist.
_DUMMY_HASH = _hasher.hash("chainwatch-dummy-password")


class UserError(ValueError):
    """Invalid input or unknown user; the message is meant for the user."""


class LoginThrottled(UserError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed logins; try again in {retry_after} seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class UserView:
    id: int
    username: str
    role: str
    active: bool
    created_at: datetime | None
    last_login_at: datetime | None

    @classmethod
    def of(cls, u: User) -> UserView:
        return cls(u.id, u.username, u.role, u.active, as_utc(u.created_at), as_utc(u.last_login_at))

    def can(self, role: str) -> bool:
        return self.active and RANK.get(self.role, -1) >= RANK[role]


@dataclass(frozen=True)
class SessionInfo:
    user: UserView
    csrf_token: str
    expires_at: datetime


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def validate_username(username: str) -> str:
    name = (username or "").strip()
    if not _USERNAME.match(name):
        raise UserError("username: 2-100 characters, letters, digits and . _ @ - (starting with a letter or digit)")
    return name


def validate_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    return role


def validate_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise UserError(f"password: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"password: at most {MAX_PASSWORD} characters")
    return password


def _get(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == (username or "").strip()))
    if user is None:
        raise UserError(f"no such user: {username}")
    return user


def add_user(db: Database, username: str, password: str, role: str = "reader") -> UserView:
    name, _ = validate_username(username), validate_role(role)
    digest = _hasher.hash(validate_password(password))
    try:
        with db.session() as s:
            user = User(username=name, password_hash=digest, role=role, active=True)
            s.add(user)
            s.flush()
            return UserView.of(user)
    except IntegrityError:
        raise UserError(f"user {name} already exists") from None


def list_users(db: Database) -> list[UserView]:
    with db.session() as s:
        return [UserView.of(u) for u in s.scalars(select(User).order_by(User.username))]


def get_user(db: Database, username: str) -> UserView:
    with db.session() as s:
        return UserView.of(_get(s, username))


def _admins_left(s: Session, excluding: int) -> int:
    return s.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True), User.id != excluding)) or 0


def remove_user(db: Database, username: str) -> None:
    with db.session() as s:
        user = _get(s, username)
        if user.role == "admin" and not _admins_left(s, user.id):
            raise UserError("cannot remove the last admin")
        s.delete(user)


def set_role(db: Database, username: str, role: str) -> UserView:
    validate_role(role)
    with db.session() as s:
        user = _get(s, username)
        if user.role == "admin" and role != "admin" and not _admins_left(s, user.id):
            raise UserError("cannot demote the last admin")
        user.role = role
        return UserView.of(user)


def set_password(db: Database, username: str, password: str) -> None:
    digest = _hasher.hash(validate_password(password))
    with db.session() as s:
        user = _get(s, username)
        user.password_hash = digest
        # A new password ends every session and token opened with the old one.
        s.execute(delete(WebSession).where(WebSession.user_id == user.id))


def set_active(db: Database, username: str, active: bool) -> UserView:
    with db.session() as s:
        user = _get(s, username)
        if not active and user.role == "admin" and not _admins_left(s, user.id):
            raise UserError("cannot deactivate the last admin")
        user.active = active
        if not active:
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
        return UserView.of(user)


# --------------------------------------------------------------------------- login


def _throttle_keys(username: str, client: str | None) -> list[str]:
    keys = ["user:" + (username or "").strip().lower()[:100]]
    if client:
        keys.append("addr:" + client[:100])
    return keys


def check_throttle(s: Session, keys: list[str], limit: int, window: timedelta = timedelta(minutes=1)) -> None:
    since = utcnow() - window
    for key in keys:
        rows = s.scalars(select(LoginAttempt.at).where(LoginAttempt.key == key, LoginAttempt.at >= since)
                         .order_by(LoginAttempt.at)).all()
        if len(rows) >= limit:
            oldest = as_utc(rows[0]) or utcnow()
            retry = max(1, int((oldest + window - utcnow()).total_seconds()) + 1)
            raise LoginThrottled(retry)


def authenticate(db: Database, username: str, password: str, client: str | None,
                 limit: int = 5) -> UserView:
    """The user, if the password is right and neither the username nor the client address has had
    ``limit`` failures in the last minute. Raises LoginThrottled or UserError (one message for
    unknown user and wrong password)."""
    keys = _throttle_keys(username, client)
    with db.session() as s:
        check_throttle(s, keys, limit)
    password = password if isinstance(password, str) else ""
    with db.session() as s:
        user = s.scalar(select(User).where(User.username == (username or "").strip()[:100]))
        ok = False
        try:
            ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password[:MAX_PASSWORD])
        except (VerificationError, InvalidHashError):
            ok = False
        if ok and user is not None and user.active:
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            user.last_login_at = utcnow()
            return UserView.of(user)
        now = utcnow()
        s.add_all(LoginAttempt(key=k, at=now) for k in keys)
        s.execute(delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(days=1)))
    log.info("failed login for %r from %s", (username or "")[:100], client)
    raise UserError("wrong username or password")


# --------------------------------------------------------------------------- sessions


def create_session(db: Database, user_id: int, hours: float, client: str | None = None) -> tuple[str, str]:
    """A new session; returns (session id for the cookie, CSRF token)."""
    session_id = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with db.session() as s:
        s.add(WebSession(id_hash=_sha(session_id), user_id=user_id, csrf_token=csrf,
                         expires_at=utcnow() + timedelta(hours=hours), client=(client or "")[:100]))
        s.execute(delete(WebSession).where(WebSession.expires_at < utcnow()))
    return session_id, csrf


def get_session(db: Database, session_id: str) -> SessionInfo | None:
    if not session_id:
        return None
    with db.session() as s:
        row = s.get(WebSession, _sha(session_id))
        if row is None:
            return None
        expires = as_utc(row.expires_at)
        if expires is None or expires <= utcnow():
            s.delete(row)
            return None
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        return SessionInfo(UserView.of(user), row.csrf_token, expires)


def end_session(db: Database, session_id: str) -> None:
    with db.session() as s:
        s.execute(delete(WebSession).where(WebSession.id_hash == _sha(session_id or "")))


# --------------------------------------------------------------------------- API tokens

TOKEN_PREFIX = "cw_"


def create_token(db: Database, username: str, name: str = "api") -> str:
    """A new API token for ``username``; the only time it is shown in clear."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as s:
        user = _get(s, username)
        s.add(ApiToken(user_id=user.id, name=(name or "api")[:100], token_hash=_sha(token)))
    return token


def user_for_token(db: Database, token: str) -> UserView | None:
    if not token or not token.startswith(TOKEN_PREFIX):
        return None
    with db.session() as s:
        row = s.scalar(select(ApiToken).where(ApiToken.token_hash == _sha(token)))
        if row is None:
            return None
        user = s.get(User, row.user_id)
        if user is None or not user.active:
            return None
        row.last_used_at = utcnow()
        return UserView.of(user)


def list_tokens(db: Database, username: str) -> list[dict]:
    with db.session() as s:
        user = _get(s, username)
        return [{"id": t.id, "name": t.name, "created_at": as_utc(t.created_at),
                 "last_used_at": as_utc(t.last_used_at)}
                for t in s.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))]


def revoke_token(db: Database, username: str, token_id: int) -> None:
    with db.session() as s:
        user = _get(s, username)
        if not s.execute(delete(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id)).rowcount:
            raise UserError(f"no such token: {token_id}")


# --------------------------------------------------------------------------- secret key


def secret_key(config: Config) -> str:
    """config.web.secret_key, or one generated once into CHAINWATCH_HOME/secret_key (mode 0600)."""
    if config.web.secret_key:
        return config.web.secret_key
    path: Path = config.home / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    config.home.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not each write (and use) a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key + "\n")
    return key
