"""`chainwatch schedule`: crawl every N hours and send digests, unattended.

APScheduler 3 with its jobs in the same database (SQLAlchemyJobStore), under
fixed ids: a restart finds its jobs (and when they are next due) instead of
forgetting them or adding them twice. Jobs store only a reference to a
module-level function, never the configuration (that would put the SMTP
password in the job table); the running process hands them its context
through :data:`_runtime`.

Jobs:
- crawl: ``python -m chainwatch crawl`` in a child process (Scrapy's reactor
  cannot be restarted inside one process). Skipped while another crawl holds the
  ``crawl`` lease; a ``scheduler-crawl`` lease keeps two schedulers sharing a
  database from launching it twice.
- digest: on digest_day at digest_time (config.timezone), send what is due.
- digest-catch-up: every 15 minutes, and at once after a restart however late,
  send what is due and retry failures whose backoff has passed. It is what
  delivers a week missed while the machine was off, daily digests, and retries;
  `send` is idempotent, so running it often costs a few queries.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from chainwatch import locks
from chainwatch.context import AppContext
from digests.periods import get_zone, parse_hhmm, weekday_index

log = logging.getLogger(__name__)

JOB_TABLE = "apscheduler_jobs"
CRAWL_JOB, DIGEST_JOB, CATCH_UP_JOB = "crawl", "digest", "digest-catch-up"
CATCH_UP_MINUTES = 15
CHILD_GRACE_SECONDS = 60  # a crawl gets this long to close cleanly after SIGTERM before SIGKILL


@dataclass
class Runtime:
    app: AppContext
    crawl_command: list[str]
    stopping: threading.Event = field(default_factory=threading.Event)
    children: set[subprocess.Popen] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


_runtime: Runtime | None = None


def _rt() -> Runtime:
    if _runtime is None:
        raise RuntimeError("scheduler jobs run only inside `chainwatch schedule`")
    return _runtime


def default_crawl_command() -> list[str]:
    return [sys.executable, "-m", "chainwatch", "crawl"]


# ---------------------------------------------------------------- jobs (referenced by name in the job store)


def crawl_job() -> int | None:
    """Run one crawl in a child process; returns its exit code (None when skipped)."""
    rt = _rt()
    if rt.stopping.is_set():
        return None
    busy = locks.holder(rt.app.db, "crawl")
    if busy is not None:
        log.info("crawl skipped: %s has held the crawl lock since %s", busy.owner, busy.acquired_at)
        return None
    ttl = max(rt.app.config.schedule.crawl_every_hours * 3600, 600)
    with locks.try_lease(rt.app.db, "scheduler-crawl", ttl_seconds=ttl, heartbeat=True) as held:
        if held is None:
            log.info("crawl skipped: another scheduler is launching one")
            return None
        code = run_child(rt, rt.crawl_command)
        log.log(logging.INFO if code == 0 else logging.WARNING, "crawl finished with exit code %s", code)
        return code


def digest_job() -> None:
    rt = _rt()
    if rt.stopping.is_set():
        return
    from digests import service

    cfg = rt.app.config.schedule
    with locks.try_lease(rt.app.db, "scheduler-digest", ttl_seconds=1800, heartbeat=True) as held:
        if held is None:  # harmless (claims prevent doubles), but no need for two runs to race
            log.info("digest run skipped: another one is in progress")
            return
        report = service.send(rt.app, send_at=(cfg.digest_day, cfg.digest_time))
    if report.outcomes or report.aborted:
        log.info("digests via %s: %d sent, %d failed%s", report.transport, len(report.sent), len(report.failed),
                 f"; stopped: {report.aborted}" if report.aborted else "")


def run_child(rt: Runtime, command: Sequence[str]) -> int:
    """Run ``command``; on shutdown it gets SIGTERM (Scrapy closes cleanly), then SIGKILL after a grace."""
    proc = subprocess.Popen(list(command))
    with rt.lock:
        rt.children.add(proc)
    try:
        if rt.stopping.is_set():  # shutdown began while we were starting it
            _terminate(proc)
        return proc.wait()
    finally:
        with rt.lock:
            rt.children.discard(proc)


def _terminate(proc: subprocess.Popen, grace: float = CHILD_GRACE_SECONDS) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        log.warning("child %s ignored SIGTERM for %ss; killing it", proc.pid, grace)
        proc.kill()
        proc.wait()


# ---------------------------------------------------------------- the scheduler


class Scheduler(BackgroundScheduler):
    def _process_jobs(self):
        # APScheduler 3 makes one more pass after shutdown(); with the executors already closed it
        # cannot run the due jobs but still advances their next run time, silently skipping a crawl
        # or a digest that was due at that moment. Leave them due for the next start instead.
        if self.state == STATE_STOPPED:
            return None
        return super()._process_jobs()


def build_scheduler(app: AppContext, crawl_command: Sequence[str] | None = None) -> Scheduler:
    """A started-but-paused scheduler with its jobs ensured; call ``.resume()`` to let it run."""
    global _runtime
    _runtime = Runtime(app=app, crawl_command=list(crawl_command or default_crawl_command()))
    zone = get_zone(app.config.timezone)
    scheduler = Scheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=app.db.engine, tablename=JOB_TABLE)},
        executors={"default": ThreadPoolExecutor(4)},
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=zone,
    )
    # Paused start: the job store is opened (its table created) but nothing fires before
    # the jobs are reconciled with the configuration.
    scheduler.start(paused=True)
    ensure_jobs(scheduler, app)
    return scheduler


def desired_jobs(app: AppContext) -> list[dict]:
    cfg = app.config.schedule
    zone = get_zone(app.config.timezone)
    hour, minute = parse_hhmm(cfg.digest_time)
    day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[weekday_index(cfg.digest_day)]
    every = timedelta(hours=cfg.crawl_every_hours)
    return [
        {"id": CRAWL_JOB, "func": "chainwatch.scheduler:crawl_job", "name": "crawl all sources",
         "trigger": IntervalTrigger(seconds=int(every.total_seconds()), timezone=zone),
         "misfire_grace_time": max(int(every.total_seconds() // 2), 60), "run_first_now": True},
        {"id": DIGEST_JOB, "func": "chainwatch.scheduler:digest_job", "name": "send digests",
         "trigger": CronTrigger(day_of_week=day, hour=hour, minute=minute, timezone=zone),
         "misfire_grace_time": 6 * 3600, "run_first_now": False},
        {"id": CATCH_UP_JOB, "func": "chainwatch.scheduler:digest_job", "name": "send due and retry failed digests",
         "trigger": IntervalTrigger(minutes=CATCH_UP_MINUTES, timezone=zone),
         "misfire_grace_time": None, "run_first_now": True},  # None: however late, run once (coalesced)
    ]


def ensure_jobs(scheduler: BackgroundScheduler, app: AppContext) -> None:
    """Add missing jobs; replace a job only when its definition changed, so a restart keeps next run times."""
    for spec in desired_jobs(app):
        existing = scheduler.get_job(spec["id"])
        unchanged = (existing is not None and existing.func_ref == spec["func"]
                     and str(existing.trigger) == str(spec["trigger"])
                     and existing.misfire_grace_time == spec["misfire_grace_time"])
        if unchanged:
            continue
        kwargs = {}
        if existing is None and spec["run_first_now"]:
            kwargs["next_run_time"] = datetime.now(get_zone(app.config.timezone))
        scheduler.add_job(spec["func"], spec["trigger"], id=spec["id"], name=spec["name"], replace_existing=True,
                          misfire_grace_time=spec["misfire_grace_time"], coalesce=True, max_instances=1, **kwargs)
        log.info("%s job %r", "updated" if existing else "added", spec["id"])


def stop(scheduler: BackgroundScheduler) -> None:
    """Stop firing, end running crawls gracefully, wait for running jobs (a digest finishes its message)."""
    rt = _runtime
    if rt is not None:
        rt.stopping.set()
        with rt.lock:
            children = list(rt.children)
        for proc in children:
            _terminate(proc)
    if scheduler.running:
        scheduler.shutdown(wait=True)


def run(app: AppContext, crawl_command: Sequence[str] | None = None,
        echo: Callable[[str], None] = print) -> None:
    """Run until SIGTERM or SIGINT (Ctrl-C); ``echo`` receives the start and stop lines."""
    stop_event = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("received %s; shutting down", signal.Signals(signum).name)
        stop_event.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    scheduler = build_scheduler(app, crawl_command)
    try:
        scheduler.resume()
        for job in scheduler.get_jobs():
            log.info("job %s next run %s", job.id, job.next_run_time)
        echo("scheduler started; jobs: " + ", ".join(f"{j.id} (next {j.next_run_time:%Y-%m-%d %H:%M %Z})"
                                                    for j in scheduler.get_jobs()))
        while not stop_event.wait(1.0):
            pass
    finally:
        stop(scheduler)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        echo("scheduler stopped")
