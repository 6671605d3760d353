"""The console's one gate (pure ASGI middleware, in front of every route):

- security headers on every response (CSP with no inline script, frame-ancestors 'none');
- the session: resolved from its cookie into `scope["console_user"]`; no session, no page
  (sign-in and static files excepted);
- CSRF on every state-changing request: the form field `csrf_token` (or header X-CSRF-Token)
  must equal the session's token; sign-in, which has no session yet, checks a double-submit
  cookie instead. Missing or wrong: 403, and the request never reaches a view;
- an access log with no query strings (searches hold caller numbers) and no bodies.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, quote

from starlette.requests import Request

from dashboard.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE, SessionManager
from state.postgres_record import PG_UNAVAILABLE

logger = logging.getLogger("dashboard.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = frozenset({"/login", "/healthz"})
MAX_FORM_BYTES = 256 * 1024
STORE_DOWN = ("The call record store is not reachable right now. Nothing was changed; "
              "try again in a moment.")
# connect-src: the live pages' server-sent events and command POSTs (same origin only)
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class ConsoleGuard:
    def __init__(self, app: ASGIApp, sessions: Callable[[], SessionManager]) -> None:
        self.app = app
        self._sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_seen: list[int] = []

        async def send_secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(int(message["status"]))
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in names]
                if b"cache-control" not in names and not scope["path"].startswith("/static/"):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        user = None
        try:
            user = await self._handle(scope, receive, send_secured)
        finally:
            logger.info("console request", extra={
                "method": scope["method"], "path": scope["path"],
                "status": status_seen[0] if status_seen else None,
                "user": user, "duration_ms": round((time.perf_counter() - started) * 1000, 2)})

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> str | None:
        request = Request(scope)
        path: str = scope["path"]
        public = path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
        try:
            user = await self._sessions().resolve(request.cookies.get(SESSION_COOKIE))
        except PG_UNAVAILABLE:
            logger.warning("console: record store unreachable")
            await _plain(send, 503, STORE_DOWN, [(b"retry-after", b"5")])
            return None
        scope["console_user"] = user
        if user is None and not public:
            if scope["method"] in SAFE_METHODS and "text/html" in request.headers.get(
                    "accept", "text/html"):
                target = path + (f"?{scope['query_string'].decode()}"
                                 if scope.get("query_string") else "")
                await _plain(send, 303, "Sign in first.",
                             [(b"location", f"/login?next={quote(target, safe='')}".encode())])
            else:
                await _plain(send, 401, "Sign in first.")
            return None
        if scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return user.name if user else None
        body = await _read_body(receive)
        if body is None:
            await _plain(send, 413, "Request too large.")
            return user.name if user else None
        # sign-in has no session yet: it checks its double-submit cookie
        expected = (request.cookies.get(LOGIN_CSRF_COOKIE, "") if path == "/login"
                    else user.csrf_token if user is not None else "")
        if not expected or not _token_matches(request, body, expected):
            await _plain(send, 403, "Forbidden: the form's security token is missing or "
                         "wrong. Reload the page and try again.")
            return user.name if user else None
        await self.app(scope, _replay(body, receive), send)
        return user.name if user else None


def _token_matches(request: Request, body: bytes, expected: str) -> bool:
    sent = request.headers.get("x-csrf-token")
    if sent is None:
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/x-www-form-urlencoded":
            return False
        try:
            values = parse_qs(body.decode("utf-8"), max_num_fields=200).get("csrf_token", [])
        except (UnicodeDecodeError, ValueError):
            return False
        sent = values[0] if len(values) == 1 else None
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode())


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, upstream: Receive) -> Receive:
    """The body already read, then whatever the client does next (a disconnect)."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await upstream()

    return receive


async def _plain(send: Send, status: int, text: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})
