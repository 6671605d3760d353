"""X-Twilio-Signature checking for every Twilio webhook we serve (status callbacks and the like).

Twilio signs each webhook with the account's auth token over the full URL it requested plus the
POST parameters (or, for JSON bodies, a `bodySHA256` query parameter). `twilio`'s own
`RequestValidator` does the cryptography; this module adapts it to aiohttp. Behind a proxy or
tunnel the URL Twilio used differs from what aiohttp sees, so `public_base_url` names it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from pydantic import SecretStr

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class TwilioSignatureValidator:
    def __init__(self, auth_token: SecretStr, *, public_base_url: str | None = None) -> None:
        from twilio.request_validator import RequestValidator

        self._validator: Any = RequestValidator(auth_token.get_secret_value())
        self._public_base_url = public_base_url.rstrip("/") if public_base_url else None

    def url_for(self, request: web.Request) -> str:
        """The URL Twilio signed: the public base (when set) plus the path and query."""
        if self._public_base_url:
            return self._public_base_url + request.path_qs
        return str(request.url)

    async def is_valid(self, request: web.Request) -> bool:
        signature = request.headers.get(SIGNATURE_HEADER, "")
        if not signature:
            return False
        params: Mapping[str, str] | str
        if request.content_type == "application/x-www-form-urlencoded":
            posted = await request.post()
            params = {key: str(value) for key, value in posted.items()}
        elif request.can_read_body:
            # JSON webhooks: Twilio signs the URL (which carries bodySHA256) and the raw body
            params = await request.text()
        else:
            params = {}
        return bool(self._validator.validate(self.url_for(request), params, signature))


def twilio_signature_middleware(
    auth_token: SecretStr, *, public_base_url: str | None = None,
    protect: Callable[[web.Request], bool] = lambda request: True,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """aiohttp middleware: requests that `protect` selects need a valid signature, else 403."""
    validator = TwilioSignatureValidator(auth_token, public_base_url=public_base_url)

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if protect(request) and not await validator.is_valid(request):
            logger.warning("twilio webhook rejected: bad or missing signature",
                           extra={"path": request.path})
            return web.json_response({"error": "invalid Twilio signature"}, status=403)
        return await handler(request)

    return middleware


def require_twilio_signature(validator: TwilioSignatureValidator) -> Callable[[Handler], Handler]:
    """Decorator for a single handler, when the rest of the app needs no signature."""

    def wrap(handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if not await validator.is_valid(request):
                logger.warning("twilio webhook rejected: bad or missing signature",
                               extra={"path": request.path})
                return web.json_response({"error": "invalid Twilio signature"}, status=403)
            return await handler(request)
        return checked

    return wrap
