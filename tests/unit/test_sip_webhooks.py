"""X-Twilio-Signature: valid signatures pass, anything else is a 403 before the handler runs."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from sip.webhooks import (
    TwilioSignatureValidator,
    require_twilio_signature,
    twilio_signature_middleware,
)

pytestmark = pytest.mark.unit

TOKEN = "webhook-test-auth-token"
PUBLIC = "https://intake.example.test"
HANDLED = web.AppKey("handled", list[dict[str, str]])
FORM = {"CallSid": "CA" + "1" * 32, "CallStatus": "completed", "From": "+15550100001"}


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    handled: list[dict[str, str]] = []

    async def status(request: web.Request) -> web.Response:
        handled.append({k: str(v) for k, v in (await request.post()).items()})
        return web.Response(text="ok")

    async def health(request: web.Request) -> web.Response:
        return web.Response(text="up")

    app = web.Application(middlewares=[twilio_signature_middleware(
        SecretStr(TOKEN), public_base_url=PUBLIC,
        protect=lambda request: request.path.startswith("/twilio/"))])
    app.router.add_post("/twilio/status", status)
    app.router.add_get("/health", health)
    app[HANDLED] = handled
    async with TestClient(TestServer(app)) as test_client:
        yield test_client


def _sign(path: str, form: dict[str, str], token: str = TOKEN) -> str:
    return str(RequestValidator(token).compute_signature(PUBLIC + path, form))


async def test_valid_signature_reaches_the_handler(
        client: TestClient[web.Request, web.Application]) -> None:
    response = await client.post("/twilio/status?attempt=1", data=FORM, headers={
        "X-Twilio-Signature": _sign("/twilio/status?attempt=1", FORM)})
    assert response.status == 200
    assert client.app is not None
    assert client.app[HANDLED] == [FORM]


@pytest.mark.parametrize("headers", [
    {},
    {"X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl"},
    {"X-Twilio-Signature": _sign("/twilio/status", FORM, token="another-token")},
    {"X-Twilio-Signature": _sign("/twilio/other", FORM)},
])
async def test_bad_or_missing_signature_is_403(
        client: TestClient[web.Request, web.Application], headers: dict[str, str]) -> None:
    response = await client.post("/twilio/status", data=FORM, headers=headers)
    assert response.status == 403
    assert await response.json() == {"error": "invalid Twilio signature"}
    assert client.app is not None
    assert client.app[HANDLED] == []


async def test_tampered_body_is_403(client: TestClient[web.Request, web.Application]) -> None:
    signature = _sign("/twilio/status", FORM)
    response = await client.post("/twilio/status", data={**FORM, "CallStatus": "busy"},
                                 headers={"X-Twilio-Signature": signature})
    assert response.status == 403


async def test_unprotected_paths_need_no_signature(
        client: TestClient[web.Request, web.Application]) -> None:
    response = await client.get("/health")
    assert response.status == 200


async def test_decorator_form_for_a_single_handler() -> None:
    validator = TwilioSignatureValidator(SecretStr(TOKEN), public_base_url=PUBLIC)

    @require_twilio_signature(validator)
    async def status(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/cb", status)
    async with TestClient(TestServer(app)) as test_client:
        good = await test_client.post("/cb", data=FORM,
                                      headers={"X-Twilio-Signature": _sign("/cb", FORM)})
        bad = await test_client.post("/cb", data=FORM)
    assert (good.status, bad.status) == (200, 403)
