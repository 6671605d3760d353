"""The command channel's wire format, supervision events, and the console's client refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from state.events import InvalidEventError, validate_event
from supervision.commands import CommandRefusedError, SupervisionClient
from supervision.protocol import (
    CommandFormatError,
    CommandReply,
    CommandSerializer,
    SupervisionCommand,
    command_channel,
    reply_key,
)

pytestmark = pytest.mark.unit


def test_a_command_round_trips_as_exact_json() -> None:
    command = SupervisionCommand(action="whisper", by="dana", text="  Offer Thursday morning ",
                                 command_id="a" * 32)
    wire = CommandSerializer.encode_command(command)
    assert json.loads(wire) == {"v": 1, "id": "a" * 32, "action": "whisper", "by": "dana",
                                "text": "Offer Thursday morning"}
    assert CommandSerializer.decode_command(wire.encode()) == command
    take = SupervisionCommand(action="take_over", by="dana", command_id="b" * 32)
    assert json.loads(CommandSerializer.encode_command(take)) == {
        "v": 1, "id": "b" * 32, "action": "take_over", "by": "dana"}


@pytest.mark.parametrize(("raw", "reason"), [
    (b"not json", "not_json"),
    (b"[1]", "not_object"),
    (json.dumps({"v": 2, "id": "a" * 32, "action": "take_over", "by": "d"}), "unknown_version"),
    (json.dumps({"v": 1, "id": "x", "action": "take_over", "by": "d"}), "bad_id"),
    (json.dumps({"v": 1, "id": "a" * 32, "action": "drop_table", "by": "d"}), "bad_action"),
    (json.dumps({"v": 1, "id": "a" * 32, "action": "take_over", "by": ""}), "bad_account"),
    (json.dumps({"v": 1, "id": "a" * 32, "action": "take_over", "by": "a b"}), "bad_account"),
    (json.dumps({"v": 1, "id": "a" * 32, "action": "whisper", "by": "d"}), "whisper_empty"),
    (json.dumps({"v": 1, "id": "a" * 32, "action": "whisper", "by": "d", "text": "x" * 501}),
     "whisper_too_long"),
    (json.dumps({"v": 1, "id": "a" * 32, "action": "take_over", "by": "d", "text": "x"}),
     "text_only_for_whisper"),
])
def test_malformed_commands_are_refused_with_a_code(raw: Any, reason: str) -> None:
    with pytest.raises(CommandFormatError) as caught:
        CommandSerializer.decode_command(raw)
    assert caught.value.reason == reason


def test_a_reply_round_trips() -> None:
    reply = CommandReply(ok=False, reason="already_supervised", message="dana has it.",
                         data={"room": "call-1"})
    assert CommandSerializer.decode_reply(CommandSerializer.encode_reply(reply)) == reply
    with pytest.raises(CommandFormatError):
        CommandSerializer.decode_reply(b'{"v":1}')


def test_channel_and_reply_names() -> None:
    assert command_channel("c1") == "supervision:commands:c1"
    assert reply_key("ab") == "supervision:reply:ab"


def test_supervision_events_name_the_supervisor() -> None:
    validate_event("supervision", {"action": "take_over", "by": "dana", "from": "t"})
    validate_event("supervision", {"action": "board_ring", "category": "pricing"})
    for payload, reason in [
        ({"action": "take_over"}, "supervision_without_account"),
        ({"action": "take_over", "by": " "}, "supervision_without_account"),
        ({"action": "sing", "by": "dana"}, "supervision_bad_action"),
        ({"action": "whisper", "by": "dana"}, "supervision_whisper_without_text"),
    ]:
        with pytest.raises(InvalidEventError) as caught:
            validate_event("supervision", payload)
        assert caught.value.reason == reason


class FakeRedis:
    """What SupervisionClient uses of redis.asyncio.Redis."""

    def __init__(self, status: bytes | None, receivers: int = 1,
                 reply: CommandReply | None = None) -> None:
        self.status = status
        self.receivers = receivers
        self.reply = reply
        self.published: list[tuple[str, str]] = []

    async def hget(self, key: str, field: str) -> bytes | None:
        return self.status

    async def publish(self, channel: str, message: str) -> int:
        self.published.append((channel, message))
        return self.receivers

    async def blpop(self, keys: list[str], timeout: float) -> tuple[bytes, bytes] | None:
        if self.reply is None:
            return None
        command_id = json.loads(self.published[-1][1])["id"]
        assert keys == [reply_key(command_id)]
        return keys[0].encode(), CommandSerializer.encode_reply(self.reply).encode()


async def refusal(redis: FakeRedis, action: str = "take_over", role: str = "supervisor",
                  text: str | None = None) -> str:
    client = SupervisionClient(redis, reply_timeout_s=0.01)  # type: ignore[arg-type]
    with pytest.raises(CommandRefusedError) as caught:
        await client.send("c1", action, account="dana", role=role, text=text)  # type: ignore[arg-type]
    return caught.value.reason


async def test_the_client_refuses_clearly() -> None:
    assert await refusal(FakeRedis(b"in_progress"), role="operator") == "not_allowed"
    assert await refusal(FakeRedis(b"in_progress"), action="whisper", text=" ") == "whisper_empty"
    assert await refusal(FakeRedis(None)) == "call_ended"
    assert await refusal(FakeRedis(b"ended")) == "call_ended"
    assert await refusal(FakeRedis(b"in_progress", receivers=0)) == "no_worker"
    assert await refusal(FakeRedis(b"in_progress")) == "no_reply"
    worker_says_no = FakeRedis(b"in_progress", reply=CommandReply(
        ok=False, reason="already_supervised", message="sam has already taken this call over."))
    assert await refusal(worker_says_no) == "already_supervised"


async def test_the_client_returns_the_workers_answer() -> None:
    redis = FakeRedis(b"in_progress", reply=CommandReply(ok=True, data={"room": "call-c1"}))
    client = SupervisionClient(redis)  # type: ignore[arg-type]
    reply = await client.send("c1", "take_over", account="dana", role="admin")
    assert reply.ok and reply.data == {"room": "call-c1"}
    assert redis.published[0][0] == "supervision:commands:c1"
