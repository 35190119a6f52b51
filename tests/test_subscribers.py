"""Subscriber CRUD: validation with clear messages, and the CLI on top of it."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from chainwatch import subscribers
from chainwatch.cli import main_group
from chainwatch.subscribers import SubscriberError


def test_add_normalises_and_defaults(app) -> None:
    sub = subscribers.add(app, "  Wang.Li@Example.ORG ", name="王\r\n丽", regions="410000, 410300",
                          chains="Bearings,equipment")
    assert sub.email == "Wang.Li@example.org"
    assert sub.name == "王 丽"  # no line breaks can reach the To: header
    assert sub.regions == ("410000", "410300") and sub.chains == ("bearings", "equipment")
    assert (sub.language, sub.frequency, sub.timezone, sub.active) == ("zh", "weekly", "Asia/Shanghai", True)
    assert len(sub.unsubscribe_token) >= 40
    other = subscribers.add(app, "b@example.org")
    assert other.unsubscribe_token != sub.unsubscribe_token
    assert other.regions == () and other.chains == ()  # no filter: everything


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"email": "not-an-email"}, "not a valid email"),
    ({"email": "a@b"}, "not a valid email"),
    ({"email": "a@example.org\r\nBcc: x@y.org"}, "not a valid email"),
    ({"email": "a@example.org", "regions": "4100"}, "six-digit"),
    ({"email": "a@example.org", "regions": "999999"}, "not in the gazetteer"),
    ({"email": "a@example.org", "chains": "Bad Slug!"}, "slug"),
    ({"email": "a@example.org", "language": "fr"}, "zh or en"),
    ({"email": "a@example.org", "frequency": "monthly"}, "weekly or daily"),
    ({"email": "a@example.org", "timezone": "Mars/Olympus"}, "time zone"),
])
def test_invalid_input_is_refused_with_a_clear_message(app, kwargs, message) -> None:
    email = kwargs.pop("email")
    with pytest.raises(SubscriberError, match=message):
        subscribers.add(app, email, **kwargs)
    assert subscribers.list_all(app) == []


def test_duplicate_address_is_refused(app) -> None:
    subscribers.add(app, "a@example.org")
    with pytest.raises(SubscriberError, match="already subscribed"):
        subscribers.add(app, "a@EXAMPLE.org")


def test_update_changes_only_what_is_given_and_clears_with_empty(app) -> None:
    sub = subscribers.add(app, "a@example.org", regions="410000", chains="bearings", language="en")
    changed = subscribers.update(app, "a@example.org", chains="", frequency="daily", timezone="Europe/Berlin")
    assert changed.chains == () and changed.regions == ("410000",) and changed.language == "en"
    assert (changed.frequency, changed.timezone) == ("daily", "Europe/Berlin")
    assert subscribers.update(app, sub.id, active=False).active is False
    with pytest.raises(SubscriberError, match="no subscriber"):
        subscribers.update(app, "ghost@example.org", language="zh")
    subscribers.add(app, "b@example.org")
    with pytest.raises(SubscriberError, match="already subscribed"):
        subscribers.update(app, "b@example.org", email="a@example.org")


def test_remove_and_unsubscribe(app) -> None:
    a = subscribers.add(app, "a@example.org")
    b = subscribers.add(app, "b@example.org")
    assert subscribers.unsubscribe(app, b.unsubscribe_token).active is False
    assert subscribers.unsubscribe(app, "no-such-token") is None
    subscribers.remove(app, a.email)
    assert [s.email for s in subscribers.list_all(app)] == ["b@example.org"]
    assert subscribers.list_all(app, include_inactive=False) == []
    with pytest.raises(SubscriberError):
        subscribers.remove(app, a.email)


def test_cli_subscribers_round_trip() -> None:
    runner = CliRunner()
    add = runner.invoke(main_group, ["subscribers", "add", "a@example.org", "--regions", "410000",
                                     "--chains", "equipment", "--language", "en"])
    assert add.exit_code == 0, add.output
    assert "subscribed a@example.org" in add.output
    bad = runner.invoke(main_group, ["subscribers", "add", "nope"])
    assert bad.exit_code != 0 and "not a valid email" in bad.output
    listed = runner.invoke(main_group, ["subscribers", "list"])
    assert "a@example.org" in listed.output and "410000, equipment" in listed.output
    upd = runner.invoke(main_group, ["subscribers", "update", "a@example.org", "--inactive"])
    assert upd.exit_code == 0 and "[inactive]" in runner.invoke(main_group, ["subscribers", "list"]).output
    assert runner.invoke(main_group, ["subscribers", "remove", "a@example.org"]).exit_code == 0
    assert "no subscribers" in runner.invoke(main_group, ["subscribers", "list"]).output


def test_cli_digest_preview_and_send(tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "p.html"
    res = runner.invoke(main_group, ["digest", "preview", "--period", "2022-W45", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.output.strip() == str(out) and "2022-W45" in out.read_text()
    assert runner.invoke(main_group, ["subscribers", "add", "a@example.org"]).exit_code == 0
    sent = runner.invoke(main_group, ["digest", "send", "--period", "2022-W45"])
    assert sent.exit_code == 0, sent.output
    assert "outbox folder" in sent.output and "1 sent, 0 failed" in sent.output
    again = runner.invoke(main_group, ["digest", "send", "--period", "2022-W45"])
    assert "nothing due" in again.output
    bad = runner.invoke(main_group, ["digest", "send", "--period", "2022-W60"])
    assert bad.exit_code != 0 and "no such ISO week" in bad.output
