"""The crawl's CPU worker processes: extraction, tagging, signatures and search segmentation.

multiprocessing's fork server runs :func:`preload` once (by importing ``crawler.cpu_preload``)
before it forks the workers, so the extraction libraries, the tagger's data and jieba's dictionary
are loaded once and shared copy-on-write by every worker instead of loaded again by each (about
100 MB a worker).
"""

from __future__ import annotations

import gc
import os
import select
import signal
import threading
import time


def preload() -> None:
    from crawler.pipelines import warm_up

    warm_up()
    gc.freeze()  # the collector would otherwise touch, and so copy, every shared object


def init_worker(crawl_pid: int) -> None:
    """Run in each worker as it starts (ProcessPoolExecutor's initializer)."""
    # Ctrl-C reaches the whole process group; the crawl process shuts the pool down itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(crawl_pid,), name="cw-parent-watch", daemon=True).start()


def _exit_with(pid: int) -> None:
    """Exit when the crawl process is gone. A pool's workers otherwise outlive a crawl that was
    killed: each holds both ends of its task pipe, so it never sees end-of-file."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(0)
    except OSError:  # no pidfd (old kernel): poll
        while True:
            time.sleep(2.0)
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(0)
    select.select([fd], [], [])
    os._exit(0)
