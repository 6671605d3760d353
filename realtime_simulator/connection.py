"""One client WebSocket: reads client events and dispatches each to the part that owns it
(session config, input audio, conversation items, responses)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from aiohttp import WSMsgType, web

from .client_errors import ClientError
from .connection_host import ConnectionHost
from .conversation import ConversationEvents, ConversationItems
from .input_audio import CallerAudioMarks, InputAudioBuffer
from .responses import ResponseRunner
from .session_config import SessionConfig
from .wire import error_event, server_event


class RealtimeConnection:
    """Speaks the Realtime protocol on one accepted WebSocket until it closes."""

    def __init__(self, host: ConnectionHost, ws: web.WebSocketResponse, model: str) -> None:
        self._host = host
        self._ws = ws
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._session = SessionConfig(model)
        items = ConversationItems()
        marks = CallerAudioMarks()
        self._responses = ResponseRunner(
            host, self._send, session=self._session, items=items, marks=marks
        )
        self._audio = InputAudioBuffer(
            host,
            self._send,
            session=self._session,
            items=items,
            responder=self._responses,
            marks=marks,
        )
        conversation = ConversationEvents(host, self._send, items)
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[None]]] = {
            "session.update": self._on_session_update,
            "input_audio_buffer.append": self._audio.on_append,
            "input_audio_buffer.commit": self._audio.on_commit,
            "input_audio_buffer.clear": self._audio.on_clear,
            "conversation.item.create": conversation.on_item_create,
            "conversation.item.retrieve": conversation.on_item_retrieve,
            "conversation.item.truncate": conversation.on_item_truncate,
            "conversation.item.delete": conversation.on_item_delete,
            "response.create": self._responses.on_response_create,
            "response.cancel": self._responses.on_response_cancel,
        }

    async def run(self) -> None:
        await self._send(server_event("session.created", session=self._session.view()))
        try:
            async for msg in self._ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_text(str(msg.data))
                elif msg.type == WSMsgType.BINARY:
                    self._host.record_wire_event(
                        "client", {"type": None, "binary_bytes": len(msg.data)}
                    )
                    await self._send_error(
                        "invalid_value", "Binary frames are not supported; send JSON text."
                    )
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            await self.close()

    async def close(self) -> None:
        """Stop the response in flight and close the socket; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._responses.close()
        if not self._ws.closed:
            await self._ws.close()

    async def _send(self, event: dict[str, Any]) -> None:
        if self._ws.closed:
            return
        async with self._send_lock:
            self._host.record_wire_event("server", event)
            with suppress(ConnectionError, RuntimeError):
                await self._ws.send_str(json.dumps(event))

    async def send_raw(self, text: str) -> None:
        """A frame exactly as given, valid or not: fault injection for tests."""
        if self._ws.closed:
            return
        async with self._send_lock:
            self._host.record_wire_event("server", {"type": None, "raw": text[:200]})
            with suppress(ConnectionError, RuntimeError):
                await self._ws.send_str(text)

    async def _send_error(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        client_event_id: str | None = None,
    ) -> None:
        await self._send(error_event(code, message, param=param, client_event_id=client_event_id))

    async def _on_text(self, data: str) -> None:
        try:
            event = json.loads(data)
        except ValueError:
            self._host.record_wire_event("client", {"type": None, "unparsed_chars": len(data)})
            await self._send_error(
                "invalid_json", "The message could not be parsed as JSON.", param=None
            )
            return
        if not isinstance(event, dict):
            self._host.record_wire_event("client", {"type": None, "unparsed_chars": len(data)})
            await self._send_error("invalid_json", "A client event must be a JSON object.")
            return
        self._host.record_wire_event("client", event)
        client_event_id = event.get("event_id")
        if not isinstance(client_event_id, str):
            client_event_id = None
        type_ = event.get("type")
        try:
            if not isinstance(type_, str) or not type_:
                raise ClientError(
                    "missing_required_parameter", "Missing required parameter: 'type'.", "type"
                )
            handler = self._handlers.get(type_)
            if handler is None:
                raise ClientError(
                    "invalid_value",
                    f"Invalid value: '{type_[:64]}'. Supported values are: "
                    + ", ".join(f"'{t}'" for t in self._handlers)
                    + ".",
                    "type",
                )
            await handler(event)
        except ClientError as exc:
            await self._send_error(
                exc.code, exc.message, param=exc.param, client_event_id=client_event_id
            )

    async def _on_session_update(self, event: dict[str, Any]) -> None:
        self._session.apply_update(event.get("session"))
        self._audio.configure_turn_detection()
        await self._send(server_event("session.updated", session=self._session.view()))
