"""`SipControl` (sip.livekit_provisioning) over LiveKit's Twirp SIP API, and the conversions
between our trunk and rule models and livekit.api's protobuf messages."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from typing import TypeVar

import aiohttp
from livekit import api
from livekit.api.sip_service import SipService
from pydantic import SecretStr

from sip.config import LiveKitCredentials
from sip.livekit_provisioning import (
    AgentDispatch,
    DispatchRule,
    InboundTrunk,
    MediaEncryption,
    OutboundTrunk,
    Transport,
    secret_value,
)
from sip.plan import (
    ProvisioningError,
)
from sip.redaction import redact, url_for_display

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


T = TypeVar("T")


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
                f"LiveKit API unreachable at {url_for_display(self._credentials.url)} "
                f"(LIVEKIT_URL) during {what}"
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
        auth_username=trunk.auth_username, auth_password=secret_value(trunk.auth_password),
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
