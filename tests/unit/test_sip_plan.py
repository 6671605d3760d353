"""Plan diffing and apply/rollback for both sides, against in-memory fakes of the two Protocols."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from pydantic import SecretStr

from sip.config import OutboundTrunkSettings, SipSettings
from sip.livekit_provisioning import (
    DispatchRule,
    InboundTrunk,
    OutboundTrunk,
    desired_dispatch_rule,
    desired_inbound_trunk,
    plan_livekit,
)
from sip.plan import ProvisioningError, apply_plan
from sip.twilio_provisioning import OriginationUrl, PhoneNumber, TwilioTrunk, plan_twilio

pytestmark = pytest.mark.unit

NUMBER = "+15550100001"


class FakeSipControl:
    """SipControl in memory; `fail_on` names a method that raises."""

    def __init__(self, fail_on: str | None = None) -> None:
        self.inbound: dict[str, InboundTrunk] = {}
        self.outbound: dict[str, OutboundTrunk] = {}
        self.rules: dict[str, DispatchRule] = {}
        self.calls: list[str] = []
        self._ids = itertools.count(1)
        self.fail_on = fail_on

    def _record(self, name: str) -> None:
        self.calls.append(name)
        if name == self.fail_on:
            raise ProvisioningError(f"{name} failed")

    async def list_inbound_trunks(self) -> list[InboundTrunk]:
        return list(self.inbound.values())

    async def create_inbound_trunk(self, trunk: InboundTrunk) -> InboundTrunk:
        self._record("create_inbound_trunk")
        created = replace(trunk, id=f"ST_{next(self._ids)}")
        self.inbound[created.id] = created
        return created

    async def replace_inbound_trunk(self, trunk_id: str, trunk: InboundTrunk) -> InboundTrunk:
        self._record("replace_inbound_trunk")
        self.inbound[trunk_id] = replace(trunk, id=trunk_id)
        return self.inbound[trunk_id]

    async def list_outbound_trunks(self) -> list[OutboundTrunk]:
        return list(self.outbound.values())

    async def create_outbound_trunk(self, trunk: OutboundTrunk) -> OutboundTrunk:
        self._record("create_outbound_trunk")
        created = replace(trunk, id=f"ST_{next(self._ids)}")
        self.outbound[created.id] = created
        return created

    async def replace_outbound_trunk(self, trunk_id: str, trunk: OutboundTrunk) -> OutboundTrunk:
        self._record("replace_outbound_trunk")
        self.outbound[trunk_id] = replace(trunk, id=trunk_id)
        return self.outbound[trunk_id]

    async def delete_trunk(self, trunk_id: str) -> None:
        self._record("delete_trunk")
        self.inbound.pop(trunk_id, None)
        self.outbound.pop(trunk_id, None)

    async def list_dispatch_rules(self) -> list[DispatchRule]:
        return list(self.rules.values())

    async def create_dispatch_rule(self, rule: DispatchRule) -> DispatchRule:
        self._record("create_dispatch_rule")
        created = replace(rule, id=f"SDR_{next(self._ids)}")
        self.rules[created.id] = created
        return created

    async def replace_dispatch_rule(self, rule_id: str, rule: DispatchRule) -> DispatchRule:
        self._record("replace_dispatch_rule")
        self.rules[rule_id] = replace(rule, id=rule_id)
        return self.rules[rule_id]

    async def delete_dispatch_rule(self, rule_id: str) -> None:
        self._record("delete_dispatch_rule")
        del self.rules[rule_id]


def _settings(**changes: object) -> SipSettings:
    base = SipSettings(phone_numbers=(NUMBER,), allowed_addresses=("203.0.113.0/24",),
                       livekit_sip_uri="sip:sip.example.test:5060")
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_empty_livekit_plans_three_creates_then_nothing() -> None:
    control = FakeSipControl()
    settings = _settings(outbound=OutboundTrunkSettings(
        address="x.pstn.twilio.com", transport="tls", numbers=(NUMBER,), username="u",
        password=SecretStr("p4ss-w0rd")))
    plan = await plan_livekit(control, settings)
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        ("create", "inbound trunk", "intake-inbound"),
        ("create", "dispatch rule", "intake-dispatch"),
        ("create", "outbound trunk", "intake-outbound"),
    ]
    await apply_plan(plan)
    (trunk,) = control.inbound.values()
    (rule,) = control.rules.values()
    assert rule.trunk_ids == frozenset({trunk.id})  # the rule points at the trunk just made
    assert rule == replace(desired_dispatch_rule(settings, trunk.id), id=rule.id)
    assert (await plan_livekit(control, settings)).is_empty


async def test_changed_settings_update_only_what_changed() -> None:
    control = FakeSipControl()
    settings = _settings()
    await apply_plan(await plan_livekit(control, settings))
    plan = await plan_livekit(control, replace(settings, phone_numbers=(NUMBER, "+15550100002")))
    assert len(plan.changes) == 1
    change = plan.changes[0]
    assert (change.action, change.kind) == ("update", "inbound trunk")
    assert [f.render() for f in change.fields] == [
        "numbers: +15550100001 -> +15550100001, +15550100002"]


async def test_rule_pointing_elsewhere_is_repointed() -> None:
    control = FakeSipControl()
    settings = _settings()
    await apply_plan(await plan_livekit(control, settings))
    (rule,) = control.rules.values()
    control.rules[rule.id] = replace(rule, trunk_ids=frozenset({"ST_other"}), room_prefix="x-")
    plan = await plan_livekit(control, settings)
    assert [f.name for f in plan.changes[0].fields] == ["room_prefix", "trunk_ids"]
    await apply_plan(plan)
    assert (await plan_livekit(control, settings)).is_empty


async def test_failure_rolls_back_in_reverse_order() -> None:
    control = FakeSipControl(fail_on="create_dispatch_rule")
    with pytest.raises(ProvisioningError) as info:
        await apply_plan(await plan_livekit(control, _settings()))
    assert str(info.value) == (
        "create livekit dispatch rule 'intake-dispatch' failed: create_dispatch_rule failed; "
        "rolled back 1 earlier change(s)")
    assert control.calls == ["create_inbound_trunk", "create_dispatch_rule", "delete_trunk"]
    assert control.inbound == {} and control.rules == {}


async def test_failed_update_restores_previous_state() -> None:
    control = FakeSipControl()
    settings = _settings()
    await apply_plan(await plan_livekit(control, settings))
    before = dict(control.inbound)
    control.fail_on = "replace_dispatch_rule"
    changed = replace(settings, allowed_addresses=("198.51.100.7",), room_prefix="y-")
    with pytest.raises(ProvisioningError):
        await apply_plan(await plan_livekit(control, changed))
    assert control.inbound == before


async def test_duplicate_and_conflicting_trunks_stop_the_plan() -> None:
    control = FakeSipControl()
    desired = desired_inbound_trunk(_settings())
    control.inbound = {"a": replace(desired, id="a"), "b": replace(desired, id="b")}
    with pytest.raises(ProvisioningError, match="2 inbound trunks named 'intake-inbound'"):
        await plan_livekit(control, _settings())
    control.inbound = {"c": replace(desired, id="c", name="someone-else")}
    with pytest.raises(ProvisioningError, match="'someone-else' already serves 1 of the"):
        await plan_livekit(control, _settings())


async def test_secure_trunking_requires_media_encryption() -> None:
    plan = await plan_livekit(FakeSipControl(), _settings(secure_trunking=True))
    assert "media_encryption: require" in plan.render()


async def test_rendered_plan_hides_secrets() -> None:
    control = FakeSipControl()
    settings = _settings(outbound=OutboundTrunkSettings(
        address="x.pstn.twilio.com", transport="udp", numbers=(NUMBER,), username="u",
        password=SecretStr("first-secret")))
    first = await plan_livekit(control, settings)
    await apply_plan(first)
    assert settings.outbound is not None
    second = await plan_livekit(control, replace(settings, outbound=replace(
        settings.outbound, password=SecretStr("second-secret"))))
    text = first.render() + second.render()
    assert "first-secret" not in text and "second-secret" not in text
    assert "auth_password: (secret) -> (secret)" in second.render()
    assert first.render().splitlines()[-1] == "Plan: 3 to create, 0 to update, 0 to delete."


class FakeTrunkProvider:
    def __init__(self, numbers: dict[str, str | None]) -> None:
        self.trunks: dict[str, TwilioTrunk] = {}
        self.urls: dict[str, tuple[str, OriginationUrl]] = {}
        self.numbers = {f"PN{i}": PhoneNumber(f"PN{i}", e164, trunk)
                        for i, (e164, trunk) in enumerate(numbers.items())}
        self.writes: list[str] = []
        self.valid = True
        self._ids = itertools.count(1)

    async def verify_credentials(self) -> None:
        if not self.valid:
            raise ProvisioningError("Twilio rejected the credentials")

    async def list_trunks(self) -> list[TwilioTrunk]:
        return list(self.trunks.values())

    async def create_trunk(self, friendly_name: str, secure: bool) -> TwilioTrunk:
        self.writes.append("create_trunk")
        trunk = TwilioTrunk(f"TK{next(self._ids)}", friendly_name, secure)
        self.trunks[trunk.sid] = trunk
        return trunk

    async def update_trunk(self, trunk_sid: str, secure: bool) -> TwilioTrunk:
        self.writes.append("update_trunk")
        self.trunks[trunk_sid] = replace(self.trunks[trunk_sid], secure=secure)
        return self.trunks[trunk_sid]

    async def delete_trunk(self, trunk_sid: str) -> None:
        self.writes.append("delete_trunk")
        del self.trunks[trunk_sid]

    async def list_origination_urls(self, trunk_sid: str) -> list[OriginationUrl]:
        return [u for t, u in self.urls.values() if t == trunk_sid]

    async def create_origination_url(self, trunk_sid: str,
                                     url: OriginationUrl) -> OriginationUrl:
        self.writes.append("create_origination_url")
        created = replace(url, sid=f"OU{next(self._ids)}")
        self.urls[created.sid] = (trunk_sid, created)
        return created

    async def update_origination_url(self, trunk_sid: str, url_sid: str,
                                     url: OriginationUrl) -> OriginationUrl:
        self.writes.append("update_origination_url")
        self.urls[url_sid] = (trunk_sid, replace(url, sid=url_sid))
        return self.urls[url_sid][1]

    async def delete_origination_url(self, trunk_sid: str, url_sid: str) -> None:
        self.writes.append("delete_origination_url")
        del self.urls[url_sid]

    async def find_phone_number(self, e164: str) -> PhoneNumber | None:
        return next((n for n in self.numbers.values() if n.phone_number == e164), None)

    async def list_trunk_phone_numbers(self, trunk_sid: str) -> list[PhoneNumber]:
        return [n for n in self.numbers.values() if n.trunk_sid == trunk_sid]

    async def associate_phone_number(self, trunk_sid: str, number_sid: str) -> None:
        self.writes.append("associate_phone_number")
        self.numbers[number_sid] = replace(self.numbers[number_sid], trunk_sid=trunk_sid)

    async def remove_phone_number(self, trunk_sid: str, number_sid: str) -> None:
        self.writes.append("remove_phone_number")
        self.numbers[number_sid] = replace(self.numbers[number_sid], trunk_sid=None)


async def test_twilio_plan_creates_then_converges() -> None:
    provider = FakeTrunkProvider({NUMBER: None})
    plan = await plan_twilio(provider, _settings())
    assert [(c.action, c.kind) for c in plan.changes] == [
        ("create", "SIP trunk"), ("create", "origination URL"),
        ("create", "phone number association")]
    await apply_plan(plan)
    assert (await plan_twilio(provider, _settings())).is_empty


async def test_number_on_another_trunk_is_moved_and_rollback_moves_it_back() -> None:
    provider = FakeTrunkProvider({NUMBER: "TK_old"})
    plan = await plan_twilio(provider, _settings())
    assert plan.changes[-1].fields[0].render() == "from trunk: TK_old -> intake"
    await apply_plan(plan)
    assert provider.numbers["PN0"].trunk_sid == "TK1"

    provider2 = FakeTrunkProvider({NUMBER: "TK_old"})
    plan2 = await plan_twilio(provider2, _settings())

    async def broken(trunk_sid: str, number_sid: str) -> None:
        provider2.writes.append("associate_phone_number")
        raise ProvisioningError("boom")
    provider2.associate_phone_number = broken  # type: ignore[method-assign]
    with pytest.raises(ProvisioningError, match="rolled back 2 earlier change"):
        await apply_plan(plan2)
    assert provider2.trunks == {} and provider2.urls == {}
    assert provider2.numbers["PN0"].trunk_sid == "TK_old"


async def test_origination_url_priority_weight_change_is_an_update() -> None:
    provider = FakeTrunkProvider({NUMBER: None})
    await apply_plan(await plan_twilio(provider, _settings()))
    plan = await plan_twilio(provider, _settings(origination_priority=1, origination_weight=5))
    assert [(c.action, c.kind) for c in plan.changes] == [("update", "origination URL")]
    assert [f.render() for f in plan.changes[0].fields] == [
        "priority: 10 -> 1", "weight: 10 -> 5"]


async def test_twilio_bad_credentials_or_missing_number_stop_before_writes() -> None:
    provider = FakeTrunkProvider({NUMBER: None})
    provider.valid = False
    with pytest.raises(ProvisioningError, match="rejected the credentials"):
        await plan_twilio(provider, _settings())
    provider.valid = True
    with pytest.raises(ProvisioningError, match="entry 2 is not a number in this Twilio"):
        await plan_twilio(provider, _settings(phone_numbers=(NUMBER, "+15550100009")))
    assert provider.writes == []
