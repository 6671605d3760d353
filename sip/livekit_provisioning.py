"""LiveKit's side of the front door: inbound trunk, dispatch rule, outbound trunk.

`SipControl` is the one seam to LiveKit's SIP API; `LiveKitSipControl` implements it with
`livekit.api`. `plan_livekit` compares what the settings ask for with what the server holds and
returns the steps that close the gap; `apply_plan` (sip.plan) runs them with rollback.
Resources are found again by name (`<SIP_RESOURCE_NAME>-inbound`, `-dispatch`, `-outbound`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol, TypeVar

from pydantic import SecretStr

from sip.config import SipSettings
from sip.plan import (
    Change,
    FieldChange,
    ProvisioningError,
    ProvisioningPlan,
    Step,
    Undo,
    created_fields,
    set_diff,
    value_diff,
)

SIDE = "livekit"
MediaEncryption = Literal["disable", "allow", "require"]
Transport = Literal["auto", "udp", "tcp", "tls"]


@dataclass(frozen=True)
class InboundTrunk:
    name: str
    numbers: frozenset[str]
    allowed_addresses: frozenset[str]
    media_encryption: MediaEncryption = "disable"
    metadata: str = ""
    id: str = ""


@dataclass(frozen=True)
class AgentDispatch:
    agent_name: str
    metadata: str = ""


@dataclass(frozen=True)
class DispatchRule:
    name: str
    # "individual" is a fresh room per call; "direct" and "callee" are LiveKit's other kinds
    kind: str
    room_prefix: str
    trunk_ids: frozenset[str]
    agents: tuple[AgentDispatch, ...] = ()
    metadata: str = ""
    id: str = ""


@dataclass(frozen=True)
class OutboundTrunk:
    name: str
    address: str
    transport: Transport
    numbers: frozenset[str]
    auth_username: str = ""
    auth_password: SecretStr | None = None
    id: str = ""


class SipControl(Protocol):
    """LiveKit's SIP trunks and dispatch rules."""

    async def list_inbound_trunks(self) -> list[InboundTrunk]: ...
    async def create_inbound_trunk(self, trunk: InboundTrunk) -> InboundTrunk: ...
    async def replace_inbound_trunk(self, trunk_id: str, trunk: InboundTrunk) -> InboundTrunk: ...
    async def list_outbound_trunks(self) -> list[OutboundTrunk]: ...
    async def create_outbound_trunk(self, trunk: OutboundTrunk) -> OutboundTrunk: ...
    async def replace_outbound_trunk(self, trunk_id: str,
                                     trunk: OutboundTrunk) -> OutboundTrunk: ...
    async def delete_trunk(self, trunk_id: str) -> None: ...
    async def list_dispatch_rules(self) -> list[DispatchRule]: ...
    async def create_dispatch_rule(self, rule: DispatchRule) -> DispatchRule: ...
    async def replace_dispatch_rule(self, rule_id: str, rule: DispatchRule) -> DispatchRule: ...
    async def delete_dispatch_rule(self, rule_id: str) -> None: ...


# ---- desired state -------------------------------------------------------------------------

def dispatch_metadata(settings: SipSettings) -> str:
    """Job metadata the agent receives with every inbound call (stable JSON, so diffs are exact)."""
    return json.dumps({"call_direction": "inbound", "provisioned_by": settings.resource_name},
                      sort_keys=True, separators=(",", ":"))


def desired_inbound_trunk(settings: SipSettings) -> InboundTrunk:
    return InboundTrunk(
        name=settings.inbound_trunk_name,
        numbers=frozenset(settings.phone_numbers),
        allowed_addresses=frozenset(settings.allowed_addresses),
        media_encryption="require" if settings.secure_trunking else "disable",
    )


def desired_dispatch_rule(settings: SipSettings, inbound_trunk_id: str) -> DispatchRule:
    # "callee" with randomize: a fresh room per call named after the number that was dialled
    # (the business's). "individual" would put the caller's number in the room name, and
    # room names reach every log line of the call.
    return DispatchRule(
        name=settings.dispatch_rule_name,
        kind="callee",
        room_prefix=settings.room_prefix,
        trunk_ids=frozenset({inbound_trunk_id}),
        agents=(AgentDispatch(settings.agent_name, dispatch_metadata(settings)),),
    )


def desired_outbound_trunk(settings: SipSettings) -> OutboundTrunk | None:
    out = settings.outbound
    if out is None:
        return None
    return OutboundTrunk(
        name=settings.outbound_trunk_name,
        address=out.address,
        transport=out.transport,
        numbers=frozenset(out.numbers),
        auth_username=out.username or "",
        auth_password=out.password,
    )


# ---- diffs ---------------------------------------------------------------------------------

def _fields(*items: FieldChange | None) -> tuple[FieldChange, ...]:
    return tuple(item for item in items if item is not None)


def diff_inbound_trunk(actual: InboundTrunk, desired: InboundTrunk) -> tuple[FieldChange, ...]:
    return _fields(
        set_diff("numbers", actual.numbers, desired.numbers),
        set_diff("allowed_addresses", actual.allowed_addresses, desired.allowed_addresses),
        value_diff("media_encryption", actual.media_encryption, desired.media_encryption),
        value_diff("metadata", actual.metadata, desired.metadata),
    )


def _agents(agents: tuple[AgentDispatch, ...]) -> list[str]:
    return [f"{a.agent_name} {a.metadata}".strip() for a in agents]


def diff_dispatch_rule(actual: DispatchRule, desired: DispatchRule,
                       trunk_label: str | None = None) -> tuple[FieldChange, ...]:
    trunk_change = set_diff("trunk_ids", actual.trunk_ids, desired.trunk_ids)
    if trunk_change is not None and trunk_label is not None:
        trunk_change = FieldChange("trunk_ids", trunk_change.before, trunk_label)
    return _fields(
        value_diff("rule", actual.kind, desired.kind),
        value_diff("room_prefix", actual.room_prefix, desired.room_prefix),
        trunk_change,
        value_diff("agents", ", ".join(_agents(actual.agents)),
                   ", ".join(_agents(desired.agents))),
        value_diff("metadata", actual.metadata, desired.metadata),
    )


def secret_value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


def diff_outbound_trunk(actual: OutboundTrunk, desired: OutboundTrunk) -> tuple[FieldChange, ...]:
    return _fields(
        value_diff("address", actual.address, desired.address),
        value_diff("transport", actual.transport, desired.transport),
        set_diff("numbers", actual.numbers, desired.numbers),
        value_diff("auth_username", actual.auth_username, desired.auth_username),
        value_diff("auth_password", secret_value(actual.auth_password),
                   secret_value(desired.auth_password), secret=True),
    )


# ---- plan ----------------------------------------------------------------------------------

T = TypeVar("T")


def _only_one(items: list[T], kind: str, name: str) -> T | None:
    if len(items) > 1:
        raise ProvisioningError(
            f"LiveKit has {len(items)} {kind}s named {name!r}; delete all but one and re-run")
    return items[0] if items else None


async def plan_livekit(control: SipControl, settings: SipSettings) -> ProvisioningPlan:
    """Read LiveKit's current SIP setup (which also checks the credentials) and diff it."""
    inbound_all = await control.list_inbound_trunks()
    rules_all = await control.list_dispatch_rules()
    outbound_all = await control.list_outbound_trunks()
    plan = ProvisioningPlan(sides=[SIDE])
    # ids resolved while applying: a trunk created by step 1 is what step 2's rule points at
    ids: dict[str, str] = {}

    desired_in = desired_inbound_trunk(settings)
    current_in = _only_one([t for t in inbound_all if t.name == desired_in.name],
                           "inbound trunk", desired_in.name)
    for other in inbound_all:
        if other.name != desired_in.name and other.numbers & desired_in.numbers:
            raise ProvisioningError(
                f"LiveKit inbound trunk {other.name or other.id!r} already serves "
                f"{len(other.numbers & desired_in.numbers)} of the configured numbers; "
                "remove them from it first")
    if current_in is None:
        plan.steps.append(Step(
            Change(SIDE, "create", "inbound trunk", desired_in.name, created_fields([
                ("numbers", desired_in.numbers),
                ("allowed_addresses", desired_in.allowed_addresses),
                ("media_encryption", desired_in.media_encryption),
            ])),
            _create_inbound(control, desired_in, ids),
        ))
    else:
        ids["inbound"] = current_in.id
        changes = diff_inbound_trunk(current_in, desired_in)
        if changes:
            plan.steps.append(Step(
                Change(SIDE, "update", "inbound trunk", desired_in.name, changes),
                _replace_inbound(control, current_in, desired_in),
            ))

    desired_rule_now = desired_dispatch_rule(settings, current_in.id if current_in else "")
    current_rule = _only_one([r for r in rules_all if r.name == desired_rule_now.name],
                             "dispatch rule", desired_rule_now.name)
    if current_rule is None:
        plan.steps.append(Step(
            Change(SIDE, "create", "dispatch rule", desired_rule_now.name, created_fields([
                ("rule", f"{desired_rule_now.kind} room per call"),
                ("room_prefix", desired_rule_now.room_prefix),
                ("trunk", desired_in.name),
                ("agents", ", ".join(_agents(desired_rule_now.agents))),
            ])),
            _create_rule(control, settings, ids),
        ))
    else:
        label = f"(inbound trunk {desired_in.name!r})" if current_in is None else None
        changes = diff_dispatch_rule(current_rule, desired_rule_now, label)
        if changes:
            plan.steps.append(Step(
                Change(SIDE, "update", "dispatch rule", desired_rule_now.name, changes),
                _replace_rule(control, settings, current_rule, ids),
            ))

    desired_out = desired_outbound_trunk(settings)
    if desired_out is not None:
        current_out = _only_one([t for t in outbound_all if t.name == desired_out.name],
                                "outbound trunk", desired_out.name)
        if current_out is None:
            plan.steps.append(Step(
                Change(SIDE, "create", "outbound trunk", desired_out.name, created_fields([
                    ("address", desired_out.address),
                    ("transport", desired_out.transport),
                    ("numbers", desired_out.numbers),
                    ("auth_username", desired_out.auth_username),
                    ("auth_password", secret_value(desired_out.auth_password)),
                ], secrets=frozenset({"auth_password"}))),
                _create_outbound(control, desired_out),
            ))
        else:
            changes = diff_outbound_trunk(current_out, desired_out)
            if changes:
                plan.steps.append(Step(
                    Change(SIDE, "update", "outbound trunk", desired_out.name, changes),
                    _replace_outbound(control, current_out, desired_out),
                ))
    return plan


def _create_inbound(control: SipControl, desired: InboundTrunk,
                    ids: dict[str, str]) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        created = await control.create_inbound_trunk(desired)
        ids["inbound"] = created.id

        async def undo() -> None:
            await control.delete_trunk(created.id)
        return undo
    return run


def _replace_inbound(control: SipControl, current: InboundTrunk,
                     desired: InboundTrunk) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        await control.replace_inbound_trunk(current.id, replace(desired, id=current.id))

        async def undo() -> None:
            await control.replace_inbound_trunk(current.id, current)
        return undo
    return run


def _create_rule(control: SipControl, settings: SipSettings,
                 ids: dict[str, str]) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        created = await control.create_dispatch_rule(
            desired_dispatch_rule(settings, ids["inbound"]))

        async def undo() -> None:
            await control.delete_dispatch_rule(created.id)
        return undo
    return run


def _replace_rule(control: SipControl, settings: SipSettings, current: DispatchRule,
                  ids: dict[str, str]) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        desired = desired_dispatch_rule(settings, ids["inbound"])
        await control.replace_dispatch_rule(current.id, replace(desired, id=current.id))

        async def undo() -> None:
            await control.replace_dispatch_rule(current.id, current)
        return undo
    return run


def _create_outbound(control: SipControl,
                     desired: OutboundTrunk) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        created = await control.create_outbound_trunk(desired)

        async def undo() -> None:
            await control.delete_trunk(created.id)
        return undo
    return run


def _replace_outbound(control: SipControl, current: OutboundTrunk,
                      desired: OutboundTrunk) -> Callable[[], Awaitable[Undo | None]]:
    async def run() -> Undo:
        await control.replace_outbound_trunk(current.id, replace(desired, id=current.id))

        async def undo() -> None:
            await control.replace_outbound_trunk(current.id, current)
        return undo
    return run
