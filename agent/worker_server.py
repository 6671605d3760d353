"""The AgentServer our worker runs: LiveKit's, plus health, readiness and metrics routes on its
HTTP server, the storage probe on its loop, and a drain grace period from the environment.

`intake start` drains on SIGTERM (livekit-agents' CLI): the worker tells LiveKit it is full, so
no new job comes, and waits for the live calls to end, up to `INTAKE_DRAIN_TIMEOUT_SECONDS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable
from typing import Any

from livekit.agents import AgentServer
from livekit.agents.utils.http_server import HttpServer

from agent.health import HealthRoutes, StorageProbe

DEFAULT_DRAIN_TIMEOUT_S = 600


def drain_timeout_seconds() -> int:
    value = os.environ.get("INTAKE_DRAIN_TIMEOUT_SECONDS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_DRAIN_TIMEOUT_S


class IntakeAgentServer(AgentServer):
    def __init__(self, *args: Any, before_run: Callable[[], Awaitable[None]] | None = None,
                 **kwargs: Any) -> None:
        self.__dict__["_intake_http"] = None
        # in the worker's main process, before any job process starts or the worker registers
        self._before_run = before_run
        self.intake_registered = False
        self.storage_probe: StorageProbe | None = None
        self._probe_task: asyncio.Task[None] | None = None
        super().__init__(*args, **kwargs)
        self.on("worker_registered", self._on_registered)
        self.on("worker_started", self._on_started)

    def use_storage(self, redis_url: str | None, database_url: str | None) -> None:
        """Before run(): which stores readiness depends on."""
        if redis_url or database_url:
            self.storage_probe = StorageProbe(redis_url, database_url)

    # AgentServer.run() creates its HTTP server and starts it in one go; the routes must be on
    # the app before it starts, so they are added the moment the server object is assigned
    @property
    def _http_server(self) -> HttpServer | None:
        server: HttpServer | None = self.__dict__["_intake_http"]
        return server

    @_http_server.setter
    def _http_server(self, server: HttpServer | None) -> None:
        if server is not None:
            HealthRoutes(self, self.storage_probe).install(server.app)
        self.__dict__["_intake_http"] = server

    async def run(self, *, devmode: bool = False, unregistered: bool = False) -> None:
        if self._before_run is not None:
            await self._before_run()
        await super().run(devmode=devmode, unregistered=unregistered)

    def _on_registered(self, *_args: Any) -> None:
        self.intake_registered = True

    def _on_started(self) -> None:
        if self.storage_probe is not None and self._probe_task is None:
            self._probe_task = asyncio.get_running_loop().create_task(
                self.storage_probe.run(), name="intake-storage-probe")

    @property
    def http_port(self) -> int | None:
        server = self._http_server
        return server.port if server is not None else None

    async def aclose(self) -> None:
        task, self._probe_task = self._probe_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await super().aclose()
