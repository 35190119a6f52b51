"""Putting a rendered digest in an envelope and handing it over: SMTP, or the outbox folder.

Errors are sorted into two kinds the caller records differently: the server
refused this one recipient (RecipientRejected; others still go out), or the
transport failed (TransportError; retried later with backoff). Neither message
ever contains the SMTP password.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import smtplib
import ssl
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Protocol

from chainwatch.config import Config, SmtpConfig
from digests.render import Rendered, oneline
from storage.timeutil import utcnow

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """Base class: the message was not delivered."""


class RecipientRejected(DeliveryError):
    """The server refused this recipient (5xx/4xx on RCPT); the connection is still good."""


class TransportError(DeliveryError):
    """Could not talk to the server (down, timeout, auth, disconnect) or write the outbox."""


@dataclass(frozen=True)
class Envelope:
    to_email: str
    to_name: str | None
    message_id: str
    unsubscribe_url: str | None
    date: datetime | None = None


def header_safe(value: str | None) -> str:
    """No CR/LF (or other control characters) in anything that becomes a header."""
    return oneline(value)


def message_id_for(key: str, sender: str) -> str:
    """A stable Message-ID per delivery: a re-send after a crash carries the same id, so
    mail clients show one message."""
    domain = parseaddr(sender)[1].rpartition("@")[2] or "chainwatch.localhost"
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"<chainwatch.{digest}@{header_safe(domain)}>"


def build_message(rendered: Rendered, envelope: Envelope, sender: str) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = header_safe(rendered.subject)
    msg["From"] = header_safe(sender)
    msg["To"] = Address(display_name=header_safe(envelope.to_name), addr_spec=header_safe(envelope.to_email))
    msg["Date"] = format_datetime(envelope.date or utcnow())
    msg["Message-ID"] = header_safe(envelope.message_id)
    if envelope.unsubscribe_url:
        # RFC 2369 + RFC 8058: one-click unsubscribe from the mail client's own button
        msg["List-Unsubscribe"] = f"<{header_safe(envelope.unsubscribe_url)}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg


class Transport(Protocol):
    description: str

    def send(self, msg: EmailMessage, recipient: str, basename: str) -> str | None:
        """Deliver; returns the outbox path for file transports, None for SMTP."""

    def close(self) -> None: ...


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class OutboxTransport:
    """No SMTP host configured: each digest becomes NAME.eml (the full message) and NAME.html."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.description = f"outbox folder {folder}"

    def send(self, msg: EmailMessage, recipient: str, basename: str) -> str | None:
        safe = re.sub(r"[^A-Za-z0-9._@-]+", "_", basename)[:150]
        eml = self.folder / f"{safe}.eml"
        try:
            html_part = msg.get_body(preferencelist=("html",))
            html = html_part.get_content() if html_part is not None else ""
            write_atomic(self.folder / f"{safe}.html", html.encode("utf-8"))
            write_atomic(eml, msg.as_bytes())  # last: the .eml appearing means the pair is complete
        except OSError as exc:
            raise TransportError(f"cannot write to the outbox {self.folder}: {exc.strerror or exc}") from exc
        return str(eml)

    def close(self) -> None:
        pass


class SmtpTransport:
    """One connection reused for a run; reconnects after a failure."""

    def __init__(self, cfg: SmtpConfig) -> None:
        self.cfg = cfg
        self.description = f"SMTP server {cfg.host}:{cfg.port} ({cfg.security})"
        self._conn: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        cfg = self.cfg
        try:
            if cfg.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                                      context=ssl.create_default_context())
            else:
                conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
                if cfg.security == "starttls":
                    conn.ehlo()
                    conn.starttls(context=ssl.create_default_context())
            conn.ehlo()
            if cfg.user:
                conn.login(cfg.user, cfg.password)
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportError(f"SMTP login as {cfg.user!r} refused: {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransportError(f"cannot connect to {self.description}: {_reason(exc)}") from None
        return conn

    def send(self, msg: EmailMessage, recipient: str, basename: str) -> str | None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.send_message(msg, from_addr=parseaddr(self.cfg.sender)[1] or None, to_addrs=[recipient])
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()), (0, b""))
            raise RecipientRejected(f"{recipient} refused by the server: {code} {_text(text)}") from None
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise TransportError(f"sending to {self.description} failed: {_reason(exc)}") from None
        return None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except Exception:
                with contextlib.suppress(Exception):
                    conn.close()


def transport_for(config: Config) -> Transport:
    if config.smtp.host:
        return SmtpTransport(config.smtp)
    return OutboxTransport(config.outbox_dir)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
