"""Liveness, readiness and metrics on the worker's own HTTP server.

livekit-agents already serves `/` (health) and `/worker` on `INTAKE_WORKER_HTTP_PORT`; we add
`/healthz`, `/readyz` and `/metrics` to that same server instead of opening a second port.

Ready means: registered with LiveKit (not reconnecting, not draining), and the call record is
safe: Redis reachable or the job recorders' in-memory backlog within bounds, and Postgres
reachable or the events waiting in Redis within bounds. A `StorageProbe` on the worker's loop
checks both stores every second and counts outage seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import logging
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from agent import metrics as m
from agent.metrics_dir import MULTIPROC_ENV
from state.redis_live import RedisLiveState, connect_redis

logger = logging.getLogger("intake.health")

PROBE_INTERVAL_S = 1.0
PROBE_TIMEOUT_S = 1.0
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db$")


@dataclass(frozen=True)
class ReadinessLimits:
    # below the recorder's own cap (50 000), so a worker stops taking calls well before a
    # call could lose an event
    max_recorder_backlog: int = 10_000
    max_writer_backlog_calls: int = 200

    @classmethod
    def from_env(cls) -> ReadinessLimits:
        def number(name: str, default: int) -> int:
            value = os.environ.get(name, "").strip()
            return int(value) if value.isdigit() else default

        return cls(number("INTAKE_READY_MAX_RECORDER_BACKLOG", cls.max_recorder_backlog),
                   number("INTAKE_READY_MAX_WRITER_BACKLOG", cls.max_writer_backlog_calls))


@dataclass
class StoreState:
    configured: bool
    up: bool = False
    checked: bool = False


class StorageProbe:
    """Pings Redis and Postgres every second; keeps one connection to each."""

    def __init__(self, redis_url: str | None, database_url: str | None) -> None:
        self.redis = StoreState(configured=bool(redis_url))
        self.postgres = StoreState(configured=bool(database_url))
        self.writer_backlog = 0
        self.outage_seconds = {"redis": 0.0, "postgres": 0.0}
        self._redis_url = redis_url
        self._database_url = database_url
        self._pg: Any = None

    async def run(self) -> None:
        client = connect_redis(self._redis_url, timeout=PROBE_TIMEOUT_S) \
            if self._redis_url else None
        live = RedisLiveState(client) if client is not None else None
        last = time.monotonic()
        try:
            while True:
                if client is not None and live is not None:
                    self.redis.up = await self._redis_up(client, live)
                    self.redis.checked = True
                if self._database_url:
                    self.postgres.up = await self._postgres_up()
                    self.postgres.checked = True
                now = time.monotonic()
                for name, state in (("redis", self.redis), ("postgres", self.postgres)):
                    if state.configured and not state.up:
                        self.outage_seconds[name] += now - last
                last = now
                await asyncio.sleep(PROBE_INTERVAL_S)
        finally:
            if client is not None:
                await client.aclose()
            if self._pg is not None:
                with contextlib.suppress(Exception):
                    await self._pg.close()

    async def _redis_up(self, client: Any, live: Any) -> bool:
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await client.ping()
                self.writer_backlog = len(await live.dirty_calls(10_000))
            return True
        except Exception:
            return False

    async def _postgres_up(self) -> bool:
        import asyncpg  # type: ignore[import-untyped]

        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                if self._pg is None or self._pg.is_closed():
                    self._pg = await asyncpg.connect(self._database_url)
                await self._pg.fetchval("SELECT 1")
            return True
        except Exception:
            if self._pg is not None:
                with contextlib.suppress(Exception):
                    self._pg.terminate()
            self._pg = None
            return False


def metrics_registry() -> CollectorRegistry:
    """Every process's samples when multiprocess mode is on, else this process's."""
    if not os.environ.get(MULTIPROC_ENV):
        return REGISTRY
    registry = CollectorRegistry(auto_describe=True)
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def _single(collector: WorkerStateCollector) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return registry


def forget_dead_processes() -> None:
    """Live gauges of job processes that exited (or were killed) stop counting."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        return
    for path in glob.glob(os.path.join(folder, "gauge_live*.db")):
        match = _LIVE_GAUGE_FILE.search(os.path.basename(path))
        if match is None:
            continue
        pid = int(match.group(1))
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, folder)  # type: ignore[no-untyped-call]
        except PermissionError:
            continue


def recorder_backlog() -> int:
    """The job recorders' in-memory backlog, summed over processes from the metric files."""
    total = 0.0
    for family in metrics_registry().collect():
        if family.name == "intake_recorder_backlog_operations":
            total += sum(sample.value for sample in family.samples)
    return int(total)


class WorkerStateCollector:
    """The worker's own gauges, from its state at scrape time (see agent.metrics)."""

    def __init__(self, *, active_calls: int, ready: bool, probe: StorageProbe | None) -> None:
        self._active, self._ready, self._probe = active_calls, ready, probe

    def collect(self) -> Iterator[Metric]:
        docs = m.WORKER_STATE_METRICS
        yield GaugeMetricFamily("intake_calls_active", docs["intake_calls_active"][1],
                                value=self._active)
        yield GaugeMetricFamily("intake_worker_ready", docs["intake_worker_ready"][1],
                                value=1 if self._ready else 0)
        probe = self._probe
        if probe is None:
            return
        up = GaugeMetricFamily("intake_storage_up", docs["intake_storage_up"][1],
                               labels=["store"])
        outage = CounterMetricFamily("intake_storage_outage_seconds",
                                     docs["intake_storage_outage_seconds"][1], labels=["store"])
        for name, state in (("redis", probe.redis), ("postgres", probe.postgres)):
            if state.configured:
                up.add_metric([name], 1 if state.up else 0)
                outage.add_metric([name], probe.outage_seconds[name])
        yield up
        yield outage
        yield GaugeMetricFamily("intake_record_writer_backlog_calls",
                                docs["intake_record_writer_backlog_calls"][1],
                                value=probe.writer_backlog)


def readiness(*, registered: bool, draining: bool, probe: StorageProbe | None,
              limits: ReadinessLimits, recorder_backlog_ops: int) -> tuple[bool, dict[str, Any]]:
    """The readiness rule, pure: (ready, what each check found)."""
    checks: dict[str, Any] = {"livekit": "registered" if registered else "not_registered",
                              "draining": draining}
    ready = registered and not draining
    if probe is not None:
        redis_ok = not probe.redis.configured or probe.redis.up
        pg_ok = not probe.postgres.configured or probe.postgres.up
        checks["redis"] = _store_word(probe.redis)
        checks["postgres"] = _store_word(probe.postgres)
        checks["recorder_backlog"] = recorder_backlog_ops
        checks["writer_backlog_calls"] = probe.writer_backlog
        # Redis down: calls keep their events in memory, within bounds
        record_ok = redis_ok or recorder_backlog_ops <= limits.max_recorder_backlog
        # Postgres down: events wait in Redis, within bounds
        durable_ok = pg_ok or (probe.redis.up and
                               probe.writer_backlog <= limits.max_writer_backlog_calls)
        ready = ready and record_ok and durable_ok
    return ready, checks


def _store_word(state: StoreState) -> str:
    if not state.configured:
        return "not_configured"
    if not state.checked:
        return "unknown"
    return "up" if state.up else "down"


class HealthRoutes:
    """The handlers, over whatever tells registration and draining (the worker)."""

    def __init__(self, worker: Any, probe: StorageProbe | None,
                 limits: ReadinessLimits | None = None) -> None:
        self._worker = worker
        self._probe = probe
        self._limits = limits or ReadinessLimits.from_env()

    def install(self, app: web.Application) -> None:
        app.add_routes([web.get("/healthz", self.live), web.get("/readyz", self.ready),
                        web.get("/metrics", self.metrics)])

    def registered(self) -> bool:
        worker = self._worker
        return (bool(getattr(worker, "intake_registered", False))
                and not getattr(worker, "_connecting", False)
                and not getattr(worker, "_connection_failed", False))

    async def check(self) -> tuple[bool, dict[str, Any]]:
        backlog = 0
        if self._probe is not None and self._probe.redis.configured and not self._probe.redis.up:
            backlog = await asyncio.get_running_loop().run_in_executor(None, recorder_backlog)
        return readiness(registered=self.registered(),
                         draining=bool(getattr(self._worker, "draining", False)),
                         probe=self._probe, limits=self._limits, recorder_backlog_ops=backlog)

    async def live(self, _request: web.Request) -> web.Response:
        if getattr(self._worker, "_connection_failed", False):
            return web.json_response({"live": False, "reason": "livekit_connection_failed"},
                                     status=503)
        return web.json_response({"live": True})

    async def ready(self, _request: web.Request) -> web.Response:
        ready, checks = await self.check()
        return web.json_response({"ready": ready, "checks": checks},
                                 status=200 if ready else 503, dumps=json.dumps)

    async def metrics(self, _request: web.Request) -> web.Response:
        ready, _ = await self.check()
        state = WorkerStateCollector(active_calls=len(getattr(self._worker, "active_jobs", ())),
                                     ready=ready, probe=self._probe)

        def render() -> bytes:
            forget_dead_processes()
            registry = CollectorRegistry(auto_describe=False)
            if os.environ.get(MULTIPROC_ENV):
                multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
                registry.register(state)
                return generate_latest(registry)
            # one process (tests): this process's metrics and the worker's state
            return generate_latest(REGISTRY) + generate_latest(_single(state))

        body = await asyncio.get_running_loop().run_in_executor(None, render)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
