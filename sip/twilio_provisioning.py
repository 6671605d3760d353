"""Twilio's side of the front door: an Elastic SIP trunk that sends our numbers to livekit-sip.

`TrunkProvider` is the one seam to Twilio; `TwilioTrunkProvider` implements it with the official
`twilio` client (REST, form-encoded requests, JSON responses). `plan_twilio` diffs the account
against the settings: trunk (found by friendly name, secure trunking flag), its origination URL
(livekit-sip's SIP URI with priority and weight), and which trunk each configured number is on.

The client is built by `twilio_client`; with TWILIO_API_BASE set (tests, the local stack) only its
HTTP layer is redirected to that base URL, so the same resource code talks to the simulator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sip.config import SipSettings, TwilioCredentials
from sip.plan import (
    Change,
    FieldChange,
    ProvisioningError,
    ProvisioningPlan,
    Step,
    Undo,
    created_fields,
    value_diff,
)
from sip.redaction import redact

SIDE = "twilio"
T = TypeVar("T")

# The twilio library logs every request URL at INFO; lookups carry phone numbers in the query.
_HTTP_LOGGER = logging.getLogger("sip.twilio_http")
_HTTP_LOGGER.setLevel(logging.WARNING)


@dataclass(frozen=True)
class TwilioTrunk:
    sid: str
    friendly_name: str
    secure: bool


@dataclass(frozen=True)
class OriginationUrl:
    sip_url: str
    priority: int
    weight: int
    enabled: bool
    friendly_name: str
    sid: str = ""


@dataclass(frozen=True)
class PhoneNumber:
    sid: str
    phone_number: str
    trunk_sid: str | None


class TrunkProvider(Protocol):
    """A Twilio account's Elastic SIP trunks and phone numbers."""

    async def verify_credentials(self) -> None: ...
    async def list_trunks(self) -> list[TwilioTrunk]: ...
    async def create_trunk(self, friendly_name: str, secure: bool) -> TwilioTrunk: ...
    async def update_trunk(self, trunk_sid: str, secure: bool) -> TwilioTrunk: ...
    async def delete_trunk(self, trunk_sid: str) -> None: ...
    async def list_origination_urls(self, trunk_sid: str) -> list[OriginationUrl]: ...
    async def create_origination_url(self, trunk_sid: str,
                                     url: OriginationUrl) -> OriginationUrl: ...
    async def update_origination_url(self, trunk_sid: str, url_sid: str,
                                     url: OriginationUrl) -> OriginationUrl: ...
    async def delete_origination_url(self, trunk_sid: str, url_sid: str) -> None: ...
    async def find_phone_number(self, e164: str) -> PhoneNumber | None: ...
    async def list_trunk_phone_numbers(self, trunk_sid: str) -> list[PhoneNumber]: ...
    async def associate_phone_number(self, trunk_sid: str, number_sid: str) -> None: ...
    async def remove_phone_number(self, trunk_sid: str, number_sid: str) -> None: ...


def desired_origination_url(settings: SipSettings) -> OriginationUrl:
    if not settings.livekit_sip_uri:
        raise ProvisioningError("LIVEKIT_SIP_URI is not set")
    return OriginationUrl(
        sip_url=settings.livekit_sip_uri,
        priority=settings.origination_priority,
        weight=settings.origination_weight,
        enabled=True,
        friendly_name=f"{settings.resource_name} livekit-sip",
    )


def diff_origination_url(actual: OriginationUrl,
                         desired: OriginationUrl) -> tuple[FieldChange, ...]:
    items = (
        value_diff("priority", actual.priority, desired.priority),
        value_diff("weight", actual.weight, desired.weight),
        value_diff("enabled", actual.enabled, desired.enabled),
        value_diff("friendly_name", actual.friendly_name, desired.friendly_name),
    )
    return tuple(item for item in items if item is not None)


async def plan_twilio(provider: TrunkProvider, settings: SipSettings) -> ProvisioningPlan:
    """Check the credentials, read the account and diff it. Reads only (GET requests)."""
    await provider.verify_credentials()
    plan = ProvisioningPlan(sides=[SIDE])
    ids: dict[str, str] = {}
    name = settings.twilio_trunk_name
    mine = [t for t in await provider.list_trunks() if t.friendly_name == name]
    if len(mine) > 1:
        raise ProvisioningError(
            f"Twilio has {len(mine)} SIP trunks named {name!r}; delete all but one and re-run")
    trunk = mine[0] if mine else None

    numbers: list[PhoneNumber] = []
    for position, e164 in enumerate(settings.phone_numbers, start=1):
        found = await provider.find_phone_number(e164)
        if found is None:
            raise ProvisioningError(
                f"TWILIO_PHONE_NUMBERS entry {position} is not a number in this Twilio account")
        numbers.append(found)

    desired_url = desired_origination_url(settings)
    if trunk is None:
        plan.steps.append(Step(
            Change(SIDE, "create", "SIP trunk", name, created_fields([
                ("secure", settings.secure_trunking)])),
            _create_trunk(provider, name, settings.secure_trunking, ids),
        ))
        plan.steps.append(Step(
            Change(SIDE, "create", "origination URL", desired_url.sip_url, created_fields([
                ("priority", desired_url.priority), ("weight", desired_url.weight),
                ("enabled", desired_url.enabled)])),
            _create_url(provider, desired_url, ids),
        ))
        existing_urls: list[OriginationUrl] = []
        on_trunk: list[PhoneNumber] = []
    else:
        ids["trunk"] = trunk.sid
        secure_change = value_diff("secure", trunk.secure, settings.secure_trunking)
        if secure_change is not None:
            plan.steps.append(Step(
                Change(SIDE, "update", "SIP trunk", name, (secure_change,)),
                _update_trunk(provider, trunk, settings.secure_trunking),
            ))
        existing_urls = await provider.list_origination_urls(trunk.sid)
        on_trunk = await provider.list_trunk_phone_numbers(trunk.sid)
        same = [u for u in existing_urls if u.sip_url == desired_url.sip_url]
        if not same:
            plan.steps.append(Step(
                Change(SIDE, "create", "origination URL", desired_url.sip_url, created_fields([
                    ("priority", desired_url.priority), ("weight", desired_url.weight),
                    ("enabled", desired_url.enabled)])),
                _create_url(provider, desired_url, ids),
            ))
        else:
            changes = diff_origination_url(same[0], desired_url)
            if changes:
                plan.steps.append(Step(
                    Change(SIDE, "update", "origination URL", desired_url.sip_url, changes),
                    _update_url(provider, trunk.sid, same[0], desired_url),
                ))
        for stale in existing_urls:
            if stale.sip_url != desired_url.sip_url or (same and stale.sid != same[0].sid):
                plan.steps.append(Step(
                    Change(SIDE, "delete", "origination URL", stale.sip_url),
                    _delete_url(provider, trunk.sid, stale),
                ))

    trunk_sid = trunk.sid if trunk is not None else None
    for number in numbers:
        if trunk_sid is not None and number.trunk_sid == trunk_sid:
            continue
        moved = (FieldChange("from trunk", number.trunk_sid, name),) if number.trunk_sid else ()
        plan.steps.append(Step(
            Change(SIDE, "create", "phone number association", number.phone_number, moved),
            _associate(provider, number, ids),
        ))
    wanted = {n.sid for n in numbers}
    for extra in on_trunk:
        if extra.sid not in wanted:
            plan.steps.append(Step(
                Change(SIDE, "delete", "phone number association", extra.phone_number),
                _remove_number(provider, trunk_sid or "", extra),
            ))
    return plan


def _create_trunk(provider: TrunkProvider, name: str, secure: bool,
                  ids: dict[str, str]) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        created = await provider.create_trunk(name, secure)
        ids["trunk"] = created.sid

        async def undo() -> None:
            await provider.delete_trunk(created.sid)
        return undo
    return run


def _update_trunk(provider: TrunkProvider, trunk: TwilioTrunk,
                  secure: bool) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        await provider.update_trunk(trunk.sid, secure)

        async def undo() -> None:
            await provider.update_trunk(trunk.sid, trunk.secure)
        return undo
    return run


def _create_url(provider: TrunkProvider, url: OriginationUrl,
                ids: dict[str, str]) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        trunk_sid = ids["trunk"]
        created = await provider.create_origination_url(trunk_sid, url)

        async def undo() -> None:
            await provider.delete_origination_url(trunk_sid, created.sid)
        return undo
    return run


def _update_url(provider: TrunkProvider, trunk_sid: str, current: OriginationUrl,
                desired: OriginationUrl) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        await provider.update_origination_url(trunk_sid, current.sid, desired)

        async def undo() -> None:
            await provider.update_origination_url(trunk_sid, current.sid, current)
        return undo
    return run


def _delete_url(provider: TrunkProvider, trunk_sid: str,
                current: OriginationUrl) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        await provider.delete_origination_url(trunk_sid, current.sid)

        async def undo() -> None:
            await provider.create_origination_url(trunk_sid, current)
        return undo
    return run


def _associate(provider: TrunkProvider, number: PhoneNumber,
               ids: dict[str, str]) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        trunk_sid = ids["trunk"]
        await provider.associate_phone_number(trunk_sid, number.sid)

        async def undo() -> None:
            if number.trunk_sid:
                await provider.associate_phone_number(number.trunk_sid, number.sid)
            else:
                await provider.remove_phone_number(trunk_sid, number.sid)
        return undo
    return run


def _remove_number(provider: TrunkProvider, trunk_sid: str,
                   number: PhoneNumber) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        await provider.remove_phone_number(trunk_sid, number.sid)

        async def undo() -> None:
            await provider.associate_phone_number(trunk_sid, number.sid)
        return undo
    return run


# ---- the twilio library implementation -----------------------------------------------------

def _http_client_class() -> type[Any]:
    from twilio.http.http_client import TwilioHttpClient

    class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
        """Twilio's own HTTP client with scheme and host replaced by one base URL."""

        def __init__(self, base_url: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            parts = urlsplit(base_url)
            self._scheme, self._netloc = parts.scheme, parts.netloc
            self._prefix = parts.path.rstrip("/")

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            parts = urlsplit(url)
            url = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path,
                              parts.query, parts.fragment))
            return super().request(method, url, *args, **kwargs)

    return BaseUrlHttpClient


def twilio_client(credentials: TwilioCredentials, *, timeout: float = 15.0) -> Any:
    """A `twilio.rest.Client` for these credentials (redirected when `api_base` is set)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    if credentials.api_base:
        http_client = _http_client_class()(credentials.api_base, timeout=timeout,
                                           logger=_HTTP_LOGGER)
    else:
        http_client = TwilioHttpClient(timeout=timeout, logger=_HTTP_LOGGER)
    return Client(credentials.account_sid, credentials.auth_token.get_secret_value(),
                  http_client=http_client)


class TwilioTrunkProvider:
    """`TrunkProvider` over the official client; blocking calls run in a worker thread."""

    def __init__(self, credentials: TwilioCredentials, client: Any | None = None) -> None:
        self._credentials = credentials
        self._client = client if client is not None else twilio_client(credentials)

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            return await asyncio.to_thread(fn)
        except TwilioRestException as exc:
            if exc.status == 401:
                raise ProvisioningError(
                    "Twilio rejected the credentials (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)"
                ) from None
            token = self._credentials.auth_token.get_secret_value()
            raise ProvisioningError(
                f"Twilio API error during {what} (HTTP {exc.status}, code {exc.code}): "
                f"{redact(str(exc.msg), secrets=(token,))}") from None
        except (RequestException, OSError):
            where = self._credentials.api_base or "api.twilio.com"
            raise ProvisioningError(f"Twilio API unreachable at {where} during {what}") from None
        except TwilioException:
            raise ProvisioningError(f"Twilio client error during {what}") from None

    @property
    def _trunks(self) -> Any:
        return self._client.trunking.v1.trunks

    async def verify_credentials(self) -> None:
        sid = self._credentials.account_sid
        # the response carries the auth token; it is dropped here and never printed
        await self._call("credential check",
                         lambda: self._client.api.v2010.accounts(sid).fetch())

    async def list_trunks(self) -> list[TwilioTrunk]:
        items = await self._call("list SIP trunks", lambda: self._trunks.list())
        return [_trunk(item) for item in items]

    async def create_trunk(self, friendly_name: str, secure: bool) -> TwilioTrunk:
        item = await self._call("create SIP trunk", lambda: self._trunks.create(
            friendly_name=friendly_name, secure=secure))
        return _trunk(item)

    async def update_trunk(self, trunk_sid: str, secure: bool) -> TwilioTrunk:
        item = await self._call("update SIP trunk",
                                lambda: self._trunks(trunk_sid).update(secure=secure))
        return _trunk(item)

    async def delete_trunk(self, trunk_sid: str) -> None:
        await self._call("delete SIP trunk", lambda: self._trunks(trunk_sid).delete())

    async def list_origination_urls(self, trunk_sid: str) -> list[OriginationUrl]:
        items = await self._call("list origination URLs",
                                 lambda: self._trunks(trunk_sid).origination_urls.list())
        return [_origination_url(item) for item in items]

    async def create_origination_url(self, trunk_sid: str,
                                     url: OriginationUrl) -> OriginationUrl:
        item = await self._call("create origination URL",
                                lambda: self._trunks(trunk_sid).origination_urls.create(
                                    weight=url.weight, priority=url.priority,
                                    enabled=url.enabled, friendly_name=url.friendly_name,
                                    sip_url=url.sip_url))
        return _origination_url(item)

    async def update_origination_url(self, trunk_sid: str, url_sid: str,
                                     url: OriginationUrl) -> OriginationUrl:
        item = await self._call("update origination URL",
                                lambda: self._trunks(trunk_sid).origination_urls(url_sid).update(
                                    weight=url.weight, priority=url.priority,
                                    enabled=url.enabled, friendly_name=url.friendly_name,
                                    sip_url=url.sip_url))
        return _origination_url(item)

    async def delete_origination_url(self, trunk_sid: str, url_sid: str) -> None:
        await self._call("delete origination URL",
                         lambda: self._trunks(trunk_sid).origination_urls(url_sid).delete())

    async def find_phone_number(self, e164: str) -> PhoneNumber | None:
        items = await self._call(
            "phone number lookup",
            lambda: self._client.api.v2010.accounts(self._credentials.account_sid)
            .incoming_phone_numbers.list(phone_number=e164))
        matches = [_number(item) for item in items if item.phone_number == e164]
        return matches[0] if matches else None

    async def list_trunk_phone_numbers(self, trunk_sid: str) -> list[PhoneNumber]:
        items = await self._call("list trunk phone numbers",
                                 lambda: self._trunks(trunk_sid).phone_numbers.list())
        return [_number(item) for item in items]

    async def associate_phone_number(self, trunk_sid: str, number_sid: str) -> None:
        await self._call("associate phone number",
                         lambda: self._trunks(trunk_sid).phone_numbers.create(
                             phone_number_sid=number_sid))

    async def remove_phone_number(self, trunk_sid: str, number_sid: str) -> None:
        await self._call("remove phone number",
                         lambda: self._trunks(trunk_sid).phone_numbers(number_sid).delete())


def _trunk(item: Any) -> TwilioTrunk:
    return TwilioTrunk(sid=str(item.sid), friendly_name=str(item.friendly_name or ""),
                       secure=bool(item.secure))


def _origination_url(item: Any) -> OriginationUrl:
    return OriginationUrl(sid=str(item.sid), sip_url=str(item.sip_url),
                          priority=int(item.priority), weight=int(item.weight),
                          enabled=bool(item.enabled),
                          friendly_name=str(item.friendly_name or ""))


def _number(item: Any) -> PhoneNumber:
    return PhoneNumber(sid=str(item.sid), phone_number=str(item.phone_number),
                       trunk_sid=str(item.trunk_sid) if item.trunk_sid else None)
