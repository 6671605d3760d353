"""The live-audio endpoints over HTTP (the ASGI app in-process, real Postgres, the session's real
livekit-server): per-action tokens, roles, CSRF, and the page headers that let a page reach
LiveKit and the microphone."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from livekit import api

from devstack.local_call import LocalStack
from tests.console_support import add_user, console_client, csrf_from, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
async def live_room(call_stack: LocalStack, monkeypatch: pytest.MonkeyPatch
                    ) -> AsyncIterator[str]:
    """A call id whose room exists on livekit-server; the console's LiveKit env points there."""
    assert call_stack.livekit is not None
    monkeypatch.setenv("LIVEKIT_URL", call_stack.livekit.url)
    monkeypatch.setenv("LIVEKIT_API_KEY", call_stack.livekit.api_key)
    monkeypatch.setenv("LIVEKIT_API_SECRET", call_stack.livekit.api_secret)
    call_id = f"aud{uuid.uuid4().hex[:10]}"
    async with call_stack.api() as lkapi:
        await lkapi.room.create_room(api.CreateRoomRequest(name=f"call-{call_id}",
                                                           empty_timeout=60))
    try:
        yield call_id
    finally:
        async with call_stack.api() as lkapi:
            await lkapi.room.delete_room(api.DeleteRoomRequest(room=f"call-{call_id}"))


@pytest.fixture
async def users(database_url: str) -> None:
    for name, role in (("olive", "operator"), ("sam", "supervisor")):
        await add_user(database_url, name, role)


async def _signed_in(client: httpx.AsyncClient, name: str) -> str:
    assert (await sign_in(client, name)).status_code == 303
    page = await client.get("/test-call")
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def test_a_supervisor_gets_one_room_short_lived_tokens_for_listen_and_take_over(
        database_url: str, users: None, live_room: str, call_stack: LocalStack) -> None:
    assert call_stack.livekit is not None
    secret = call_stack.livekit.api_secret
    verifier = api.TokenVerifier(call_stack.livekit.api_key, secret)
    async with console_client(database_url) as client:
        csrf = await _signed_in(client, "sam")
        listen = await client.post(f"/live/{live_room}/audio/listen",
                                   headers={"x-csrf-token": csrf})
        assert listen.status_code == 200, listen.text
        assert secret not in listen.text
        body = listen.json()
        assert body["url"] == call_stack.livekit.url and body["room"] == f"call-{live_room}"
        claims = verifier.verify(body["token"])
        assert claims.video is not None
        assert claims.video.room == f"call-{live_room}" and claims.video.room_join
        assert claims.video.can_publish is False and claims.video.hidden is True
        assert not claims.video.room_admin and not claims.video.room_create
        assert claims.identity == "supervisor:listen:sam"
        raw = jwt.decode(body["token"], secret, algorithms=["HS256"])
        assert 0 < raw["exp"] - raw["nbf"] <= 600

        take_over = await client.post(f"/live/{live_room}/audio/take-over",
                                      headers={"x-csrf-token": csrf})
        assert take_over.status_code == 200, take_over.text
        claims = verifier.verify(take_over.json()["token"])
        assert claims.video is not None and claims.video.can_publish is True
        assert claims.video.can_publish_sources == ["microphone"]
        assert claims.video.room == f"call-{live_room}" and claims.identity == "supervisor:sam"
        raw = jwt.decode(take_over.json()["token"], secret, algorithms=["HS256"])
        assert 0 < raw["exp"] - raw["nbf"] <= 600

        # a call whose room is gone gets a refusal, not a token that would create the room
        gone = await client.post(f"/live/nosuchcall{uuid.uuid4().hex[:6]}/audio/listen",
                                 headers={"x-csrf-token": csrf})
        assert gone.status_code == 409 and gone.json()["error"] == "call_ended"
        assert "token" not in gone.json()


async def test_an_operator_gets_no_listen_or_take_over_token(
        database_url: str, users: None, live_room: str) -> None:
    async with console_client(database_url) as client:
        csrf = await _signed_in(client, "olive")
        for action in ("listen", "take-over"):
            refused = await client.post(f"/live/{live_room}/audio/{action}",
                                        headers={"x-csrf-token": csrf})
            assert refused.status_code == 403, action
            assert refused.json()["error"] == "not_allowed" and "token" not in refused.json()
        assert (await client.get(f"/live/{live_room}/audio")).status_code == 403
        # the test-call page is for every signed-in user
        assert (await client.get("/test-call")).status_code == 200


async def test_posts_without_the_csrf_token_or_a_session_are_refused(
        database_url: str, users: None, live_room: str) -> None:
    async with console_client(database_url) as client:
        paths = (f"/live/{live_room}/audio/listen", f"/live/{live_room}/audio/take-over",
                 "/test-call/start")
        for path in paths:
            assert (await client.post(path)).status_code == 401, path
        csrf = await _signed_in(client, "sam")
        for path in paths:
            missing = await client.post(path)
            wrong = await client.post(path, headers={"x-csrf-token": csrf[:-2] + "xx"})
            assert missing.status_code == wrong.status_code == 403, path
            assert "eyJ" not in missing.text and "eyJ" not in wrong.text  # no JWT


async def test_live_pages_may_reach_livekit_and_the_microphone_and_the_client_is_served(
        database_url: str, users: None, live_room: str, call_stack: LocalStack) -> None:
    assert call_stack.livekit is not None
    async with console_client(database_url) as client:
        await _signed_in(client, "sam")
        for path in ("/test-call", f"/live/{live_room}/audio"):
            page = await client.get(path)
            assert page.status_code == 200, path
            csp = page.headers["content-security-policy"]
            assert f"connect-src 'self' {call_stack.livekit.url}" in csp
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert "microphone=(self)" in page.headers["permissions-policy"]
            assert call_stack.livekit.api_secret not in page.text
            assert '<script src="/static/vendor/livekit-client.umd.js">' in page.text
        # other pages keep the console's strict policy
        calls = await client.get("/calls")
        assert "microphone=()" in calls.headers["permissions-policy"]
        # (same-origin connections only: the live pages' event streams)
        strict = calls.headers["content-security-policy"]
        assert "connect-src 'self';" in strict and call_stack.livekit.url not in strict
        script = await client.get("/static/vendor/livekit-client.umd.js")
        assert script.status_code == 200 and "LivekitClient" in script.text[:2000]
        assert script.headers["content-type"].startswith("text/javascript")
