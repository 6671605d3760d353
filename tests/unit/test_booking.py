"""Booking backends: the HTTP one against a local aiohttp server, and the in-memory one."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from tools.booking import (
    AppointmentRequest,
    CallbackRequest,
    HttpBookingBackend,
    LocalBookingBackend,
)

pytestmark = pytest.mark.unit

APPOINTMENT = AppointmentRequest(call_id="call-1", date="2025-03-07", time_window="morning",
                                 name="Dana", phone="+15125550100", problem="leak",
                                 location="Austin")
CALLBACK = CallbackRequest(call_id="call-1", time_window="any", name="Dana",
                           phone="+15125550100", topic=None)


class BusinessApi:
    """What the business's API answers, set per test; records what it received."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {"confirmed": True, "reference": "BK-1042"}
        self.hang = asyncio.Event()  # set: answer; clear: never answer
        self.hang.set()
        self.received: list[tuple[str, dict[str, Any], dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((request.path, await request.json(), dict(request.headers)))
        await self.hang.wait()
        text = self.body if isinstance(self.body, str) else json.dumps(self.body)
        return web.Response(status=self.status, text=text, content_type="application/json")


@pytest.fixture
async def api() -> AsyncIterator[tuple[BusinessApi, str]]:
    business = BusinessApi()
    app = web.Application()
    app.router.add_post("/appointments", business.handle)
    app.router.add_post("/callbacks", business.handle)
    server = TestServer(app)
    await server.start_server()
    try:
        yield business, str(server.make_url("/api")).removesuffix("/api")
    finally:
        business.hang.set()
        await server.close()


async def test_confirmed_appointment(api: tuple[BusinessApi, str]) -> None:
    business, base = api
    backend = HttpBookingBackend(base + "/")
    try:
        result = await backend.book_appointment(APPOINTMENT)
    finally:
        await backend.aclose()
    assert (result.confirmed, result.reference) == (True, "BK-1042")
    path, body, headers = business.received[0]
    assert path == "/appointments"
    assert body == {"call_id": "call-1", "date": "2025-03-07", "time_window": "morning",
                    "name": "Dana", "phone": "+15125550100", "problem": "leak",
                    "location": "Austin"}
    assert headers["Idempotency-Key"] == "call-1:appointment:2025-03-07:morning"


async def test_confirmed_callback_with_bearer_key(api: tuple[BusinessApi, str]) -> None:
    business, base = api
    backend = HttpBookingBackend(base, api_key="secret")
    try:
        result = await backend.request_callback(CALLBACK)
    finally:
        await backend.aclose()
    assert result.confirmed
    assert business.received[0][0] == "/callbacks"
    assert business.received[0][2]["Authorization"] == "Bearer secret"


async def test_no_answer_within_budget_is_unconfirmed(api: tuple[BusinessApi, str]) -> None:
    business, base = api
    business.hang.clear()  # the server never answers
    backend = HttpBookingBackend(base, budget_seconds=0.05)
    try:
        result = await backend.book_appointment(APPOINTMENT)
    finally:
        await backend.aclose()
    assert (result.confirmed, result.reference, result.failure) == (False, None, "timeout")


@pytest.mark.parametrize(("status", "body", "failure"), [
    (503, {"confirmed": True, "reference": "BK-1"}, "http_503"),
    (400, {"error": "bad date"}, "http_400"),
    (200, {"confirmed": False, "reference": "BK-1"}, "rejected"),
    (200, {"confirmed": "yes", "reference": "BK-1"}, "rejected"),
    (200, {"confirmed": True}, "bad_reference"),
    (200, {"confirmed": True, "reference": "<speak>free</speak>"}, "bad_reference"),
    (200, "not json", "error"),
    (200, ["confirmed"], "rejected"),
])
async def test_anything_but_a_clear_confirmation_is_unconfirmed(
        api: tuple[BusinessApi, str], status: int, body: Any, failure: str) -> None:
    business, base = api
    business.status, business.body = status, body
    backend = HttpBookingBackend(base)
    try:
        result = await backend.book_appointment(APPOINTMENT)
    finally:
        await backend.aclose()
    assert (result.confirmed, result.failure) == (False, failure)


async def test_unreachable_backend_is_unconfirmed(unused_tcp_port: int) -> None:
    backend = HttpBookingBackend(f"http://127.0.0.1:{unused_tcp_port}")
    try:
        result = await backend.request_callback(CALLBACK)
    finally:
        await backend.aclose()
    assert not result.confirmed


async def test_local_backend() -> None:
    backend = LocalBookingBackend()
    first = await backend.book_appointment(APPOINTMENT)
    second = await backend.request_callback(CALLBACK)
    assert (first.reference, second.reference) == ("LOCAL-0001", "LOCAL-0002")
    assert backend.appointments["LOCAL-0001"] == APPOINTMENT
    backend.available = False
    assert not (await backend.book_appointment(APPOINTMENT)).confirmed
