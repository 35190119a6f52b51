"""The unattended schedule: jobs persisted under fixed ids, crawls in a child process, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import inspect

from chainwatch import locks, scheduler
from chainwatch.context import AppContext


@pytest.fixture
def sched_app(config, db) -> AppContext:
    return AppContext(config=config, _db=db)


def _jobs(app: AppContext, **kw):
    sched = scheduler.build_scheduler(app, **kw)
    try:
        return {j.id: j for j in sched.get_jobs()}, sched
    finally:
        sched.shutdown(wait=False)


def test_jobs_are_persisted_once_under_fixed_ids(sched_app) -> None:
    jobs, _ = _jobs(sched_app)
    assert set(jobs) == {"crawl", "digest", "digest-catch-up"}
    assert inspect(sched_app.db.engine).has_table(scheduler.JOB_TABLE)
    digest = jobs["digest"]
    assert "day_of_week='mon'" in str(digest.trigger) and "hour='8'" in str(digest.trigger)
    assert str(digest.trigger.timezone) == "Asia/Shanghai"
    assert digest.coalesce and digest.misfire_grace_time == 6 * 3600
    assert jobs["crawl"].trigger.interval.total_seconds() == 6 * 3600
    # a restart neither forgets nor doubles them, and keeps when they are next due
    again, _ = _jobs(sched_app)
    assert set(again) == set(jobs)
    assert again["crawl"].next_run_time == jobs["crawl"].next_run_time
    assert again["digest"].next_run_time == jobs["digest"].next_run_time


def test_changed_configuration_replaces_the_job(sched_app) -> None:
    _jobs(sched_app)
    cfg = sched_app.config
    changed = AppContext(config=replace(cfg, schedule=replace(cfg.schedule, crawl_every_hours=2.0,
                                                                digest_day="fri", digest_time="07:30")),
                         _db=sched_app.db)
    jobs, _ = _jobs(changed)
    assert len(jobs) == 3
    assert jobs["crawl"].trigger.interval.total_seconds() == 2 * 3600
    assert "day_of_week='fri'" in str(jobs["digest"].trigger) and "minute='30'" in str(jobs["digest"].trigger)


def test_crawl_job_runs_the_command_in_a_child(sched_app, tmp_path: Path) -> None:
    marker = tmp_path / "crawled"
    _jobs(sched_app, crawl_command=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"])
    assert scheduler.crawl_job() == 0
    assert marker.exists()
    assert locks.holder(sched_app.db, "scheduler-crawl") is None  # released afterwards


def test_crawl_job_skips_while_another_crawl_holds_the_lock(sched_app, tmp_path: Path) -> None:
    marker = tmp_path / "crawled"
    _jobs(sched_app, crawl_command=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"])
    with locks.lease(sched_app.db, "crawl", owner="manual crawl"):
        assert scheduler.crawl_job() is None
    assert not marker.exists()


def test_stop_terminates_a_running_crawl(sched_app, tmp_path: Path) -> None:
    started = tmp_path / "started"
    child = f"import time; open({str(started)!r}, 'w').write('x'); time.sleep(120)"
    sched = scheduler.build_scheduler(sched_app, crawl_command=[sys.executable, "-c", child])
    result: list[int | None] = []
    worker = threading.Thread(target=lambda: result.append(scheduler.crawl_job()))
    worker.start()
    deadline = time.monotonic() + 30
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()
    scheduler.stop(sched)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert result == [-signal.SIGTERM]  # ended by SIGTERM, not left running
    assert not sched.running


def test_digest_job_sends_what_is_due(sched_app) -> None:
    from chainwatch import subscribers

    subscribers.add(sched_app, "a@example.org")
    _jobs(sched_app)
    scheduler.digest_job()  # a subscriber created now has no completed period: nothing, and no error
    assert locks.holder(sched_app.db, "scheduler-digest") is None


def test_python_m_chainwatch_schedule_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    env = {**os.environ, "CHAINWATCH_HOME": str(tmp_path / "home"),
           # the first crawl starts at once: make it a harmless, long one so SIGTERM must end it
           "CHAINWATCH_SCHEDULE_CRAWL_EVERY_HOURS": "6"}
    proc = subprocess.Popen([sys.executable, "-m", "chainwatch", "schedule"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    try:
        first = proc.stdout.readline()
        assert first.startswith("scheduler started"), first + proc.stderr.read()
        assert "crawl" in first and "digest" in first
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "scheduler stopped" in out
