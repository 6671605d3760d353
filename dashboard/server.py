"""Serving the console with uvicorn, as its own process or inside another asyncio program
(the demo). Uvicorn's access log is off: it prints query strings, and a search is a caller
number; the guard logs method, path and status instead."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import uvicorn

from dashboard.app import create_app
from dashboard.config import DashboardSettings

logger = logging.getLogger(__name__)


def _config(settings: DashboardSettings) -> uvicorn.Config:
    return uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                          access_log=False, proxy_headers=True, log_level="warning",
                          server_header=False)


def serve(settings: DashboardSettings) -> None:
    """Run until SIGINT/SIGTERM."""
    uvicorn.Server(_config(settings)).run()


class RunningDashboard:
    """The console serving on this loop; `stopped()` returns once it has shut down (Ctrl-C
    or SIGTERM reach uvicorn's own handlers while it serves)."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
        self.server = server
        self._task = task

    async def stopped(self) -> None:
        await asyncio.shield(self._task)


@contextlib.asynccontextmanager
async def running_dashboard(settings: DashboardSettings) -> AsyncIterator[RunningDashboard]:
    """The console served on this event loop for the block's duration."""
    server = uvicorn.Server(_config(settings))
    task = asyncio.create_task(server.serve(), name="dashboard-server")
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("the dashboard stopped during start-up")
            await asyncio.sleep(0.05)
        yield RunningDashboard(server, task)
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)
