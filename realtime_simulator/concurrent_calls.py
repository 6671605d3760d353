"""A simulator that plays the model for many calls at once: each WebSocket connection walks
its own copy of the script (benchmarks, several-worker tests).

`RealtimeSimulator` shares one script position across connections so a reconnecting client
carries on where it was; here a reconnect starts the script over, so use it only where no
connection is expected to drop mid-call.
"""

from __future__ import annotations

import contextvars

from aiohttp import web

from .script import ScriptCursor
from .server import RealtimeSimulator

# aiohttp serves each connection in its own task, and tasks copy the context they start in,
# so everything one connection does sees its own cursor
_CONNECTION_CURSOR: contextvars.ContextVar[ScriptCursor | None] = contextvars.ContextVar(
    "simulator_connection_cursor", default=None)


class ConcurrentRealtimeSimulator(RealtimeSimulator):
    @property
    def _cursor(self) -> ScriptCursor:
        cursor = _CONNECTION_CURSOR.get()
        return cursor if cursor is not None else self._shared_cursor

    @_cursor.setter
    def _cursor(self, cursor: ScriptCursor) -> None:
        self._shared_cursor = cursor

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        _CONNECTION_CURSOR.set(ScriptCursor(self.scenario))
        return await super()._handle(request)
