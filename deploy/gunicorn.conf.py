"""gunicorn's settings for Beebeta.

    newrelic-admin run-program gunicorn -c deploy/gunicorn.conf.py beebeta.wsgi

Production starts it that way from deploy/systemd/beebeta.service; the local stack
(deploy/stack/) starts two of them the same way. Two variables adjust it per machine:

    GUNICORN_BIND      address to listen on (default 127.0.0.1:8000, where nginx expects it)
    GUNICORN_WORKERS   worker processes (default the CPUs this process may use + 1)
    GUNICORN_ACCESS_LOG, GUNICORN_ERROR_LOG  files for the access log and gunicorn's own
                       messages (default stdout and stderr)

A HUP reloads gracefully: gunicorn re-reads this file, starts new workers, which import the
application afresh, and lets the old ones finish their requests before they exit, so nothing in
flight is dropped (`systemctl reload beebeta`).
"""

from __future__ import annotations

import gc
import os


def _positive_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "")
    if not raw:
        return default
    # Strict, like beebeta/env.py: a typo must stop the server, not silently pick a default.
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={raw!r} is not a positive integer")
    return int(raw)


bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]
proc_name = "beebeta"

# Sync workers: Beebeta's requests are short and wait on MySQL and memcached, not on clients.
# nginx buffers request bodies and responses, so a slow phone never holds a worker.
worker_class = "sync"
# One worker per CPU and one more to run while another waits on MySQL's commit. Measured with
# `make bench` on 2 CPUs (BENCH_GUNICORN_WORKERS): 2 or 3 workers took 10 to 25% more votes
# than the usual 2 x CPUs + 1 (5), and 8 fewer still; a vote is now one round trip to MySQL,
# so a worker waits little, and more workers only take turns on the same CPUs.
workers = _positive_int("GUNICORN_WORKERS", len(os.sched_getaffinity(0)) + 1)
# A request that takes longer is stuck: its worker is killed and replaced (nginx waits 40 s).
timeout = 30
# On HUP, TERM or a worker recycle, requests in flight get this long to finish.
graceful_timeout = 30
keepalive = 2
# Recycle workers now and then (staggered), so a slow leak never becomes an outage. Not too
# often: booting a worker (importing Django and Beebeta) costs about a second of CPU, which at
# 2,000 requests came to a fifth of a millisecond per request, as much as a tenth of a page.
max_requests = 20000
max_requests_jitter = 2000
# Not preloaded: each new worker imports the code, which is what lets HUP pick up a new release.
preload_app = False


def post_worker_init(worker) -> None:
    """Move what the worker has loaded (Django, the settings, the models) out of the garbage
    collector's sight: those objects live as long as the worker, so scanning them again at
    every full collection is wasted time. Per worker, after it imported the application, so a
    HUP's new workers freeze the new code (preload_app stays off)."""
    gc.freeze()


# gunicorn 27 opens a control socket in the home folder by default; several servers per machine
# (the local stack) and locked-down service users must not fight over it.
control_socket_disable = True

# Only nginx on this machine talks to gunicorn; Django decides whom to believe (TRUSTED_PROXIES).
forwarded_allow_ips = "127.0.0.1,::1"

# The access log (stdout unless GUNICORN_ACCESS_LOG names a file; beebeta.service gives each log
# a file of its own under /var/log/beebeta, for the CloudWatch agent): the client as nginx
# resolved it, the request time in milliseconds and nginx's request id, which Beebeta's own
# JSON request log carries too. gunicorn's own messages: stderr unless GUNICORN_ERROR_LOG.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or "-"
errorlog = os.environ.get("GUNICORN_ERROR_LOG") or "-"
access_log_format = (
    '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(M)sms '
    'request_id=%({x-request-id}i)s "%(f)s" "%(a)s"'
)
