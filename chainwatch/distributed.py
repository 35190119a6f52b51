"""Distributed crawls: several ``chainwatch crawl --distributed`` workers, on one or more machines,
share one Redis request queue and duplicate filter and store into one PostgreSQL database.

Built on scrapy-redis 0.9.1 (its priority queue, pickle serializer and RFPDupeFilter), with
what a batch crawl on several machines needs and scrapy-redis does not have:

* **One crawl at a time, in its own keys.** The first worker starts crawl N (``INCR``) and
  every worker that starts while crawl N is alive joins it; the keys are
  ``{base}:crawl:{N}:requests|dupefilter|workers|inflight:{worker}``. A crawl is alive while
  a worker has a fresh heartbeat, requests are queued, or a dead worker's in-flight requests
  are waiting to be re-queued. Once it is not, the next worker deletes its keys and starts
  crawl N+1 with an empty duplicate filter, so next week's crawl fetches next week's pages.
  The decision is one Lua script, so two workers starting together cannot both start a crawl.
* **Every worker seeds.** Each worker yields the feed, sitemap and listing requests of its
  sources; the shared duplicate filter lets the first of each through and drops the rest.
  No worker is special, so none can die holding the only copy of the seeds.
* **In-flight requests are not lost.** A pop moves the request from the queue into the
  worker's in-flight hash in the same script. The worker removes it once Scrapy has finished
  with it (downloaded, parsed, items through the pipelines, follow-up requests queued). A worker
  whose heartbeat is older than ``crawl.worker_timeout`` is dead: the next live worker moves its
  in-flight requests back into the queue. A worker that stops early (Ctrl-C, error) puts back its
  own.
* **A worker stops when the crawl is done, not when its view is.** Scrapy closes a spider when
  its own scheduler is empty and nothing is in flight locally. Here a worker that is idle
  stays open while requests are queued or another live worker has requests in flight (one of
  them may yet queue more), and closes once neither is true.

Redis is reached with blocking calls from the reactor thread (as scrapy-redis does); each is
one round trip on the local network. The Lua scripts build key names from the crawl number,
so a Redis Cluster is not supported (one Redis server, or a primary with replicas, is).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from scrapy import signals
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # how often an idle worker looks for requests other workers queued
SEEDING = b"seeding"  # in-flight marker while a worker's start() is still yielding its seeds

_NOW = "local t = redis.call('TIME') local now = tonumber(t[1]) + tonumber(t[2]) / 1000000 "

# KEYS: current, seq. ARGV: base, worker, timeout. Returns {crawl number, 1 if started}.
JOIN = _NOW + """
local cur = redis.call('GET', KEYS[1])
if cur then
  local ns = ARGV[1] .. ':crawl:' .. cur
  local alive = redis.call('ZCARD', ns .. ':requests') > 0
  local w = redis.call('HGETALL', ns .. ':workers')
  for i = 1, #w, 2 do
    if tonumber(w[i + 1]) >= now - tonumber(ARGV[3]) then alive = true end
    if redis.call('EXISTS', ns .. ':inflight:' .. w[i]) == 1 then alive = true end
  end
  if not alive then
    redis.call('DEL', ns .. ':requests', ns .. ':dupefilter', ns .. ':workers')
    cur = false
  end
end
local started = 0
if not cur then
  cur = tostring(redis.call('INCR', KEYS[2]))
  redis.call('SET', KEYS[1], cur)
  started = 1
end
local ns = ARGV[1] .. ':crawl:' .. cur
redis.call('HSET', ns .. ':workers', ARGV[2], tostring(now))
redis.call('HSET', ns .. ':inflight:' .. ARGV[2], 'seeding', '1')
return {cur, started}
"""

# KEYS: requests, inflight, workers. ARGV: worker. Pops the best request into the in-flight hash.
POP = _NOW + """
local r = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #r == 0 then return false end
redis.call('ZREM', KEYS[1], r[1])
redis.call('HSET', KEYS[2], r[1], r[2])
redis.call('HSET', KEYS[3], ARGV[1], tostring(now))
return r[1]
"""

# KEYS: workers. ARGV: worker.
BEAT = _NOW + "redis.call('HSET', KEYS[1], ARGV[1], tostring(now)) return 1"

# Puts a worker's in-flight requests (all but its seeding marker) back on the queue and drops the hash.
_REQUEUE = """
local function requeue(inflight, queue)
  local items = redis.call('HGETALL', inflight)
  local moved = 0
  for j = 1, #items, 2 do
    if items[j] ~= 'seeding' then
      redis.call('ZADD', queue, items[j + 1], items[j])
      moved = moved + 1
    end
  end
  redis.call('DEL', inflight)
  return moved
end
"""

# KEYS: workers, requests. ARGV: ns, timeout, me. Re-queues the in-flight requests of dead workers.
RECOVER = _NOW + _REQUEUE + """
local w = redis.call('HGETALL', KEYS[1])
local moved = 0
for i = 1, #w, 2 do
  if w[i] ~= ARGV[3] and tonumber(w[i + 1]) < now - tonumber(ARGV[2]) then
    moved = moved + requeue(ARGV[1] .. ':inflight:' .. w[i], KEYS[2])
    redis.call('HDEL', KEYS[1], w[i])
  end
end
return moved
"""

# KEYS: workers, requests, inflight. ARGV: me. A worker leaving early puts back what it holds.
RELEASE = _REQUEUE + """
local moved = requeue(KEYS[3], KEYS[2])
redis.call('HDEL', KEYS[1], ARGV[1])
return moved
"""

# KEYS: workers. ARGV: ns, timeout, me. Other live workers holding requests (or still seeding).
BUSY = _NOW + """
local w = redis.call('HGETALL', KEYS[1])
local busy = {}
for i = 1, #w, 2 do
  if w[i] ~= ARGV[3] and tonumber(w[i + 1]) >= now - tonumber(ARGV[2])
      and redis.call('HLEN', ARGV[1] .. ':inflight:' .. w[i]) > 0 then
    table.insert(busy, w[i])
  end
end
return busy
"""


def redis_base(prefix: str, database_url: str, source_keys: list[str] | None = None) -> str:
    """``{prefix}:{database}:{selection}``: workers crawling the same database and the same sources
    share a queue; another database, or ``--source`` picking other sources, gets other keys.
    The database is named by driver, host, port and database name (no user, no password): workers
    must spell the host the same way (or all set the same ``crawl.redis_prefix``)."""
    url = make_url(database_url)
    db = f"{url.get_backend_name()}://{(url.host or '').lower()}:{url.port or ''}/{url.database or ''}"
    digest = hashlib.sha1(db.encode()).hexdigest()[:12]
    selection = "all"
    if source_keys:
        selection = "src-" + hashlib.sha1(",".join(sorted(set(source_keys))).encode()).hexdigest()[:10]
    return f"{prefix}:{digest}:{selection}"


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def check_redis(url: str) -> None:
    """Raise ConnectionError with a readable message when Redis cannot be reached."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except redis.RedisError as exc:
        raise ConnectionError(f"Redis at {_masked(url)} is not reachable: {exc}") from None


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))
    return url


class TrackedPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue (sorted set, pickled ``Request.to_dict()``), whose pop also
    files the request under the worker's in-flight hash, atomically."""

    def __init__(self, server: Any, spider: Any, key: str, serializer: Any = None, *,
                 owner: DistributedScheduler) -> None:
        super().__init__(server, spider, key, serializer)
        self.owner = owner
        self._pop = server.register_script(POP)

    def pop(self, timeout: int = 0) -> Request | None:
        o = self.owner
        data = self._pop(keys=[self.key, o.inflight_key, o.workers_key], args=[o.worker])
        if not data:
            return None
        request = self._decode_request(data)
        o.track(request, data)
        return request


class DistributedScheduler(Scheduler):
    """scrapy-redis's Scheduler with per-crawl keys, in-flight tracking, dead-worker recovery and a
    crawl-wide idle test (see the module docstring)."""

    crawler: Any
    tracked: dict[int, tuple[Request, bytes]]

    @classmethod
    def from_crawler(cls, crawler: Any) -> DistributedScheduler:
        settings = crawler.settings
        instance = cls.from_settings(settings)
        instance.stats = crawler.stats
        instance.crawler = crawler
        instance.base = settings.get("CHAINWATCH_REDIS_BASE") or "chainwatch:default:all"
        instance.worker = settings.get("CHAINWATCH_WORKER_ID") or new_worker_id()
        instance.heartbeat = max(settings.getfloat("CHAINWATCH_WORKER_HEARTBEAT", 5.0), 0.1)
        instance.timeout = max(settings.getfloat("CHAINWATCH_WORKER_TIMEOUT", 60.0), instance.heartbeat * 3)
        # requests a worker may hold that wait for a free slot of their site (see next_request)
        instance.prefetch = settings.getint("CHAINWATCH_WORKER_PREFETCH") or max(
            2 * settings.getint("CONCURRENT_REQUESTS_PER_DOMAIN", 4), 4)
        instance.tracked = {}
        instance.loop = None
        instance.last_beat = 0.0
        instance.waiting_logged = False
        crawler.signals.connect(instance.spider_idle, signal=signals.spider_idle)
        return instance

    # ---------------------------------------------------------------- keys
    def _keys(self, crawl: str) -> None:
        self.crawl = crawl
        self.ns = f"{self.base}:crawl:{crawl}"
        self.requests_key = f"{self.ns}:requests"
        self.workers_key = f"{self.ns}:workers"
        self.inflight_key = f"{self.ns}:inflight:{self.worker}"

    # ---------------------------------------------------------------- life cycle
    def open(self, spider: Any) -> None:
        self.spider = spider
        s = self.server
        self._beat = s.register_script(BEAT)
        self._recover = s.register_script(RECOVER)
        self._release = s.register_script(RELEASE)
        self._busy = s.register_script(BUSY)
        crawl, started = s.register_script(JOIN)(
            keys=[f"{self.base}:current", f"{self.base}:seq"], args=[self.base, self.worker, self.timeout])
        self._keys(crawl.decode() if isinstance(crawl, bytes) else str(crawl))
        self.started = bool(started)
        self.queue = TrackedPriorityQueue(s, spider, self.requests_key, self.serializer, owner=self)
        self.df = RFPDupeFilter(s, key=f"{self.ns}:dupefilter", debug=spider.settings.getbool("DUPEFILTER_DEBUG"))
        if self.stats:
            self.stats.set_value("chainwatch/distributed/crawl", self.crawl)
            self.stats.set_value("chainwatch/distributed/worker", self.worker)
            self.stats.set_value("chainwatch/distributed/started", self.started)
            self.stats.set_value("chainwatch/distributed/keys", self.ns)
        queued = len(self.queue)
        log.info("distributed crawl %s (%s) as worker %s; %d requests queued", self.crawl,
                 "started" if self.started else "joined", self.worker, queued)
        from twisted.internet import task

        self.loop = task.LoopingCall(self._tick)
        self.loop.start(min(self.heartbeat, POLL_SECONDS), now=False)

    def close(self, reason: str) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        try:
            if reason == "finished":
                self.server.delete(self.inflight_key)
                self.server.hdel(self.workers_key, self.worker)
            else:
                self.sweep()
                moved = self._release(keys=[self.workers_key, self.requests_key, self.inflight_key],
                                      args=[self.worker])
                if moved:
                    log.warning("put %d unfinished requests back into the shared queue", moved)
        except Exception:  # Redis gone: the others re-queue our requests once our heartbeat is stale
            log.warning("could not leave the distributed crawl cleanly", exc_info=True)

    # ---------------------------------------------------------------- in-flight bookkeeping
    def track(self, request: Request, data: bytes) -> None:
        self.tracked[id(request)] = (request, data)

    def sweep(self, everything: bool = False) -> None:
        """Drop from the in-flight hash what Scrapy has finished with: the requests no longer in
        the engine's in-progress set (it removes one only after its callback's output, items
        included, has been processed), and the seeding marker once start() is exhausted."""
        done: list[bytes] = []
        inprogress = None
        if not everything:
            slot = getattr(getattr(self.crawler, "engine", None), "_slot", None)
            inprogress = getattr(slot, "inprogress", None)
            if inprogress is None:
                return  # cannot tell what is finished; the idle handler clears everything
        for key, (request, data) in list(self.tracked.items()):
            if everything or request not in inprogress:
                done.append(data)
                del self.tracked[key]
        if everything or getattr(self.spider, "seeded", False):
            done.append(SEEDING)
        if everything:
            self.server.delete(self.inflight_key)
        elif done:
            self.server.hdel(self.inflight_key, *done)

    def next_request(self) -> Request | None:
        """The next request from the shared queue, unless this worker already holds ``prefetch``
        requests waiting for a free slot of their site: Scrapy's downloader would take up to
        CONCURRENT_REQUESTS (32) and queue them per site, leaving the other workers idle."""
        if self._waiting() >= self.prefetch:
            return None
        return super().next_request()

    def _waiting(self) -> int:
        downloader = getattr(getattr(self.crawler, "engine", None), "downloader", None)
        if downloader is None:
            return 0
        transferring = sum(len(slot.transferring) for slot in getattr(downloader, "slots", {}).values())
        return max(0, len(getattr(downloader, "active", ())) - transferring)

    def _tick(self) -> None:
        try:
            now = time.monotonic()
            if now - self.last_beat >= self.heartbeat:
                self.last_beat = now
                self._beat(keys=[self.workers_key], args=[self.worker])
                self.sweep()
                self._recover_dead()
            # Scrapy asks the scheduler only when something happens locally, or every 5 s: ask now
            # if other workers have queued requests.
            slot = getattr(getattr(self.crawler, "engine", None), "_slot", None)
            if slot is not None and self._waiting() < self.prefetch and len(self.queue):
                slot.nextcall.schedule()
        except Exception:
            log.warning("distributed crawl heartbeat failed", exc_info=True)

    def _recover_dead(self) -> int:
        moved = int(self._recover(keys=[self.workers_key, self.requests_key],
                                  args=[self.ns, self.timeout, self.worker]) or 0)
        if moved:
            log.warning("re-queued %d requests of a worker silent for over %.0f s", moved, self.timeout)
            if self.stats:
                self.stats.inc_value("chainwatch/distributed/recovered", moved)
        return moved

    # ---------------------------------------------------------------- when to stop
    def spider_idle(self, spider: Any) -> None:
        """This worker has nothing in flight and the queue is empty. Close only if no other live
        worker holds requests either (it may queue more); dead workers' requests are re-queued."""
        self.sweep(everything=True)
        self._beat(keys=[self.workers_key], args=[self.worker])
        recovered = self._recover_dead()
        queued = len(self.queue)
        busy = [] if recovered or queued else self._busy(keys=[self.workers_key],
                                                         args=[self.ns, self.timeout, self.worker])
        if recovered or queued or busy:
            if not self.waiting_logged:
                log.info("idle, waiting for the distributed crawl: %d queued, busy workers: %s", queued,
                         ", ".join(b.decode() if isinstance(b, bytes) else str(b) for b in busy) or "-")
                self.waiting_logged = True
            raise DontCloseSpider
        log.info("distributed crawl %s: nothing queued and no worker busy; closing", self.crawl)
