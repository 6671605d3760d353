"""A local server that speaks Twilio's REST API for the resources `intake provision` uses.

Served: the Account fetch and IncomingPhoneNumbers lookup (2010-04-01 API) and Elastic SIP
Trunking v1 Trunks, OriginationUrls and PhoneNumbers. Requests need HTTP Basic auth with the
account SID and auth token (401 with Twilio's JSON error otherwise); bodies are form-encoded;
responses are Twilio's JSON. Every request is recorded (method, path, query, form) so tests can
assert exactly what went over the wire.

Where Twilio's public reference is silent the simulator picks the simple behaviour and says so:
associating a number that is on another trunk moves it; deleting a trunk frees its numbers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import itertools
import re
import threading
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from twilio_simulator.requests import (
    InjectedFailure,
    RecordedRequest,
    TwilioApiError,
    form_bool,
)
from twilio_simulator.resources import (
    API_VERSION,
    Account,
    IncomingNumber,
    OriginationUrl,
    Trunk,
    error_body,
    v1_page,
    v2010_page,
)
from twilio_simulator.trunk_children import TrunkChildRoutes

DEFAULT_ACCOUNT_SID = "AC" + "5" * 32
DEFAULT_AUTH_TOKEN = "simulated-auth-token-0123456789ab"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_FORM = web.RequestKey("twilio_simulator_form", dict[str, str])


class TwilioSimulator(TrunkChildRoutes):
    """The server and its account state. Start it with `start()` (same loop) or `running()`."""

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID,
                 auth_token: str = DEFAULT_AUTH_TOKEN) -> None:
        self.account = Account(sid=account_sid, auth_token=auth_token)
        self.requests: list[RecordedRequest] = []
        self.trunks: dict[str, Trunk] = {}
        self.origination_urls: dict[str, OriginationUrl] = {}
        self.numbers: dict[str, IncomingNumber] = {}
        self._counters: dict[str, Iterator[int]] = {}
        self._failures: list[InjectedFailure] = []
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.app = self._build_app()

    # ---- state set-up and inspection for tests ----

    def _sid(self, prefix: str) -> str:
        counter = self._counters.setdefault(prefix, itertools.count(1))
        return f"{prefix}{next(counter):032x}"

    def add_phone_number(self, e164: str) -> str:
        """Put a number in the account (as if bought); returns its PN SID."""
        number = IncomingNumber(sid=self._sid("PN"), account_sid=self.account.sid,
                                phone_number=e164)
        self.numbers[number.sid] = number
        return number.sid

    def number_by_e164(self, e164: str) -> IncomingNumber | None:
        return next((n for n in self.numbers.values() if n.phone_number == e164), None)

    def fail_next(self, method: str, path_pattern: str, *, status: int = 500,
                  code: int = 20500, message: str = "Internal Server Error",
                  times: int = 1) -> None:
        """Make the next `times` matching requests fail (after they are recorded)."""
        self._failures.append(InjectedFailure(method.upper(), re.compile(path_pattern),
                                               status, code, message, times))

    def clear_requests(self) -> None:
        self.requests.clear()

    @property
    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method != "GET"]

    # ---- lifecycle ----

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        bound_port = sockets[0].getsockname()[1] if sockets else port
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @contextlib.contextmanager
    def running(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve from a background thread with its own loop (for blocking clients, subprocesses)."""
        loop = asyncio.new_event_loop()
        started = threading.Event()
        errors: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start(host, port))
            except BaseException as exc:  # reported to the caller below
                errors.append(exc)
                started.set()
                return
            started.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=serve, name="twilio-simulator", daemon=True)
        thread.start()
        started.wait(10)
        if errors:
            raise errors[0]
        try:
            yield self.base_url
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)

    # ---- HTTP ----

    def _build_app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        acct = f"/{API_VERSION}/Accounts/{{account}}"
        app.router.add_get(acct + ".json", self._fetch_account)
        app.router.add_get(acct + "/IncomingPhoneNumbers.json", self._list_incoming)
        app.router.add_get(acct + "/IncomingPhoneNumbers/{sid}.json", self._fetch_incoming)
        app.router.add_get("/v1/Trunks", self._list_trunks)
        app.router.add_post("/v1/Trunks", self._create_trunk)
        app.router.add_get("/v1/Trunks/{trunk}", self._fetch_trunk)
        app.router.add_post("/v1/Trunks/{trunk}", self._update_trunk)
        app.router.add_delete("/v1/Trunks/{trunk}", self._delete_trunk)
        app.router.add_get("/v1/Trunks/{trunk}/OriginationUrls", self._list_urls)
        app.router.add_post("/v1/Trunks/{trunk}/OriginationUrls", self._create_url)
        app.router.add_get("/v1/Trunks/{trunk}/OriginationUrls/{sid}", self._fetch_url)
        app.router.add_post("/v1/Trunks/{trunk}/OriginationUrls/{sid}", self._update_url)
        app.router.add_delete("/v1/Trunks/{trunk}/OriginationUrls/{sid}", self._delete_url)
        app.router.add_get("/v1/Trunks/{trunk}/PhoneNumbers", self._list_trunk_numbers)
        app.router.add_post("/v1/Trunks/{trunk}/PhoneNumbers", self._associate_number)
        app.router.add_get("/v1/Trunks/{trunk}/PhoneNumbers/{sid}", self._fetch_trunk_number)
        app.router.add_delete("/v1/Trunks/{trunk}/PhoneNumbers/{sid}", self._remove_number)
        return app

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account.sid and password == self.account.auth_token

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        form: tuple[tuple[str, str], ...] = ()
        if request.method in ("POST", "PUT") and request.content_type == \
                "application/x-www-form-urlencoded":
            posted = await request.post()
            form = tuple((k, str(v)) for k, v in posted.items())
        authorized = self._authorized(request)
        request[_FORM] = dict(form)
        self.requests.append(RecordedRequest(
            method=request.method, path=request.path,
            query=tuple((k, v) for k, v in request.query.items()), form=form,
            authorized=authorized))
        if not authorized:
            return web.json_response(
                error_body(401, 20003, "Authenticate"), status=401,
                headers={"WWW-Authenticate": 'Basic realm="Twilio API"'})
        for failure in self._failures:
            if failure.remaining > 0 and failure.method == request.method and \
                    failure.pattern.search(request.path):
                failure.remaining -= 1
                return web.json_response(error_body(failure.status, failure.code,
                                                    failure.message), status=failure.status)
        try:
            return await handler(request)
        except TwilioApiError as exc:
            return web.json_response(error_body(exc.status, exc.code, exc.message),
                                     status=exc.status)
        except web.HTTPNotFound:
            return self._not_found(request)
        except web.HTTPMethodNotAllowed:
            return web.json_response(
                error_body(405, 20004, "Method not allowed"), status=405)

    def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response(
            error_body(404, 20404, f"The requested resource {request.path} was not found"),
            status=404)

    def _form(self, request: web.Request) -> dict[str, str]:
        return request[_FORM]

    def _check_account(self, request: web.Request) -> None:
        if request.match_info["account"] != self.account.sid:
            raise web.HTTPNotFound()

    def _trunk(self, request: web.Request) -> Trunk:
        trunk = self.trunks.get(request.match_info["trunk"])
        if trunk is None:
            raise web.HTTPNotFound()
        return trunk

    # 2010-04-01

    async def _fetch_account(self, request: web.Request) -> web.Response:
        self._check_account(request)
        return web.json_response(self.account.to_json())

    async def _list_incoming(self, request: web.Request) -> web.Response:
        self._check_account(request)
        query = dict(request.query)
        items = list(self.numbers.values())
        if "PhoneNumber" in query:
            items = [n for n in items if n.phone_number == query["PhoneNumber"]]
        if "FriendlyName" in query:
            items = [n for n in items if query["FriendlyName"] in n.phone_number]
        return web.json_response(v2010_page([n.to_json() for n in items],
                                            "incoming_phone_numbers", request.path, query))

    async def _fetch_incoming(self, request: web.Request) -> web.Response:
        self._check_account(request)
        number = self.numbers.get(request.match_info["sid"])
        if number is None:
            raise web.HTTPNotFound()
        return web.json_response(number.to_json())

    # Trunking v1: trunks

    async def _list_trunks(self, request: web.Request) -> web.Response:
        return web.json_response(v1_page([t.to_json() for t in self.trunks.values()],
                                         "trunks", request.path, dict(request.query)))

    async def _create_trunk(self, request: web.Request) -> web.Response:
        form = self._form(request)
        trunk = Trunk(sid=self._sid("TK"), account_sid=self.account.sid,
                      friendly_name=form.get("FriendlyName"))
        self._apply_trunk_form(trunk, form)
        self.trunks[trunk.sid] = trunk
        return web.json_response(trunk.to_json(), status=201)

    def _apply_trunk_form(self, trunk: Trunk, form: dict[str, str]) -> None:
        if "FriendlyName" in form:
            trunk.friendly_name = form["FriendlyName"]
        secure = form_bool(form, "Secure")
        if secure is not None:
            trunk.secure = secure
        cnam = form_bool(form, "CnamLookupEnabled")
        if cnam is not None:
            trunk.cnam_lookup_enabled = cnam
        if "DomainName" in form:
            if not form["DomainName"].endswith("pstn.twilio.com"):
                raise TwilioApiError(400, 21245, "DomainName must end with pstn.twilio.com")
            trunk.domain_name = form["DomainName"]
        if "DisasterRecoveryUrl" in form:
            trunk.disaster_recovery_url = form["DisasterRecoveryUrl"]
        if "DisasterRecoveryMethod" in form:
            trunk.disaster_recovery_method = form["DisasterRecoveryMethod"]
        if "TransferMode" in form:
            trunk.transfer_mode = form["TransferMode"]
        if "TransferCallerId" in form:
            trunk.transfer_caller_id = form["TransferCallerId"]
        trunk.updated = datetime.now(UTC)

    async def _fetch_trunk(self, request: web.Request) -> web.Response:
        return web.json_response(self._trunk(request).to_json())

    async def _update_trunk(self, request: web.Request) -> web.Response:
        trunk = self._trunk(request)
        self._apply_trunk_form(trunk, self._form(request))
        return web.json_response(trunk.to_json())

    async def _delete_trunk(self, request: web.Request) -> web.Response:
        trunk = self._trunk(request)
        del self.trunks[trunk.sid]
        for sid in [s for s, u in self.origination_urls.items() if u.trunk_sid == trunk.sid]:
            del self.origination_urls[sid]
        for number in self.numbers.values():
            if number.trunk_sid == trunk.sid:
                number.trunk_sid = None
        return web.Response(status=204)

    def snapshot(self) -> dict[str, Any]:
        """The account's trunking state, for assertions."""
        return {
            "trunks": {s: t.to_json() for s, t in self.trunks.items()},
            "origination_urls": {s: u.to_json() for s, u in self.origination_urls.items()},
            "numbers": {n.phone_number: n.trunk_sid for n in self.numbers.values()},
        }
