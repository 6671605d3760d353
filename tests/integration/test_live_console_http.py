"""The supervisors' live pages over HTTP (the ASGI app in-process, real Postgres and Redis):
sessions, CSRF and roles on every live route, the board's and a call's event streams, commands
reaching a worker as the signed-in account, refusals, and test calls kept out of the KPIs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from starlette.applications import Starlette

from dashboard.app import create_app
from dashboard.auth import SESSION_COOKIE
from dashboard.config import DEFAULT_PLAYBOOK, DashboardSettings
from state.console_queries import CallFilter, ConsoleQueries
from state.postgres_record import create_pool
from state.protocols import SLOT_CHANGED, TURN
from state.recorder import RedisCallRecorder
from state.redis_live import call_key, connect_redis
from supervision import is_test_call, supervisors_present
from supervision.protocol import (
    CommandReply,
    CommandSerializer,
    SupervisionCommand,
    command_channel,
    reply_key,
)
from tests.console_support import add_user, csrf_from, seed_call, sign_in

from .test_supervision_board import open_call

pytestmark = pytest.mark.integration

Event = tuple[str, Any, str | None]  # (event name, decoded data, id)


@contextlib.asynccontextmanager
async def live_console(database_url: str, redis_url: str | None
                       ) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    settings = DashboardSettings(database_url=database_url, playbook_path=DEFAULT_PLAYBOOK,
                                 redis_url=redis_url)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test",
                                     headers={"accept": "text/html"},
                                     follow_redirects=False) as client:
            yield app, client


class EventStream:
    """One GET of an event-stream route, driven at the ASGI level (httpx's ASGI transport
    waits for a response's end, and these do not end): events as they are sent, and a
    client disconnect on exit."""

    def __init__(self, app: Starlette, path: str, session: str, *,
                 last_event_id: str | None = None) -> None:
        headers = [(b"host", b"console.test"), (b"accept", b"text/event-stream"),
                   (b"cookie", f"{SESSION_COOKIE}={session}".encode())]
        if last_event_id is not None:
            headers.append((b"last-event-id", last_event_id.encode()))
        self._scope = {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
                       "http_version": "1.1", "method": "GET", "scheme": "http",
                       "path": path, "raw_path": path.encode(), "query_string": b"",
                       "root_path": "", "headers": headers, "client": ("203.0.113.9", 40000),
                       "server": ("console.test", 80)}
        self._app = app
        self._gone = asyncio.Event()
        self._events: asyncio.Queue[Event] = asyncio.Queue()
        self._buffer = b""
        self.status: int | None = None
        self.content_type = ""
        self.finished = False
        self._task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            headers = dict(message.get("headers", []))
            self.content_type = headers.get(b"content-type", b"").decode()
            return
        self._buffer += message.get("body", b"")
        while b"\n\n" in self._buffer:
            block, self._buffer = self._buffer.split(b"\n\n", 1)
            fields: dict[str, str] = {}
            for line in block.decode().splitlines():
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(": ")
                fields[name] = value
            if "event" in fields:
                self._events.put_nowait((fields["event"], json.loads(fields.get("data", "null")),
                                         fields.get("id")))
        if not message.get("more_body", False):
            self.finished = True

    async def __aenter__(self) -> EventStream:
        self._task = asyncio.create_task(self._app(self._scope, self._receive, self._send))
        return self

    async def next(self, kind: str | None = None, timeout: float = 10.0) -> Event:
        """The next event (of `kind`, skipping others)."""
        async with asyncio.timeout(timeout):
            while True:
                event = await self._events.get()
                if kind is None or event[0] == kind:
                    return event

    async def feed(self, kind: str) -> tuple[dict[str, Any], str | None]:
        """The next feed item of `kind` (a call's feed also carries its status events)."""
        while True:
            _, item, entry_id = await self.next("feed")
            if item["kind"] == kind:
                return item, entry_id

    async def __aexit__(self, *_: object) -> None:
        self._gone.set()
        assert self._task is not None
        await asyncio.wait_for(self._task, 10)


@pytest.fixture
async def accounts(database_url: str) -> None:
    for name, role in (("olive", "operator"), ("sam", "supervisor"), ("ada", "admin")):
        await add_user(database_url, name, role)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = connect_redis(redis_url, timeout=2.0)
    yield client
    await client.aclose()


@contextlib.asynccontextmanager
async def live_call(redis: aioredis.Redis, call_id: str) -> AsyncIterator[RedisCallRecorder]:
    recorder = await open_call(redis, call_id)
    try:
        yield recorder
    finally:
        await recorder.finish({})
        await recorder.aclose()


async def _csrf(client: httpx.AsyncClient) -> str:
    return csrf_from((await client.get("/calls")).text)


async def test_every_live_route_needs_a_session(database_url: str, redis_url: str,
                                                accounts: None) -> None:
    async with live_console(database_url, redis_url) as (_app, client):
        page = await client.get("/live")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Flive"
        for path in ("/live/events", "/live/c1/events"):
            stream = await client.get(path, headers={"accept": "text/event-stream"})
            assert stream.status_code == 401
        post = await client.post("/live/c1/take-over", data={"csrf_token": "x"})
        assert post.status_code == 401


async def test_an_operator_gets_403_on_every_live_page_and_command(
        database_url: str, redis_url: str, redis: aioredis.Redis, accounts: None) -> None:
    async with live_console(database_url, redis_url) as (app, client), \
            live_call(redis, "op1"):
        await sign_in(client, "olive")
        calls = await client.get("/calls")
        assert 'href="/live"' not in calls.text
        for path in ("/live", "/live/op1"):
            assert (await client.get(path)).status_code == 403
        csrf = csrf_from(calls.text)
        for action in ("whisper", "take-over", "hand-back", "end", "accept"):
            response = await client.post(f"/live/op1/{action}",
                                         data={"csrf_token": csrf, "text": "hello"})
            assert response.status_code == 403, action
        session = client.cookies[SESSION_COOKIE]
        for path in ("/live/events", "/live/op1/events"):
            async with EventStream(app, path, session) as stream:
                await asyncio.sleep(0)
            assert stream.status == 403, path
        # the operator never counted as a supervisor on the board
        assert await supervisors_present(redis) == []


async def test_supervisors_and_admins_see_the_board_with_its_nav_link(
        database_url: str, redis_url: str, accounts: None) -> None:
    async with live_console(database_url, redis_url) as (_app, client):
        for name in ("sam", "ada"):
            await sign_in(client, name)
            assert 'href="/live"' in (await client.get("/calls")).text
            board = await client.get("/live")
            assert board.status_code == 200
            assert 'src="/static/live.js"' in board.text
            assert "connect-src 'self'" in board.headers["content-security-policy"]
            await client.post("/logout", data={"csrf_token": csrf_from(board.text)})


async def test_commands_need_the_session_csrf_token(database_url: str, redis_url: str,
                                                    redis: aioredis.Redis,
                                                    accounts: None) -> None:
    async with live_console(database_url, redis_url) as (_app, client), \
            live_call(redis, "cs1"):
        await sign_in(client, "sam")
        for data in ({}, {"csrf_token": "not-the-token"}):
            response = await client.post("/live/cs1/take-over", data=data)
            assert response.status_code == 403
            assert "security token" in response.text
        wrong_header = await client.post("/live/cs1/take-over",
                                         headers={"x-csrf-token": "nope"})
        assert wrong_header.status_code == 403


async def test_a_command_for_a_call_not_in_progress_gets_a_clear_refusal(
        database_url: str, redis_url: str, accounts: None) -> None:
    async with live_console(database_url, redis_url) as (_app, client):
        await sign_in(client, "sam")
        csrf = await _csrf(client)
        refused = await client.post("/live/gone1/take-over", data={"csrf_token": csrf},
                                    headers={"accept": "application/json"})
        assert refused.status_code == 409
        assert refused.json() == {"ok": False, "action": "take_over", "reason": "call_ended",
                                  "message": "This call has ended."}
        # a plain form post comes back to the page, which says why
        plain = await client.post("/live/gone1/take-over", data={"csrf_token": csrf})
        assert plain.status_code == 303
        assert plain.headers["location"] == "/live/gone1?refused=call_ended"
        page = await client.get(plain.headers["location"])
        assert page.status_code == 404
        assert "This call has ended." in page.text
        empty = await client.post("/live/gone1/whisper", data={"csrf_token": csrf, "text": " "},
                                  headers={"accept": "application/json"})
        assert empty.status_code == 422 and empty.json()["message"] == "Type the guidance first."


async def _fake_worker(redis: aioredis.Redis, call_id: str,
                       received: list[SupervisionCommand], subscribed: asyncio.Event) -> None:
    """The worker's side of the channel, as agent.supervision speaks it: take-over once, then
    refuse a second."""
    pubsub = redis.pubsub()
    await pubsub.subscribe(command_channel(call_id))
    subscribed.set()
    try:
        async for message in pubsub.listen():
            if message["type"] != "message":
                continue
            command = CommandSerializer.decode_command(message["data"])
            received.append(command)
            taken = [c for c in received if c.action == "take_over"]
            reply = (CommandReply(ok=False, reason="already_supervised",
                                  message=f"{taken[0].by} has already taken this call over.")
                     if command.action == "take_over" and len(taken) > 1
                     else CommandReply(ok=True, data={"room": f"call-{call_id}"}))
            await redis.lpush(reply_key(command.command_id), CommandSerializer.encode_reply(reply))
    finally:
        await pubsub.aclose()


async def test_commands_reach_the_worker_as_the_signed_in_account(
        database_url: str, redis_url: str, redis: aioredis.Redis, accounts: None) -> None:
    received: list[SupervisionCommand] = []
    async with live_console(database_url, redis_url) as (_app, client), \
            live_call(redis, "w1"):
        subscribed = asyncio.Event()
        worker = asyncio.create_task(_fake_worker(redis, "w1", received, subscribed))
        try:
            await asyncio.wait_for(subscribed.wait(), 5)
            await sign_in(client, "sam")
            csrf = await _csrf(client)
            json_accept = {"accept": "application/json"}
            whisper = await client.post("/live/w1/whisper", headers=json_accept, data={
                "csrf_token": csrf, "text": "  Offer Thursday morning.  "})
            assert whisper.status_code == 200
            assert whisper.json() == {"ok": True, "action": "whisper",
                                      "message": "Whisper sent to the agent.",
                                      "data": {"room": "call-w1"}}
            take = await client.post("/live/w1/take-over", headers=json_accept,
                                     data={"csrf_token": csrf})
            assert take.status_code == 200 and take.json()["ok"] is True
            again = await client.post("/live/w1/take-over", headers=json_accept,
                                      data={"csrf_token": csrf})
            assert again.status_code == 409
            assert again.json()["message"] == "sam has already taken this call over."
            plain = await client.post("/live/w1/hand-back", data={"csrf_token": csrf})
            assert plain.headers["location"] == "/live/w1?done=hand_back"
            assert "Handed back to the agent." in (await client.get(plain.headers["location"])).text
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
    assert [(c.action, c.by, c.text) for c in received] == [
        ("whisper", "sam", "Offer Thursday morning."), ("take_over", "sam", None),
        ("take_over", "sam", None), ("hand_back", "sam", None)]


async def test_the_board_stream_pushes_updates_while_the_supervisor_is_present(
        database_url: str, redis_url: str, redis: aioredis.Redis, accounts: None) -> None:
    async with live_console(database_url, redis_url) as (app, client), \
            live_call(redis, "b1"):
        await sign_in(client, "sam")
        async with EventStream(app, "/live/events", client.cookies[SESSION_COOKIE]) as stream:
            _, first, _ = await stream.next("board")
            assert stream.status == 200 and stream.content_type.startswith("text/event-stream")
            assert [c["call_id"] for c in first["calls"]] == ["b1"]
            assert first["calls"][0]["stage"] == "active" and first["present"] == ["sam"]
            assert await supervisors_present(redis) == ["sam"]
            await redis.hset(call_key("b1"), mapping={
                "board": json.dumps({"stage": "ringing", "missing_fields": ["phone"],
                                     "escalation_flags": ["caller_asked_for_person"],
                                     "ringing": {"reason": "human_request"}}),
                "monitoring": json.dumps(["ada"])})
            _, second, _ = await stream.next("board")
            call = second["calls"][0]
            assert call["stage"] == "ringing" and call["ringing"] == {"reason": "human_request"}
            assert call["escalation_flags"] == ["caller_asked_for_person"]
            assert call["missing_fields"] == ["phone"] and call["monitoring"] == ["ada"]
        # the page went away: the supervisor is no longer on the board
        assert await supervisors_present(redis) == []


async def test_the_call_stream_sends_turns_and_the_checklist_and_ends_with_the_call(
        database_url: str, redis_url: str, redis: aioredis.Redis, accounts: None) -> None:
    async with live_console(database_url, redis_url) as (app, client):
        await sign_in(client, "sam")
        session = client.cookies[SESSION_COOKIE]
        recorder = await open_call(redis, "f1")
        try:
            page = await client.get("/live/f1")
            assert page.status_code == 200
            assert 'data-field="phone"' in page.text and 'id="take-over"' in page.text
            await recorder.record(TURN, {"role": "caller", "text": "my <b>water</b> heater"})
            async with EventStream(app, "/live/f1/events", session) as stream:
                turn, first_id = await stream.feed("turn")
                assert turn["payload"]["text"] == "my <b>water</b> heater"
                _, state, _ = await stream.next("call")
                assert state["call_id"] == "f1" and state["test_call"] is True
                assert await supervisors_present(redis) == ["sam"]
                await recorder.record(SLOT_CHANGED, {"field": "problem", "change": "recorded",
                                                     "value": "water heater",
                                                     "confirmed": False, "source_turn": 1})
                slot, _ = await stream.feed("slot_changed")
                assert slot["payload"]["value"] == "water heater"
                await recorder.record(TURN, {"role": "agent", "text": "Where is it?"})
                reply, _ = await stream.feed("turn")
                assert reply["payload"]["text"] == "Where is it?"
            # a reconnect resumes after the last entry it saw
            assert first_id is not None
            async with EventStream(app, "/live/f1/events", session,
                                   last_event_id=first_id) as resumed:
                _, after, _ = await resumed.next("feed")
                assert after["kind"] == "slot_changed"  # not the turn before it again
        finally:
            await recorder.finish({})
            await recorder.aclose()
        async with EventStream(app, "/live/f1/events", session) as ended:
            await ended.next("ended")
            async with asyncio.timeout(5):
                while not ended.finished:  # noqa: ASYNC110 (the app task sends the end)
                    await asyncio.sleep(0.01)
        assert await supervisors_present(redis) == []


async def test_live_pages_without_redis_say_what_is_missing(database_url: str,
                                                            accounts: None) -> None:
    async with live_console(database_url, None) as (_app, client):
        await sign_in(client, "sam")
        response = await client.get("/live")
        assert response.status_code == 503
        assert "INTAKE_REDIS_URL" in response.text
        # the rest of the console works
        assert (await client.get("/calls")).status_code == 200


async def test_test_calls_are_kept_out_of_the_overview_figures(database_url: str) -> None:
    started = datetime.now(UTC) - timedelta(hours=1)
    real, test = uuid.uuid4().hex, uuid.uuid4().hex
    await seed_call(database_url, real, started=started)
    await seed_call(database_url, test, started=started, escalation="pricing")
    pool = await create_pool(database_url, max_size=2)
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE calls SET metadata = metadata || '{\"test_call\": true}' "
                "WHERE call_id = $1", test)
            metadata = json.loads(await conn.fetchval(
                "SELECT metadata::text FROM calls WHERE call_id = $1", test))
        assert is_test_call(metadata)  # marked the way the supervision package reads it
        queries = ConsoleQueries(pool)
        figures = await queries.overview(started - timedelta(days=1),
                                         started + timedelta(days=1), "UTC")
        assert figures["totals"]["calls"] == 1
        assert figures["totals"]["escalated"] == 0 and figures["escalations"] == []
        assert sum(d["calls"] for d in figures["days"]) == 1
        assert dict(figures["missing_fields"])["phone"] == 1
        # the calls list still shows both
        rows, _ = await queries.list_page(CallFilter(), limit=10)
        assert {r["call_id"] for r in rows} == {real, test}
    finally:
        await pool.close()
