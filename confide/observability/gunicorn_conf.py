"""gunicorn settings for `confide serve`, which loads them with
`--config python:confide.observability.gunicorn_conf`.

Each value can be changed by the environment variable named beside it; `confide serve`'s own
options (--bind, --workers, --threads) override these."""

from __future__ import annotations

import os
from typing import Any


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the cores this container may use, not the host's
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value else default


bind = os.environ.get("CONFIDE_BIND", "127.0.0.1:8000")
# Requests are mostly CPU in Python (templates, AES-GCM, HMAC) between database waits: one
# process per core, plus one so a core is never idle while another waits, and a few threads
# each to overlap the waits. Every thread may hold a database connection: workers x threads
# per app server counts against PostgreSQL's max_connections (docs/deploy.md).
workers = _int("CONFIDE_WEB_WORKERS", _cores() + 1)
worker_class = "gthread"
threads = _int("CONFIDE_WEB_THREADS", 4)
# A worker silent this long is killed and replaced (a stuck request, not a slow one: pages
# answer in milliseconds, exports stream).
timeout = _int("CONFIDE_WEB_TIMEOUT", 30)
graceful_timeout = _int("CONFIDE_WEB_GRACEFUL_TIMEOUT", 20)
# Below the proxy's idle timeout, so the proxy, not gunicorn, closes idle connections.
keepalive = _int("CONFIDE_WEB_KEEPALIVE", 5)
# Recycle workers now and then (bounded memory growth), at different moments (jitter) so they
# never all restart together.
max_requests = _int("CONFIDE_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = _int("CONFIDE_WEB_MAX_REQUESTS_JITTER", 200)
# Only the TLS proxy may say a request was https (SECURE_PROXY_SSL_HEADER) or who sent it.
forwarded_allow_ips = os.environ.get("CONFIDE_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
# The heartbeat file on tmpfs: a slow disk must not make gunicorn think a worker is stuck.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108
# gunicorn's access log would print the raw path and query string, which can hold tokens:
# Django's ObservabilityMiddleware writes the access line instead, with the route name.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("CONFIDE_WEB_LOG_LEVEL", "info")
logconfig_dict: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "confide.observability.logs.JsonFormatter"}},
    "handlers": {
        "error_console": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["error_console"], "propagate": False},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
    "root": {"level": "INFO", "handlers": []},
}


def child_exit(server: Any, worker: Any) -> None:
    """A finished worker's live gauges must not be summed in forever."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
