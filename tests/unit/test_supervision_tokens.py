"""Tokens the console hands to browsers: per action, one room, short-lived, role-checked."""

from __future__ import annotations

import jwt
import pytest
from livekit import api
from pydantic import SecretStr

from supervision.roles import can_place_test_call, can_supervise
from supervision.tokens import (
    MAX_TOKEN_TTL_S,
    LiveKitSettings,
    TokenRefusedError,
    is_test_call,
    mint_listen_token,
    mint_takeover_token,
    start_test_call,
)

pytestmark = pytest.mark.unit

SECRET = "a-server-side-secret-that-is-long-enough"
SETTINGS = LiveKitSettings(url="ws://127.0.0.1:7880", http_url="http://127.0.0.1:7880",
                           api_key="devkey", api_secret=SecretStr(SECRET), agent_name="agent")


def claims(token: str) -> dict[str, object]:
    decoded: dict[str, object] = jwt.decode(token, SECRET, algorithms=["HS256"])
    return decoded


def test_a_listen_token_is_hidden_subscribe_only_for_one_room() -> None:
    minted = mint_listen_token(SETTINGS, room="call-abc", account="dana", role="supervisor")
    verified = api.TokenVerifier("devkey", SECRET).verify(minted.token)
    video = verified.video
    assert video is not None
    assert video.room == "call-abc" and video.room_join is True
    assert video.can_publish is False and video.can_publish_data is False
    assert video.hidden is True and video.can_subscribe is True
    assert not video.room_admin and not video.room_create and not video.room_list
    assert verified.identity == "supervisor:listen:dana"
    body = claims(minted.token)
    assert isinstance(body["exp"], int) and isinstance(body["nbf"], int)
    assert 0 < body["exp"] - body["nbf"] <= MAX_TOKEN_TTL_S
    assert SECRET not in minted.token


def test_a_take_over_token_publishes_the_microphone_only_and_its_ttl_is_capped() -> None:
    minted = mint_takeover_token(SETTINGS, room="call-abc", account="dana", role="admin",
                                 ttl_s=3600)
    verified = api.TokenVerifier("devkey", SECRET).verify(minted.token)
    assert verified.video is not None
    assert verified.video.can_publish is True
    assert verified.video.can_publish_sources == ["microphone"]
    assert verified.video.room == "call-abc" and not verified.video.hidden
    assert verified.identity == "supervisor:dana"
    body = claims(minted.token)
    assert isinstance(body["exp"], int) and isinstance(body["nbf"], int)
    assert body["exp"] - body["nbf"] == MAX_TOKEN_TTL_S == minted.ttl_s


def test_an_operator_can_mint_no_supervision_token() -> None:
    for mint in (mint_listen_token, mint_takeover_token):
        with pytest.raises(TokenRefusedError) as caught:
            mint(SETTINGS, room="call-abc", account="olive", role="operator")
        assert caught.value.reason == "not_allowed"
    assert not can_supervise("operator") and not can_supervise("")
    assert can_supervise("supervisor") and can_supervise("admin")
    assert can_place_test_call("operator")


@pytest.mark.parametrize(("room", "account", "reason"), [
    ("call-abc", "bad account", "bad_account"),
    ("", "dana", "bad_room"),
    ("call-*", "dana", "bad_room"),
])
def test_bad_rooms_and_accounts_are_refused(room: str, account: str, reason: str) -> None:
    with pytest.raises(TokenRefusedError) as caught:
        mint_listen_token(SETTINGS, room=room, account=account, role="supervisor")
    assert caught.value.reason == reason


async def test_a_test_call_needs_a_signed_in_role() -> None:
    with pytest.raises(TokenRefusedError):
        await start_test_call(SETTINGS, account="x", role="visitor")


def test_test_calls_are_told_apart_by_their_metadata() -> None:
    assert is_test_call({"test_call": True, "source": "console-test"})
    assert not is_test_call({"source": "simulated-caller"})
    assert not is_test_call(None)
