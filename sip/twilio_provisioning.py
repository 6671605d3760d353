"""Twilio's side of the front door: an Elastic SIP trunk that sends our numbers to livekit-sip.

`TrunkProvider` is the one seam to Twilio; `TwilioTrunkProvider` implements it with the official
`twilio` client (REST, form-encoded requests, JSON responses). `plan_twilio` diffs the account
against the settings: trunk (found by friendly name, secure trunking flag), its origination URL
(livekit-sip's SIP URI with priority and weight), and which trunk each configured number is on.

The client is built by `twilio_client`; with TWILIO_API_BASE set (tests, the local stack) only its
HTTP layer is redirected to that base URL, so the same resource code talks to the simulator.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sip.config import SipSettings
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

SIDE = "twilio"
T = TypeVar("T")

# The twilio library logs every request URL at INFO; lookups carry phone numbers in the query.


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
