"""Server events the Realtime plugin cannot survive are dropped at the socket.

livekit-plugins-openai parses each frame with `json.loads(...)["type"]` outside its per-event
error handling, so one frame that is not JSON, or not an object with a string `type`, ends its
receive loop: the session fails and the call with it. Events that are well-formed JSON with an
unknown type or missing fields reach the plugin, whose handlers log and skip what they cannot
use. A dropped frame is logged with its size and what was wrong, never its content.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

logger = logging.getLogger("intake.realtime_wire")


def malformed_reason(text: str) -> str | None:
    """Why the plugin could not take this frame, or None when it can."""
    try:
        event = json.loads(text)
    except ValueError:
        return "not_json"
    if not isinstance(event, dict):
        return "not_an_object"
    if not isinstance(event.get("type"), str):
        return "no_type"
    return None


class CheckedServerEvents:
    """The Realtime socket as the plugin uses it (receive, send_str, close), with malformed
    server frames left out of what `receive` returns."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self.dropped = 0

    async def receive(self, timeout: float | None = None) -> aiohttp.WSMessage:
        while True:
            msg = await self._ws.receive(timeout)
            if msg.type != aiohttp.WSMsgType.TEXT:
                return msg
            reason = malformed_reason(str(msg.data))
            if reason is None:
                return msg
            self.dropped += 1
            logger.warning("malformed realtime server event dropped",
                           extra={"reason": reason, "bytes": len(str(msg.data))})

    async def send_str(self, data: str, compress: int | None = None) -> None:
        await self._ws.send_str(data, compress)

    async def close(self, **kwargs: Any) -> bool:
        return await self._ws.close(**kwargs)

    @property
    def closed(self) -> bool:
        return self._ws.closed


def check_server_events(session: Any) -> None:
    """Wrap every socket this plugin session opens (including its reconnections)."""
    open_socket = session._create_ws_conn

    async def open_checked() -> CheckedServerEvents:
        return CheckedServerEvents(await open_socket())

    session._create_ws_conn = open_checked
