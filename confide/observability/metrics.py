"""Prometheus metrics. Request latency is counted in each process (gunicorn's workers share it
through PROMETHEUS_MULTIPROC_DIR); queue depth, message states, unfinished tasks and worker
heartbeats are read from the database when /metrics is scraped, so every app server reports the
same figures whichever one the scraper reaches."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

REQUEST_LATENCY = Histogram(
    "confide_http_request_duration_seconds",
    "Time to answer a request, by route name (never the path), method and status.",
    ["route", "method", "status"],
    # Around the targets of issue 8: claim-next under 50 ms, tracer pages under 100 ms.
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

# Heartbeats older than this are departed workers (a restart gets a new pid), not stalled ones.
HEARTBEAT_WINDOW = timedelta(minutes=10)


def observe_request(*, route: str, method: str, status: int, seconds: float) -> None:
    REQUEST_LATENCY.labels(route=route, method=method, status=str(status)).observe(seconds)


class DatabaseCollector(Collector):
    """Gauges read at scrape time: a few grouped counts on indexed columns."""

    def collect(self) -> Iterator[Metric]:
        from django_tasks.base import TaskResultStatus
        from django_tasks_db.models import DBTaskResult

        from confide.api.models import WorkerHeartbeat
        from confide.messaging.models import Message
        from confide.workqueue.models import WorkItem, WorkState

        depth = GaugeMetricFamily(
            "confide_queue_depth", "Work items waiting to be claimed, by tier.", labels=["tier"]
        )
        waiting = (
            WorkItem.objects.filter(state=WorkState.WAITING)
            .values_list("tier")
            .annotate(n=Count("id"))
            .order_by()
        )
        for tier, n in waiting:
            depth.add_metric([str(tier)], n)
        yield depth

        messages = GaugeMetricFamily(
            "confide_messages", "Messages by channel and state.", labels=["channel", "state"]
        )
        for channel, state, n in (
            Message.objects.values_list("channel", "state").annotate(n=Count("id")).order_by()
        ):
            messages.add_metric([channel, state], n)
        yield messages

        tasks = GaugeMetricFamily(
            "confide_tasks_unfinished",
            "Background tasks ready or running, by queue and status.",
            labels=["queue", "status"],
        )
        unfinished = (
            DBTaskResult.objects.filter(
                status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING]
            )
            .values_list("queue_name", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for queue, status, n in unfinished:
            tasks.add_metric([queue, status], n)
        yield tasks

        now = timezone.now()
        ages = GaugeMetricFamily(
            "confide_worker_heartbeat_age_seconds",
            "Seconds since each worker process last ran its ticker (seen in the last 10 minutes).",
            labels=["worker"],
        )
        newest = GaugeMetricFamily(
            "confide_worker_heartbeat_newest_age_seconds",
            "Seconds since any worker last ran its ticker (+Inf if none in 10 minutes).",
        )
        youngest = float("inf")
        for worker, seen_at in WorkerHeartbeat.objects.filter(
            seen_at__gte=now - HEARTBEAT_WINDOW
        ).values_list("worker", "seen_at"):
            age = max(0.0, (now - seen_at).total_seconds())
            ages.add_metric([worker], age)
            youngest = min(youngest, age)
        newest.add_metric([], youngest)
        yield ages
        yield newest


class _ThisProcess(Collector):
    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def registry_for_scrape() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(DatabaseCollector())
    return registry
