"""Sending digests through a real SMTP server on loopback (aiosmtpd), on SQLite and PostgreSQL.

Each (subscriber, period) must arrive exactly once: across repeated and concurrent
runs, server outages, rejected recipients and slow servers.
"""

from __future__ import annotations

import asyncio
import email
import os
import socket
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import policy

import factories as f
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from chainwatch import subscribers
from chainwatch.context import AppContext
from digests import service
from storage.models import Delivery, Subscriber

W45 = "2022-W45"


class Recorder:
    """aiosmtpd handler: records messages; can refuse chosen recipients and answer slowly."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []
        self.reject: set[str] = set()
        self.delay = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        msg = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def count(self) -> Counter:
        return Counter(r for rcpts, _ in self.messages for r in rcpts)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp():
    handler = Recorder()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


def _app(config, db, port: int, **smtp) -> AppContext:
    cfg = replace(config, base_url="https://cw.example.org", smtp=replace(
        config.smtp, host="127.0.0.1", port=port, security="none", timeout=10.0,
        sender="chainwatch <digest@cw.example.org>", **smtp))
    return AppContext(config=cfg, _db=db)


@pytest.fixture
def mail_app(any_db, config, smtp) -> AppContext:
    app = _app(config, any_db, smtp.port)
    with app.db.session() as s:
        f.article(s, title="洛阳轴承产业联盟成立", published=f.at("2022-11-08"), regions=["410300"],
                  chains=["bearings"], events=[dict(type="alliance", name="洛阳轴承产业联盟", region_code="410300")])
        f.article(s, title="苏州半导体产业新政", published=f.at("2022-11-09"), regions=["320500"],
                  chains=["semiconductors"])
    return app


def _statuses(app) -> dict[str, str]:
    with app.db.session() as s:
        rows = s.execute(select(Subscriber.email, Delivery.status).join(Delivery)).all()
    return dict(rows)


def _add(app, *emails: str, **kw) -> None:
    for e in emails:
        subscribers.add(app, e, **kw)


def test_digest_arrives_with_both_parts_and_the_right_headers(mail_app, smtp) -> None:
    sub = subscribers.add(mail_app, "henan@example.org", name="王处长", regions="410000")
    subscribers.add(mail_app, "jiangsu@example.org", regions="320000", language="en")
    report = service.send(mail_app, W45)
    assert [o.status for o in report.outcomes] == ["sent", "sent"]
    by_rcpt = {rcpts[0]: msg for rcpts, msg in smtp.messages}
    assert sorted(by_rcpt) == ["henan@example.org", "jiangsu@example.org"]
    msg = by_rcpt["henan@example.org"]
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"].startswith("产业链政策周报 2022-W45")
    assert msg["To"].addresses[0].addr_spec == "henan@example.org" and msg["To"].addresses[0].display_name == "王处长"
    assert msg["From"].addresses[0].addr_spec == "digest@cw.example.org"
    assert msg["Date"] is not None and msg["Message-ID"].endswith("@cw.example.org>")
    assert msg["List-Unsubscribe"] == f"<https://cw.example.org/unsubscribe/{sub.unsubscribe_token}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = msg.get_body(("html",)).get_content()
    text = msg.get_body(("plain",)).get_content()
    assert "洛阳轴承产业联盟" in html and "苏州" not in html and "max-width:640px" in html
    assert "<link" not in html and "<img" not in html and "<style" not in html  # nothing external, inline CSS
    assert "洛阳轴承产业联盟" in text
    en = by_rcpt["jiangsu@example.org"]
    assert en["Subject"].startswith("Industry-chain policy weekly")
    assert "苏州半导体产业新政" in en.get_body(("plain",)).get_content()
    assert "洛阳" not in en.get_body(("plain",)).get_content()
    assert _statuses(mail_app) == {"henan@example.org": "sent", "jiangsu@example.org": "sent"}
    with mail_app.db.session() as s:
        row = s.scalars(select(Delivery).join(Subscriber).where(Subscriber.email == "henan@example.org")).one()
    assert row.message_id == msg["Message-ID"] and row.attempts == 1 and row.sent_at is not None


def test_sending_twice_sends_once(mail_app, smtp) -> None:
    _add(mail_app, "a@example.org", "b@example.org")
    assert len(service.send(mail_app, W45).sent) == 2
    again = service.send(mail_app, W45)
    assert again.sent == [] and again.outcomes == []
    assert smtp.count() == {"a@example.org": 1, "b@example.org": 1}


def test_concurrent_runs_send_each_digest_once(mail_app, smtp) -> None:
    emails = [f"r{i}@example.org" for i in range(6)]
    _add(mail_app, *emails)
    barrier = threading.Barrier(3)
    reports, errors = [], []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(service.send(mail_app, W45))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert smtp.count() == dict.fromkeys(emails, 1)
    assert sum(len(r.sent) for r in reports) == 6
    assert set(_statuses(mail_app).values()) == {"sent"}


def test_server_down_marks_nothing_sent_and_a_later_run_delivers(mail_app, smtp, config) -> None:
    _add(mail_app, "a@example.org", "b@example.org", "c@example.org")
    down = _app(config, mail_app.db, _free_port())  # nothing listens there
    report = service.send(down, W45)
    assert report.sent == [] and report.aborted  # stops instead of timing out once per subscriber
    statuses = _statuses(mail_app)
    assert "sent" not in statuses.values() and "failed" in statuses.values()
    with mail_app.db.session() as s:
        failed = s.scalars(select(Delivery).where(Delivery.status == "failed")).all()
    assert all(d.last_error and d.next_attempt_at is not None for d in failed)
    # an immediate retry respects the backoff; a later run (after it) delivers everything once
    assert service.send(mail_app, now=datetime.now(UTC)).sent == []
    later = service.send(mail_app, W45, now=datetime.now(UTC) + timedelta(hours=1))
    assert len(later.sent) == 3
    assert smtp.count() == {"a@example.org": 1, "b@example.org": 1, "c@example.org": 1}


def test_rejected_recipient_fails_alone_and_is_retried_later(mail_app, smtp) -> None:
    _add(mail_app, "a@example.org", "nobody@example.org", "c@example.org")
    smtp.reject.add("nobody@example.org")
    first = service.send(mail_app, W45)
    assert sorted(o.email for o in first.sent) == ["a@example.org", "c@example.org"]
    assert [o.email for o in first.failed] == ["nobody@example.org"]
    with mail_app.db.session() as s:
        row = s.scalars(select(Delivery).join(Subscriber).where(Subscriber.email == "nobody@example.org")).one()
    assert row.status == "failed" and "550" in row.last_error and row.attempts == 1
    # a run right away: nothing (the others are sent; the failed one waits for its backoff)
    assert service.send(mail_app).outcomes == []
    smtp.reject.clear()
    retry_time = datetime.now(UTC) + timedelta(hours=1)
    retried = service.send(mail_app, W45, now=retry_time)
    assert [o.email for o in retried.sent] == ["nobody@example.org"]
    assert smtp.count() == {"a@example.org": 1, "c@example.org": 1, "nobody@example.org": 1}
    assert set(_statuses(mail_app).values()) == {"sent"}


def test_gives_up_after_max_attempts_unless_forced(mail_app, smtp) -> None:
    app = AppContext(config=replace(mail_app.config, smtp=replace(mail_app.config.smtp, max_attempts=2)),
                     _db=mail_app.db)
    _add(app, "nobody@example.org")
    smtp.reject.add("nobody@example.org")
    service.send(app, W45)
    with app.db.session() as s:
        s.execute(update(Delivery).values(next_attempt_at=None))  # skip the backoff wait
    service.send(app, W45)
    with app.db.session() as s:
        row = s.scalars(select(Delivery)).one()
    assert row.attempts == 2 and row.next_attempt_at is None and row.last_error.startswith("gave up")
    assert smtp.messages == []


def test_slow_server_within_the_timeout_still_delivers(mail_app, smtp) -> None:
    smtp.delay = 1.5  # below the 10 s timeout
    _add(mail_app, "a@example.org")
    assert [o.email for o in service.send(mail_app, W45).sent] == ["a@example.org"]
    assert smtp.count() == {"a@example.org": 1}


def test_hostile_titles_arrive_harmless(mail_app, smtp) -> None:
    with mail_app.db.session() as s:
        f.article(s, title="<script>alert(1)</script>Title\r\nBcc: evil@x", published=f.at("2022-11-10"),
                  regions=["410300"])
    subscribers.add(mail_app, "a@example.org", name="Evil\r\nBcc: evil@x")
    service.send(mail_app, W45)
    ((rcpts, msg),) = smtp.messages
    assert rcpts == ["a@example.org"]
    assert msg["Bcc"] is None and "evil" not in msg["Subject"]
    assert all("evil@x" not in str(v) or k == "To" for k, v in msg.items())
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    text = msg.get_body(("plain",)).get_content()
    assert "\nBcc: evil@x" not in text


def test_password_never_appears_in_errors(mail_app, smtp, config) -> None:
    app = _app(config, mail_app.db, smtp.port, user="digest", password="s3cret-pa55")
    _add(app, "a@example.org")
    report = service.send(app, W45)  # the test server offers no AUTH: login fails
    assert report.failed and "s3cret-pa55" not in repr(report)
    with app.db.session() as s:
        assert "s3cret-pa55" not in (s.scalars(select(Delivery.last_error)).one() or "")


def test_missed_periods_are_sent_when_the_machine_comes_back(mail_app, smtp) -> None:
    sub = subscribers.add(mail_app, "a@example.org")
    with mail_app.db.session() as s:
        s.execute(update(Subscriber).where(Subscriber.id == sub.id)
                  .values(created_at=datetime(2022, 10, 20, tzinfo=UTC)))
    back_on = datetime(2022, 11, 14, 3, tzinfo=UTC)  # Monday 11:00 in Shanghai
    report = service.send(mail_app, now=back_on)
    assert [(o.period, o.status) for o in report.outcomes] == [
        ("2022-W42", "empty"), ("2022-W43", "empty"), ("2022-W44", "empty"), ("2022-W45", "sent")]
    assert smtp.count() == {"a@example.org": 1}  # old empty weeks are recorded, not mailed
    assert service.send(mail_app, now=back_on).outcomes == []


def test_catch_up_is_bounded(mail_app, smtp) -> None:
    sub = subscribers.add(mail_app, "a@example.org")
    with mail_app.db.session() as s:
        s.execute(update(Subscriber).where(Subscriber.id == sub.id).values(created_at=datetime(2020, 1, 1, tzinfo=UTC)))
    report = service.send(mail_app, now=datetime(2022, 11, 14, 3, tzinfo=UTC))
    assert len(report.outcomes) == service.CATCH_UP_PERIODS and report.outcomes[-1].period == W45


def test_scheduled_send_waits_for_the_send_time(mail_app, smtp) -> None:
    sub = subscribers.add(mail_app, "a@example.org")
    with mail_app.db.session() as s:
        s.execute(update(Subscriber).where(Subscriber.id == sub.id).values(created_at=f.at("2022-11-07")))
    before = datetime(2022, 11, 13, 23, tzinfo=UTC)  # Monday 07:00 Shanghai
    assert service.send(mail_app, now=before, send_at=("mon", "08:00")).outcomes == []
    after = datetime(2022, 11, 14, 0, 1, tzinfo=UTC)
    assert [o.status for o in service.send(mail_app, now=after, send_at=("mon", "08:00")).outcomes] == ["sent"]


def test_daily_subscriber_gets_the_day(mail_app, smtp) -> None:
    _add(mail_app, "daily@example.org", frequency="daily")
    _add(mail_app, "weekly@example.org")
    report = service.send(mail_app, "2022-11-08")
    assert [(o.email, o.period) for o in report.sent] == [("daily@example.org", "2022-11-08")]
    ((_, msg),) = smtp.messages
    assert "产业链政策日报 2022-11-08" in msg["Subject"]
    assert "洛阳轴承产业联盟" in msg.get_body(("plain",)).get_content()


def test_dry_run_sends_and_records_nothing(mail_app, smtp) -> None:
    _add(mail_app, "a@example.org")
    report = service.send(mail_app, W45, dry_run=True)
    assert [(o.status, o.detail) for o in report.outcomes] == [("planned", "2 stories")]
    assert smtp.messages == [] and _statuses(mail_app) == {}


def test_delivery_log(mail_app, smtp) -> None:
    _add(mail_app, "a@example.org")
    service.send(mail_app, W45)
    (row,) = service.deliveries(mail_app)
    assert (row.email, row.period, row.status, row.attempts) == ("a@example.org", W45, "sent", 1)


# ---------------------------------------------------------------- outbox mode (no SMTP host)


def test_outbox_mode_writes_eml_and_html(app) -> None:
    with app.db.session() as s:
        f.article(s, title="洛阳轴承", published=f.at("2022-11-08"))
    subscribers.add(app, "a@example.org")
    report = service.send(app, W45)
    assert str(app.config.outbox_dir) in report.transport
    (sent,) = report.sent
    eml = app.config.outbox_dir / f"{W45}_1_a@example.org.eml"
    assert sent.detail == str(eml)
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert "洛阳轴承" in eml.with_suffix(".html").read_text(encoding="utf-8")
    assert sorted(p.name for p in app.config.outbox_dir.iterdir()) == [eml.name, eml.with_suffix(".html").name]
    (row,) = service.deliveries(app)
    assert row.outbox_path == str(eml) and row.status == "sent"


def test_outbox_write_failure_leaves_no_partial_file_and_is_retried(app, monkeypatch) -> None:
    with app.db.session() as s:
        f.article(s, title="洛阳轴承", published=f.at("2022-11-08"))
    subscribers.add(app, "a@example.org")
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".eml"):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert service.send(app, W45).failed
    assert not any(p.suffix == ".eml" or p.name.startswith(".") for p in app.config.outbox_dir.iterdir())
    monkeypatch.setattr(os, "replace", real_replace)
    assert len(service.send(app, W45).sent) == 1  # a forced period ignores the backoff
    assert len(list(app.config.outbox_dir.glob("*.eml"))) == 1


def test_abandoned_claim_is_taken_over_but_a_live_one_is_not(mail_app, smtp) -> None:
    _add(mail_app, "crashed@example.org", "busy@example.org")
    with mail_app.db.session() as s:
        ids = dict(s.execute(select(Subscriber.email, Subscriber.id)).all())
        now = datetime.now(UTC)
        s.add_all([
            Delivery(subscriber_id=ids["crashed@example.org"], period=W45, status="sending", attempts=1,
                     claimed_by="dead-host:1", claimed_at=now - timedelta(hours=1)),
            Delivery(subscriber_id=ids["busy@example.org"], period=W45, status="sending", attempts=1,
                     claimed_by="live-host:2", claimed_at=now),
        ])
    report = service.send(mail_app, W45)
    assert [o.email for o in report.sent] == ["crashed@example.org"]
    assert [o.email for o in report.by_status("skipped")] == ["busy@example.org"]
    assert smtp.count() == {"crashed@example.org": 1}
