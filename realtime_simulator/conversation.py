"""The conversation's items and the conversation.item.* client events that edit them."""

from __future__ import annotations

import copy
import math
from typing import Any

from .client_errors import ClientError
from .connection_host import ConnectionHost, SendEvent
from .wire import new_id, server_event

_ITEM_TYPES = ("message", "function_call", "function_call_output")
_ROLES = ("user", "assistant", "system")
_MAX_ITEM_ID_CHARS = 32


class ConversationItems:
    """The items of one conversation in conversation order, and how much audio each
    assistant message has (what conversation.item.truncate may cut)."""

    def __init__(self) -> None:
        self.conversation_id = new_id("conv_")
        self._items: dict[str, dict[str, Any]] = {}  # insertion order is conversation order
        self._audio_ms: dict[str, int] = {}

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._items

    def ids(self) -> list[str]:
        """Item ids in conversation order."""
        return list(self._items)

    def get(self, item_id: str) -> dict[str, Any] | None:
        """The stored item itself (not a copy), or None."""
        return self._items.get(item_id)

    def tail_id(self) -> str | None:
        """The last item's id, which a new item's previous_item_id names."""
        return next(reversed(self._items), None) if self._items else None

    def put(self, item: dict[str, Any]) -> None:
        """Store the item under its id: appended if new, replaced in place if not."""
        self._items[item["id"]] = item

    def insert(self, item: dict[str, Any], previous_item_id: str | None) -> None:
        """Store a new item after previous_item_id ("root" for first, None for last)."""
        item_id = item["id"]
        if previous_item_id is None or previous_item_id == self.tail_id():
            self._items[item_id] = item
            return
        ordered = list(self._items.items())
        position = (
            0
            if previous_item_id == "root"
            else ([k for k, _ in ordered].index(previous_item_id) + 1)
        )
        ordered.insert(position, (item_id, item))
        self._items = dict(ordered)

    def delete(self, item_id: str) -> None:
        del self._items[item_id]
        self._audio_ms.pop(item_id, None)

    def audio_ms(self, item_id: str) -> int | None:
        """Milliseconds of audio the item holds; None if it holds none that can be cut."""
        return self._audio_ms.get(item_id)

    def set_audio_ms(self, item_id: str, audio_ms: int) -> None:
        self._audio_ms[item_id] = audio_ms

    def truncate_audio(self, item_id: str, audio_end_ms: int) -> None:
        """Keep the first audio_end_ms of the item's audio, and of its transcript the share
        of words spoken by then (the API drops what the caller never heard)."""
        item = self._items[item_id]
        total_ms = self._audio_ms[item_id]
        for part in item.get("content", []):
            transcript = part.get("transcript")
            if isinstance(transcript, str) and total_ms > 0:
                words = transcript.split()
                kept = math.floor(len(words) * audio_end_ms / total_ms)
                part["transcript"] = " ".join(words[:kept])
        self._audio_ms[item_id] = audio_end_ms


def validated_new_item(raw: Any) -> dict[str, Any]:
    """A copy of conversation.item.create's ``item`` with its required fields checked and an
    id given if it had none; raises ClientError as the API would."""
    if not isinstance(raw, dict):
        raise ClientError(
            "missing_required_parameter", "Missing required parameter: 'item'.", "item"
        )
    item = copy.deepcopy(raw)
    item_type = item.get("type")
    if item_type not in _ITEM_TYPES:
        raise ClientError(
            "invalid_value",
            "Invalid value for 'item.type': expected one of "
            + ", ".join(f"'{t}'" for t in _ITEM_TYPES)
            + ".",
            "item.type",
        )
    if item_type == "message":
        if item.get("role") not in _ROLES:
            raise ClientError(
                "invalid_value",
                "Invalid value for 'item.role': expected 'user', 'assistant' or 'system'.",
                "item.role",
            )
        if not isinstance(item.get("content"), list):
            raise ClientError(
                "missing_required_parameter",
                "Missing required parameter: 'item.content'.",
                "item.content",
            )
    else:
        required = (
            ("call_id", "output")
            if item_type == "function_call_output"
            else ("call_id", "name", "arguments")
        )
        for name in required:
            if not isinstance(item.get(name), str):
                raise ClientError(
                    "missing_required_parameter",
                    f"Missing required parameter: 'item.{name}'.",
                    f"item.{name}",
                )
    item_id = item.get("id")
    if item_id is None:
        item_id = item["id"] = new_id("item_")
    if not isinstance(item_id, str) or not item_id or len(item_id) > _MAX_ITEM_ID_CHARS:
        raise ClientError(
            "invalid_value",
            "Invalid 'item.id': expected a string of 1 to 32 characters.",
            "item.id",
        )
    return item


class ConversationEvents:
    """Handles conversation.item.create / retrieve / truncate / delete."""

    def __init__(self, host: ConnectionHost, send: SendEvent, items: ConversationItems) -> None:
        self._host = host
        self._send = send
        self._items = items

    async def on_item_create(self, event: dict[str, Any]) -> None:
        item = validated_new_item(event.get("item"))
        item_id = item["id"]
        if item_id in self._items:
            raise ClientError(
                "item_create_duplicate_item_id",
                f"Item with id '{item_id}' already exists.",
                "item.id",
            )
        previous = event.get("previous_item_id")
        if previous is not None and previous != "root" and previous not in self._items:
            raise ClientError(
                "item_create_invalid_previous_item_id",
                f"Previous item with id '{str(previous)[:64]}' not found.",
                "previous_item_id",
            )
        item["object"] = "realtime.item"
        item.setdefault("status", "completed")
        if previous is None:
            previous = self._items.tail_id()
        self._items.insert(item, previous)
        reported_previous = None if previous == "root" else previous
        await self._send(
            server_event("conversation.item.added", previous_item_id=reported_previous, item=item)
        )
        await self._send(
            server_event("conversation.item.done", previous_item_id=reported_previous, item=item)
        )
        if item["type"] == "function_call_output":
            self._host.on_tool_output(item["call_id"], item["output"])

    async def on_item_retrieve(self, event: dict[str, Any]) -> None:
        item = self._item_or_error(event)
        await self._send(server_event("conversation.item.retrieved", item=item))

    async def on_item_truncate(self, event: dict[str, Any]) -> None:
        item = self._item_or_error(event)
        content_index = event.get("content_index")
        audio_end_ms = event.get("audio_end_ms")
        if not isinstance(content_index, int):
            raise ClientError(
                "missing_required_parameter",
                "Missing required parameter: 'content_index'.",
                "content_index",
            )
        if not isinstance(audio_end_ms, int) or audio_end_ms < 0:
            raise ClientError(
                "missing_required_parameter",
                "Missing required parameter: 'audio_end_ms' (a non-negative integer).",
                "audio_end_ms",
            )
        total_ms = self._items.audio_ms(item["id"])
        if item.get("role") != "assistant" or total_ms is None:
            raise ClientError(
                "invalid_value", "Only assistant messages with audio can be truncated.", "item_id"
            )
        if content_index != 0:
            raise ClientError(
                "invalid_value", "Invalid 'content_index': the item has one part.", "content_index"
            )
        if audio_end_ms > total_ms:
            raise ClientError(
                "invalid_value",
                f"Audio content of {total_ms}ms is already shorter than {audio_end_ms}ms.",
                "audio_end_ms",
            )
        self._items.truncate_audio(item["id"], audio_end_ms)
        await self._send(
            server_event(
                "conversation.item.truncated",
                item_id=item["id"],
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )
        )

    async def on_item_delete(self, event: dict[str, Any]) -> None:
        item = self._item_or_error(event)
        self._items.delete(item["id"])
        await self._send(server_event("conversation.item.deleted", item_id=item["id"]))

    def _item_or_error(self, event: dict[str, Any]) -> dict[str, Any]:
        item_id = event.get("item_id")
        if not isinstance(item_id, str):
            raise ClientError(
                "missing_required_parameter", "Missing required parameter: 'item_id'.", "item_id"
            )
        item = self._items.get(item_id)
        if item is None:
            raise ClientError(
                "item_not_found", f"Item with item_id '{item_id[:64]}' not found.", "item_id"
            )
        return item
