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

import aiohttp
from livekit import api
from livekit.api.sip_service import SipService
from pydantic import SecretStr

from sip.config import LiveKitCredentials, SipSettings
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
from sip.redaction import redact

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


def _secret_value(secret: SecretStr | None) -> str:
    return secret.get_secret_value() if secret is not None else ""


def diff_outbound_trunk(actual: OutboundTrunk, desired: OutboundTrunk) -> tuple[FieldChange, ...]:
    return _fields(
        value_diff("address", actual.address, desired.address),
        value_diff("transport", actual.transport, desired.transport),
        set_diff("numbers", actual.numbers, desired.numbers),
        value_diff("auth_username", actual.auth_username, desired.auth_username),
        value_diff("auth_password", _secret_value(actual.auth_password),
                   _secret_value(desired.auth_password), secret=True),
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
                    ("auth_password", _secret_value(desired_out.auth_password)),
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


# ---- the livekit.api implementation --------------------------------------------------------

_ENCRYPTION_TO_PROTO: dict[MediaEncryption, api.SIPMediaEncryption] = {
    "disable": api.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_DISABLE,
    "allow": api.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_ALLOW,
    "require": api.SIPMediaEncryption.SIP_MEDIA_ENCRYPT_REQUIRE,
}
_ENCRYPTION_FROM_PROTO: dict[int, MediaEncryption] = {
    int(v): k for k, v in _ENCRYPTION_TO_PROTO.items()}
_TRANSPORT_TO_PROTO: dict[Transport, api.SIPTransport] = {
    "auto": api.SIPTransport.SIP_TRANSPORT_AUTO,
    "udp": api.SIPTransport.SIP_TRANSPORT_UDP,
    "tcp": api.SIPTransport.SIP_TRANSPORT_TCP,
    "tls": api.SIPTransport.SIP_TRANSPORT_TLS,
}
_TRANSPORT_FROM_PROTO: dict[int, Transport] = {int(v): k for k, v in _TRANSPORT_TO_PROTO.items()}


class LiveKitSipControl:
    """`SipControl` over LiveKit's Twirp API. Errors become one-line `ProvisioningError`s."""

    def __init__(self, credentials: LiveKitCredentials, *, timeout: float = 10.0) -> None:
        self._credentials = credentials
        self._timeout = timeout
        self._api: api.LiveKitAPI | None = None

    async def __aenter__(self) -> LiveKitSipControl:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._api is not None:
            await self._api.aclose()
        self._api = None

    @property
    def _sip(self) -> SipService:
        if self._api is None:
            self._api = api.LiveKitAPI(
                self._credentials.url, self._credentials.api_key,
                self._credentials.api_secret.get_secret_value(),
                timeout=aiohttp.ClientTimeout(total=self._timeout),
            )
        return self._api.sip

    async def _call(self, what: str, request: Awaitable[T]) -> T:
        try:
            return await request
        except api.ServerError as exc:
            if exc.status == 401 or exc.code in ("unauthenticated", "permission_denied"):
                raise ProvisioningError(
                    "LiveKit rejected the API credentials (LIVEKIT_API_KEY / LIVEKIT_API_SECRET)"
                ) from None
            secret = self._credentials.api_secret.get_secret_value()
            raise ProvisioningError(
                f"LiveKit API error during {what} ({exc.code}): "
                f"{redact(exc.message, secrets=(secret,))}") from None
        except (TimeoutError, aiohttp.ClientError, OSError):
            raise ProvisioningError(
                f"LiveKit API unreachable at {self._credentials.url} (LIVEKIT_URL) during {what}"
            ) from None

    async def list_inbound_trunks(self) -> list[InboundTrunk]:
        result = await self._call("list inbound trunks", self._sip.list_inbound_trunk(
            api.ListSIPInboundTrunkRequest()))
        return [_inbound_from_proto(item) for item in result.items]

    async def create_inbound_trunk(self, trunk: InboundTrunk) -> InboundTrunk:
        info = await self._call("create inbound trunk", self._sip.create_inbound_trunk(
            api.CreateSIPInboundTrunkRequest(trunk=_inbound_to_proto(trunk))))
        return _inbound_from_proto(info)

    async def replace_inbound_trunk(self, trunk_id: str, trunk: InboundTrunk) -> InboundTrunk:
        info = await self._call("update inbound trunk", self._sip.update_inbound_trunk(
            trunk_id, _inbound_to_proto(replace(trunk, id=trunk_id))))
        return _inbound_from_proto(info)

    async def list_outbound_trunks(self) -> list[OutboundTrunk]:
        result = await self._call("list outbound trunks", self._sip.list_outbound_trunk(
            api.ListSIPOutboundTrunkRequest()))
        return [_outbound_from_proto(item) for item in result.items]

    async def create_outbound_trunk(self, trunk: OutboundTrunk) -> OutboundTrunk:
        info = await self._call("create outbound trunk", self._sip.create_outbound_trunk(
            api.CreateSIPOutboundTrunkRequest(trunk=_outbound_to_proto(trunk))))
        return _outbound_from_proto(info)

    async def replace_outbound_trunk(self, trunk_id: str, trunk: OutboundTrunk) -> OutboundTrunk:
        info = await self._call("update outbound trunk", self._sip.update_outbound_trunk(
            trunk_id, _outbound_to_proto(replace(trunk, id=trunk_id))))
        return _outbound_from_proto(info)

    async def delete_trunk(self, trunk_id: str) -> None:
        await self._call("delete trunk", self._sip.delete_trunk(
            api.DeleteSIPTrunkRequest(sip_trunk_id=trunk_id)))

    async def list_dispatch_rules(self) -> list[DispatchRule]:
        result = await self._call("list dispatch rules", self._sip.list_dispatch_rule(
            api.ListSIPDispatchRuleRequest()))
        return [_rule_from_proto(item) for item in result.items]

    async def create_dispatch_rule(self, rule: DispatchRule) -> DispatchRule:
        created = await self._call("create dispatch rule", self._sip.create_dispatch_rule(
            api.CreateSIPDispatchRuleRequest(dispatch_rule=_rule_to_proto(rule))))
        return _rule_from_proto(created)

    async def replace_dispatch_rule(self, rule_id: str, rule: DispatchRule) -> DispatchRule:
        updated = await self._call("update dispatch rule", self._sip.update_dispatch_rule(
            rule_id, _rule_to_proto(replace(rule, id=rule_id))))
        return _rule_from_proto(updated)

    async def delete_dispatch_rule(self, rule_id: str) -> None:
        await self._call("delete dispatch rule", self._sip.delete_dispatch_rule(
            api.DeleteSIPDispatchRuleRequest(sip_dispatch_rule_id=rule_id)))


def _inbound_to_proto(trunk: InboundTrunk) -> api.SIPInboundTrunkInfo:
    return api.SIPInboundTrunkInfo(
        sip_trunk_id=trunk.id, name=trunk.name, metadata=trunk.metadata,
        numbers=sorted(trunk.numbers), allowed_addresses=sorted(trunk.allowed_addresses),
        media_encryption=_ENCRYPTION_TO_PROTO[trunk.media_encryption],
    )


def _inbound_from_proto(info: api.SIPInboundTrunkInfo) -> InboundTrunk:
    return InboundTrunk(
        id=info.sip_trunk_id, name=info.name, metadata=info.metadata,
        numbers=frozenset(info.numbers), allowed_addresses=frozenset(info.allowed_addresses),
        media_encryption=_ENCRYPTION_FROM_PROTO.get(int(info.media_encryption), "disable"),
    )


def _outbound_to_proto(trunk: OutboundTrunk) -> api.SIPOutboundTrunkInfo:
    return api.SIPOutboundTrunkInfo(
        sip_trunk_id=trunk.id, name=trunk.name, address=trunk.address,
        transport=_TRANSPORT_TO_PROTO[trunk.transport], numbers=sorted(trunk.numbers),
        auth_username=trunk.auth_username, auth_password=_secret_value(trunk.auth_password),
    )


def _outbound_from_proto(info: api.SIPOutboundTrunkInfo) -> OutboundTrunk:
    return OutboundTrunk(
        id=info.sip_trunk_id, name=info.name, address=info.address,
        transport=_TRANSPORT_FROM_PROTO.get(int(info.transport), "auto"),
        numbers=frozenset(info.numbers), auth_username=info.auth_username,
        auth_password=SecretStr(info.auth_password) if info.auth_password else None,
    )


def _rule_to_proto(rule: DispatchRule) -> api.SIPDispatchRuleInfo:
    if rule.kind == "callee":
        proto_rule = api.SIPDispatchRule(dispatch_rule_callee=api.SIPDispatchRuleCallee(
            room_prefix=rule.room_prefix, randomize=True))
    elif rule.kind == "individual":
        proto_rule = api.SIPDispatchRule(dispatch_rule_individual=api.SIPDispatchRuleIndividual(
            room_prefix=rule.room_prefix))
    else:
        raise ProvisioningError(f"dispatch rule kind {rule.kind!r} is not supported")
    return api.SIPDispatchRuleInfo(
        sip_dispatch_rule_id=rule.id, name=rule.name, metadata=rule.metadata,
        trunk_ids=sorted(rule.trunk_ids),
        rule=proto_rule,
        room_config=api.RoomConfiguration(agents=[
            api.RoomAgentDispatch(agent_name=a.agent_name, metadata=a.metadata)
            for a in rule.agents
        ]),
    )


def _rule_from_proto(info: api.SIPDispatchRuleInfo) -> DispatchRule:
    kind = (info.rule.WhichOneof("rule") or "").removeprefix("dispatch_rule_")
    prefix = ""
    if kind == "individual":
        prefix = info.rule.dispatch_rule_individual.room_prefix
    elif kind == "callee":
        prefix = info.rule.dispatch_rule_callee.room_prefix
    return DispatchRule(
        id=info.sip_dispatch_rule_id, name=info.name, metadata=info.metadata, kind=kind,
        room_prefix=prefix, trunk_ids=frozenset(info.trunk_ids),
        agents=tuple(AgentDispatch(a.agent_name, a.metadata) for a in info.room_config.agents),
    )
