"""gunicorn settings for atlas: `gunicorn -c gunicorn.conf.py wsgi:app` (see docs/operations.md).

Command-line flags override these (e.g. `--bind 127.0.0.1:8001 --workers 4`); WEB_CONCURRENCY sets the workers.
"""

from __future__ import annotations

import gc
import multiprocessing
import os

from gunicorn.glogging import Logger

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Sync workers: atlas's requests are short and CPU-bound (rendering, search); 2 per core plus one.
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# The slowest legitimate request: an upload import of IMPORT_MAX_ROWS (20,000) rows, about 40 s of CPU
# (10,000 rows: 16 s, docs/performance.md), longer on a busy machine.
timeout = 120
# Seconds a worker may finish its requests after a HUP/TERM before it is killed (graceful restarts).
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow for months; jitter keeps them from restarting
# together.
max_requests = 2000
max_requests_jitter = 200
# Never preload: a HUP (systemctl reload) then starts workers on the new code while old ones finish.
preload_app = False
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s %(t)s "%(r)s" %(s)s %(b)s %(M)sms'
# Paths whose visitors are staff: their client address is logged (audit); public visitors stay anonymous.
STAFF_PATHS = ("/verwaltung", "/intern", "/login", "/logout", "/api/")


class AtlasLogger(Logger):
    """Access log without the client address of public pages (participants are not tracked)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if not str(environ.get("PATH_INFO", "")).startswith(STAFF_PATHS):
            atoms["h"] = "-"
        return atoms


logger_class = AtlasLogger


# A worker's requests after which its objects leave the cyclic garbage collector for good (`gc.freeze`): the
# imported libraries and, later, the warm caches (about 210,000 objects at 10,000 offers). Without this, every
# few dozen requests one request paid for a full collection of them: /suche max 123-126 ms against p50 16-17 ms;
# frozen after a warm-up, max 23 ms (docs/performance.md). Collected first, so no garbage is frozen; what a
# frozen object later leaves in a cycle waits for the worker's recycling (max_requests).
FREEZE_AFTER = (1, 100, 1000)


def post_request(worker, req, environ, resp):
    """After the response is sent: at the counts above, collect once and freeze what survives."""
    worker.atlas_requests = getattr(worker, "atlas_requests", 0) + 1
    if worker.atlas_requests in FREEZE_AFTER:
        gc.collect()
        gc.freeze()
