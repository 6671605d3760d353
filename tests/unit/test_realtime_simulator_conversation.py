"""The simulator's conversation item store and conversation.item.* handlers, on their own."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_simulator.client_errors import ClientError
from realtime_simulator.conversation import (
    ConversationEvents,
    ConversationItems,
    validated_new_item,
)
from realtime_simulator.wire import assistant_message_item

from .simulator_host_fake import FakeHost, SentEvents

pytestmark = pytest.mark.unit


def user_text(item_id: str) -> dict[str, Any]:
    return {"id": item_id, "type": "message", "role": "user", "content": []}


def test_insert_places_items_after_previous_root_or_tail() -> None:
    items = ConversationItems()
    items.insert(user_text("a"), None)
    items.insert(user_text("c"), "a")
    items.insert(user_text("b"), "a")
    items.insert(user_text("first"), "root")
    items.insert(user_text("last"), items.tail_id())
    assert items.ids() == ["first", "a", "b", "c", "last"]
    assert items.tail_id() == "last"


def test_put_appends_new_items_and_replaces_known_ones_in_place() -> None:
    items = ConversationItems()
    assert items.tail_id() is None
    items.put(user_text("a"))
    items.put(user_text("b"))
    replaced = {**user_text("a"), "status": "completed"}
    items.put(replaced)
    assert items.ids() == ["a", "b"]
    assert items.get("a") is replaced
    items.delete("a")
    assert items.ids() == ["b"]
    assert "a" not in items


def test_truncate_keeps_the_share_of_transcript_heard() -> None:
    items = ConversationItems()
    items.put(assistant_message_item("m", "completed", "one two three four five six"))
    items.set_audio_ms("m", 3000)
    items.truncate_audio("m", 1000)
    stored = items.get("m")
    assert stored is not None
    assert stored["content"][0]["transcript"] == "one two"
    assert items.audio_ms("m") == 1000


def test_deleting_an_item_forgets_its_audio() -> None:
    items = ConversationItems()
    items.put(assistant_message_item("m", "completed", "hello"))
    items.set_audio_ms("m", 500)
    items.delete("m")
    assert items.audio_ms("m") is None


@pytest.mark.parametrize(
    ("raw", "param"),
    [
        (None, "item"),
        ({"type": "image"}, "item.type"),
        ({"type": "message", "role": "robot", "content": []}, "item.role"),
        ({"type": "message", "role": "user"}, "item.content"),
        ({"type": "function_call_output", "call_id": "c1"}, "item.output"),
        ({"type": "function_call", "call_id": "c1", "name": "f"}, "item.arguments"),
        ({"type": "message", "role": "user", "content": [], "id": "x" * 33}, "item.id"),
    ],
)
def test_new_item_validation_names_the_bad_field(raw: Any, param: str) -> None:
    with pytest.raises(ClientError) as caught:
        validated_new_item(raw)
    assert caught.value.param == param


def test_new_item_gets_an_id_and_leaves_the_event_alone() -> None:
    raw: dict[str, Any] = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "hi"}],
    }
    item = validated_new_item(raw)
    assert item["id"].startswith("item_")
    assert "id" not in raw
    item["content"][0]["text"] = "changed"
    assert raw["content"][0]["text"] == "hi"


async def test_create_reports_previous_and_hands_tool_output_to_the_host() -> None:
    host, sent, items = FakeHost(), SentEvents(), ConversationItems()
    events = ConversationEvents(host, sent.send, items)
    await events.on_item_create({"item": user_text("a")})
    await events.on_item_create(
        {
            "previous_item_id": "root",
            "item": {"id": "out", "type": "function_call_output", "call_id": "c1", "output": "ok"},
        }
    )
    assert items.ids() == ["out", "a"]
    added = sent.of_type("conversation.item.added")
    assert [e["previous_item_id"] for e in added] == [None, None]
    assert added[1]["item"]["status"] == "completed"
    assert added[1]["item"]["object"] == "realtime.item"
    assert host.tool_outputs == [("c1", "ok")]


async def test_create_rejects_duplicates_and_unknown_previous_items() -> None:
    host, sent, items = FakeHost(), SentEvents(), ConversationItems()
    events = ConversationEvents(host, sent.send, items)
    await events.on_item_create({"item": user_text("a")})
    with pytest.raises(ClientError) as duplicate:
        await events.on_item_create({"item": user_text("a")})
    assert duplicate.value.code == "item_create_duplicate_item_id"
    with pytest.raises(ClientError) as unknown:
        await events.on_item_create({"item": user_text("b"), "previous_item_id": "nope"})
    assert unknown.value.code == "item_create_invalid_previous_item_id"
    assert items.ids() == ["a"]


async def test_truncate_checks_in_the_api_s_order() -> None:
    host, sent, items = FakeHost(), SentEvents(), ConversationItems()
    events = ConversationEvents(host, sent.send, items)
    items.put(user_text("u"))
    items.put(assistant_message_item("m", "completed", "one two"))
    items.set_audio_ms("m", 1000)

    async def code_of(event: dict[str, Any]) -> tuple[str, str | None]:
        with pytest.raises(ClientError) as caught:
            await events.on_item_truncate(event)
        return caught.value.code, caught.value.param

    assert await code_of({"item_id": "gone"}) == ("item_not_found", "item_id")
    assert await code_of({"item_id": "m", "audio_end_ms": 10}) == (
        "missing_required_parameter",
        "content_index",
    )
    assert await code_of({"item_id": "m", "content_index": 0, "audio_end_ms": -1}) == (
        "missing_required_parameter",
        "audio_end_ms",
    )
    assert await code_of({"item_id": "u", "content_index": 0, "audio_end_ms": 0}) == (
        "invalid_value",
        "item_id",
    )
    assert await code_of({"item_id": "m", "content_index": 1, "audio_end_ms": 0}) == (
        "invalid_value",
        "content_index",
    )
    assert await code_of({"item_id": "m", "content_index": 0, "audio_end_ms": 1001}) == (
        "invalid_value",
        "audio_end_ms",
    )
    assert sent.events == []
    await events.on_item_truncate({"item_id": "m", "content_index": 0, "audio_end_ms": 500})
    assert sent.types() == ["conversation.item.truncated"]
    assert items.audio_ms("m") == 500


async def test_retrieve_and_delete() -> None:
    host, sent, items = FakeHost(), SentEvents(), ConversationItems()
    events = ConversationEvents(host, sent.send, items)
    items.put(user_text("a"))
    await events.on_item_retrieve({"item_id": "a"})
    await events.on_item_delete({"item_id": "a"})
    assert sent.types() == ["conversation.item.retrieved", "conversation.item.deleted"]
    assert sent.events[0]["item"]["id"] == "a"
    assert items.ids() == []
    with pytest.raises(ClientError) as caught:
        await events.on_item_delete({})
    assert caught.value.code == "missing_required_parameter"
