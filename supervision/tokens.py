"""LiveKit tokens the console hands to a browser: one per action, one room, at most 10 minutes.

The API secret stays here (server side); the browser only ever gets the signed JWT. Listening
is hidden and subscribe-only; taking over may publish the microphone, and is minted only at the
moment of the take-over. A test call is a WebRTC caller in a fresh `call-<id>` room with the
agent dispatched by name, marked as a test call so the record keeps it out of the KPIs.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta

from livekit import api
from pydantic import SecretStr

from supervision.protocol import CommandFormatError, check_account
from supervision.roles import can_place_test_call, can_supervise

MAX_TOKEN_TTL_S = 600
TEST_CALL_SOURCE = "console-test"


class TokenRefusedError(Exception):
    """No token for this user: `reason` is a fixed code (not_allowed, bad_account, bad_room)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class LiveKitSettings:
    url: str  # ws(s):// for the browser
    http_url: str  # http(s):// for the server API
    api_key: str
    api_secret: SecretStr
    agent_name: str

    @classmethod
    def from_env(cls) -> LiveKitSettings:
        url = os.environ.get("LIVEKIT_URL", "").strip()
        key = os.environ.get("LIVEKIT_API_KEY", "").strip()
        secret = os.environ.get("LIVEKIT_API_SECRET", "").strip()
        if not (url and key and secret):
            raise ValueError("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set")
        http_url = url.replace("wss://", "https://", 1).replace("ws://", "http://", 1)
        return cls(url=url, http_url=http_url, api_key=key, api_secret=SecretStr(secret),
                   agent_name=os.environ.get("INTAKE_AGENT_NAME", "intake-agent"))


@dataclass(frozen=True)
class RoomToken:
    url: str
    room: str
    identity: str
    token: str
    ttl_s: int


def _check(role: str, account: str, room: str, *, supervise: bool) -> None:
    if not (can_supervise(role) if supervise else can_place_test_call(role)):
        raise TokenRefusedError("not_allowed")
    try:
        check_account(account)
    except CommandFormatError:
        raise TokenRefusedError("bad_account") from None
    if not room or len(room) > 128 or not room.replace("-", "").replace("_", "").isalnum():
        raise TokenRefusedError("bad_room")


def _mint(settings: LiveKitSettings, room: str, identity: str, grants: api.VideoGrants,
          ttl_s: int, name: str) -> RoomToken:
    ttl_s = max(1, min(int(ttl_s), MAX_TOKEN_TTL_S))
    token = (api.AccessToken(settings.api_key, settings.api_secret.get_secret_value())
             .with_identity(identity).with_name(name).with_ttl(timedelta(seconds=ttl_s))
             .with_grants(grants).to_jwt())
    return RoomToken(url=settings.url, room=room, identity=identity, token=token, ttl_s=ttl_s)


def mint_listen_token(settings: LiveKitSettings, *, room: str, account: str, role: str,
                      ttl_s: int = MAX_TOKEN_TTL_S) -> RoomToken:
    """Hidden, subscribe-only. Identity `supervisor:listen:<account>` (the account, and which
    action, so a listening tab and a take-over tab of one person do not evict each other)."""
    _check(role, account, room, supervise=True)
    grants = api.VideoGrants(room_join=True, room=room, can_publish=False,
                             can_publish_data=False, can_subscribe=True, hidden=True)
    return _mint(settings, room, f"supervisor:listen:{account}", grants, ttl_s, account)


def mint_takeover_token(settings: LiveKitSettings, *, room: str, account: str, role: str,
                        ttl_s: int = MAX_TOKEN_TTL_S) -> RoomToken:
    """Publishes the supervisor's microphone into the call room; mint it when taking over."""
    _check(role, account, room, supervise=True)
    grants = api.VideoGrants(room_join=True, room=room, can_publish=True,
                             can_publish_sources=["microphone"], can_publish_data=False,
                             can_subscribe=True)
    return _mint(settings, room, f"supervisor:{account}", grants, ttl_s, account)


@dataclass(frozen=True)
class TestCall:
    call_id: str
    room: RoomToken


async def start_test_call(settings: LiveKitSettings, *, account: str, role: str,
                          ttl_s: int = MAX_TOKEN_TTL_S) -> TestCall:
    """Create a call room, dispatch the agent by name into it, and return the browser's
    caller token. The job metadata marks it a test call; the record keeps that metadata."""
    call_id = uuid.uuid4().hex[:12]
    room = f"call-{call_id}"
    _check(role, account, room, supervise=False)
    caller = _mint(settings, room, f"test-caller:{account}",
                   api.VideoGrants(room_join=True, room=room, can_publish=True,
                                   can_publish_sources=["microphone"], can_subscribe=True,
                                   can_publish_data=False),
                   ttl_s, account)
    metadata = {"call_id": call_id, "source": TEST_CALL_SOURCE, "test_call": True,
                "started_by": account}
    async with api.LiveKitAPI(settings.http_url, settings.api_key,
                              settings.api_secret.get_secret_value()) as lkapi:
        await lkapi.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=60))
        await lkapi.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
            agent_name=settings.agent_name, room=room, metadata=json.dumps(metadata)))
    return TestCall(call_id=call_id, room=caller)


def is_test_call(metadata: object) -> bool:
    """Whether a stored call's metadata marks it a console test call (KPIs leave it out)."""
    return isinstance(metadata, dict) and metadata.get("test_call") is True
