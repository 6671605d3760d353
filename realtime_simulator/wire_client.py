"""A bare Realtime protocol client for tests: raw JSON in, raw JSON out, nothing hidden."""

from __future__ import annotations

import asyncio
import base64
import json
from types import TracebackType
from typing import Any

import aiohttp


class RealtimeWireClient:
    """Connects with aiohttp, sends client events as dicts and reads server events as dicts.

    Every received event is kept in ``received``, in order.
    """

    def __init__(self, ws_url: str, api_key: str, *, model: str = "gpt-realtime") -> None:
        self._url = f"{ws_url}?model={model}"
        self._api_key = api_key
        self._http: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.received: list[dict[str, Any]] = []

    async def connect(self) -> RealtimeWireClient:
        self._http = aiohttp.ClientSession()
        try:
            self._ws = await self._http.ws_connect(
                self._url, headers={"Authorization": f"Bearer {self._api_key}"}
            )
        except BaseException:
            await self._http.close()
            raise
        return self

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._http is not None:
            await self._http.close()

    async def __aenter__(self) -> RealtimeWireClient:
        return await self.connect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    @property
    def ws(self) -> aiohttp.ClientWebSocketResponse:
        if self._ws is None:
            raise RuntimeError("not connected")
        return self._ws

    async def send(self, event: dict[str, Any]) -> None:
        await self.ws.send_str(json.dumps(event))

    async def send_raw(self, text: str) -> None:
        await self.ws.send_str(text)

    async def append_audio(self, pcm: bytes, *, chunk_bytes: int = 4800) -> None:
        """Send PCM16 24 kHz audio as input_audio_buffer.append events (100 ms chunks)."""
        for i in range(0, len(pcm), chunk_bytes):
            chunk = pcm[i : i + chunk_bytes]
            await self.send(
                {
                    "type": "input_audio_buffer.append",
                    "audio": base64.b64encode(chunk).decode("ascii"),
                }
            )

    async def recv(self, timeout: float = 5.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"expected a text frame, got {msg.type!r}")
        event: dict[str, Any] = json.loads(msg.data)
        self.received.append(event)
        return event

    async def recv_until(self, type_: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Read events up to and including the first of ``type_``; returns all read."""
        got: list[dict[str, Any]] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"no {type_} within {timeout}s")
            event = await self.recv(timeout=remaining)
            got.append(event)
            if event.get("type") == type_:
                return got
