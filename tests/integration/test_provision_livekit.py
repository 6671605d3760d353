"""`intake provision` against a real livekit-server (with Redis, so its SIP API is on)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from devstack.services import LiveKitServer
from sip.config import LiveKitCredentials, OutboundTrunkSettings, SipSettings
from sip.livekit_provisioning import DispatchRule, plan_livekit
from sip.livekit_sip_api import LiveKitSipControl
from sip.plan import ProvisioningError, apply_plan

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


def _settings(server: LiveKitServer, *, secret: str | None = None,
              url: str | None = None) -> SipSettings:
    tag = uuid.uuid4().hex[:8]
    suffix = f"{uuid.uuid4().int % 10_000:04d}"
    return SipSettings(
        phone_numbers=(f"+1555016{suffix}",),
        allowed_addresses=("127.0.0.1", "10.20.0.0/16"),
        resource_name=f"prov-{tag}",
        livekit=LiveKitCredentials(url=url or server.url, api_key=server.api_key,
                                   api_secret=SecretStr(secret or server.api_secret)),
        outbound=OutboundTrunkSettings(address="example.pstn.twilio.com", transport="udp",
                                       numbers=(f"+1555016{suffix}",), username="agent",
                                       password=SecretStr("outbound-pass-1234")),
    )


def _creds(settings: SipSettings) -> LiveKitCredentials:
    assert settings.livekit is not None
    return settings.livekit


async def test_plan_apply_and_apply_again_changes_nothing(
        sip_livekit_server: LiveKitServer) -> None:
    settings = _settings(sip_livekit_server)
    async with LiveKitSipControl(_creds(settings)) as control:
        first = await plan_livekit(control, settings)
        assert [(c.action, c.kind) for c in first.changes] == [
            ("create", "inbound trunk"), ("create", "dispatch rule"),
            ("create", "outbound trunk")]
        await apply_plan(first)

        again = await plan_livekit(control, settings)
        assert again.is_empty, again.render()

        inbound = [t for t in await control.list_inbound_trunks()
                   if t.name == settings.inbound_trunk_name]
        assert len(inbound) == 1
        assert inbound[0].numbers == frozenset(settings.phone_numbers)
        assert inbound[0].allowed_addresses == frozenset({"127.0.0.1", "10.20.0.0/16"})
        rules = [r for r in await control.list_dispatch_rules()
                 if r.name == settings.dispatch_rule_name]
        assert len(rules) == 1
        rule: DispatchRule = rules[0]
        assert (rule.kind, rule.room_prefix) == ("callee", "call-")
        assert rule.trunk_ids == frozenset({inbound[0].id})
        assert [a.agent_name for a in rule.agents] == ["intake-agent"]

        # a changed setting is one update, and applying it converges again
        changed = replace(settings, room_prefix="intake-call-", allowed_addresses=("127.0.0.1",))
        update = await plan_livekit(control, changed)
        assert [(c.action, c.kind) for c in update.changes] == [
            ("update", "inbound trunk"), ("update", "dispatch rule")]
        await apply_plan(update)
        assert (await plan_livekit(control, changed)).is_empty


async def test_plan_output_never_shows_the_outbound_password(
        sip_livekit_server: LiveKitServer) -> None:
    settings = _settings(sip_livekit_server)
    async with LiveKitSipControl(_creds(settings)) as control:
        plan = await plan_livekit(control, settings)
        await apply_plan(plan)
        assert settings.outbound is not None and settings.outbound.password is not None
        rotated = replace(settings, outbound=replace(
            settings.outbound, password=SecretStr("rotated-pass-5678")))
        update = await plan_livekit(control, rotated)
    text = plan.render() + update.render()
    assert "auth_password: (secret) -> (secret)" in text
    assert "outbound-pass-1234" not in text and "rotated-pass-5678" not in text


async def test_wrong_credentials_fail_with_one_clear_line_and_create_nothing(
        sip_livekit_server: LiveKitServer) -> None:
    settings = _settings(sip_livekit_server, secret="not-the-secret-but-long-enough-for-hs256")
    async with LiveKitSipControl(_creds(settings)) as control:
        with pytest.raises(ProvisioningError) as info:
            await plan_livekit(control, settings)
    assert str(info.value) == (
        "LiveKit rejected the API credentials (LIVEKIT_API_KEY / LIVEKIT_API_SECRET)")
    good = _settings(sip_livekit_server)
    async with LiveKitSipControl(_creds(good)) as control:
        names = {t.name for t in await control.list_inbound_trunks()}
    assert settings.inbound_trunk_name not in names


async def test_unreachable_server_is_named(sip_livekit_server: LiveKitServer) -> None:
    settings = _settings(sip_livekit_server, url="ws://127.0.0.1:9")
    async with LiveKitSipControl(_creds(settings), timeout=3) as control:
        with pytest.raises(ProvisioningError, match=r"LiveKit API unreachable at ws://127.0.0.1:9"):
            await plan_livekit(control, settings)


class _FailingRuleControl(LiveKitSipControl):
    async def create_dispatch_rule(self, rule: DispatchRule) -> DispatchRule:
        raise ProvisioningError("simulated failure")


async def test_failed_apply_rolls_back_what_it_created(
        sip_livekit_server: LiveKitServer) -> None:
    settings = _settings(sip_livekit_server)
    async with _FailingRuleControl(_creds(settings)) as control:
        plan = await plan_livekit(control, settings)
        with pytest.raises(ProvisioningError, match="rolled back 1 earlier change"):
            await apply_plan(plan)
        names = {t.name for t in await control.list_inbound_trunks()}
        rules = {r.name for r in await control.list_dispatch_rules()}
    assert settings.inbound_trunk_name not in names
    assert settings.dispatch_rule_name not in rules


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_cli_plan_apply_apply(sip_livekit_server: LiveKitServer) -> None:
    number = f"+1555018{uuid.uuid4().int % 10_000:04d}"
    name = f"cli-{uuid.uuid4().hex[:8]}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "TWILIO_"))},
        "PYTHONWARNINGS": "ignore",
        "LIVEKIT_URL": sip_livekit_server.url,
        "LIVEKIT_API_KEY": sip_livekit_server.api_key,
        "LIVEKIT_API_SECRET": sip_livekit_server.api_secret,
        "TWILIO_PHONE_NUMBERS": number,
        "SIP_ALLOWED_ADDRESSES": "127.0.0.1",
        "SIP_RESOURCE_NAME": name,
        "SIP_OUTBOUND_ADDRESS": "example.pstn.twilio.com",
        "SIP_OUTBOUND_USERNAME": "agent",
        "SIP_OUTBOUND_PASSWORD": "cli-outbound-secret-99",
    }
    plan = _cli(["provision", "plan"], env)
    assert plan.returncode == 0, plan.stderr
    assert f"+ create livekit inbound trunk '{name}-inbound'" in plan.stdout
    assert "Plan: 3 to create, 0 to update, 0 to delete." in plan.stdout

    first = _cli(["provision", "apply"], env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.rstrip().endswith("Applied 3 change(s).")
    second = _cli(["provision", "apply"], env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.splitlines() == [
        "livekit: up to date", "Plan: 0 to create, 0 to update, 0 to delete.",
        "Nothing to apply."]

    wrong = _cli(["provision", "apply"], {**env, "LIVEKIT_API_SECRET": "wrong-secret-value"})
    assert wrong.returncode == 1
    assert wrong.stdout == ""
    assert wrong.stderr.strip().splitlines()[-1] == (
        "intake: provision apply failed: LiveKit rejected the API credentials "
        "(LIVEKIT_API_KEY / LIVEKIT_API_SECRET)")
    for output in (plan, first, second, wrong):
        combined = output.stdout + output.stderr
        assert "cli-outbound-secret-99" not in combined
        assert "wrong-secret-value" not in combined
