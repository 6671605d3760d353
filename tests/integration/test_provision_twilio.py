"""Twilio provisioning through the real `twilio` client against the local Twilio REST simulator.

Only the client's HTTP layer is redirected (TWILIO_API_BASE); the assertions are on the exact
requests that reached the server: method, path, form body.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from pydantic import SecretStr

from sip.config import SipSettings, TwilioCredentials
from sip.plan import ProvisioningError, apply_plan
from sip.twilio_provisioning import plan_twilio
from sip.twilio_trunk_api import TwilioTrunkProvider
from twilio_simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioSimulator

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NUMBER_A = "+15550143001"
NUMBER_B = "+15550143002"
ACCT = f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}"
TK1 = "TK" + f"{1:032x}"
OU1 = "OU" + f"{1:032x}"
PN1 = "PN" + f"{1:032x}"
PN2 = "PN" + f"{2:032x}"


@pytest.fixture
async def simulator() -> AsyncIterator[TwilioSimulator]:
    sim = TwilioSimulator()
    sim.add_phone_number(NUMBER_A)
    sim.add_phone_number(NUMBER_B)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def _settings(sim: TwilioSimulator, *, token: str = DEFAULT_AUTH_TOKEN,
              numbers: tuple[str, ...] = (NUMBER_A,)) -> SipSettings:
    return SipSettings(
        phone_numbers=numbers,
        twilio=TwilioCredentials(account_sid=DEFAULT_ACCOUNT_SID, auth_token=SecretStr(token),
                                 api_base=sim.base_url),
        livekit_sip_uri="sip:sip.example.test:5060",
        origination_priority=10,
        origination_weight=20,
    )


def _provider(settings: SipSettings) -> TwilioTrunkProvider:
    assert settings.twilio is not None
    return TwilioTrunkProvider(settings.twilio)


READS_BEFORE_TRUNK = [
    ("GET", f"{ACCT}.json", {}),
    ("GET", "/v1/Trunks", {}),
    ("GET", f"{ACCT}/IncomingPhoneNumbers.json", {}),
]


async def test_first_apply_sends_exactly_these_requests(simulator: TwilioSimulator) -> None:
    settings = _settings(simulator)
    await apply_plan(await plan_twilio(_provider(settings), settings))

    assert [r.brief() for r in simulator.requests] == [
        *READS_BEFORE_TRUNK,
        ("POST", "/v1/Trunks", {"FriendlyName": "intake", "Secure": "false"}),
        ("POST", f"/v1/Trunks/{TK1}/OriginationUrls", {
            "Weight": "20", "Priority": "10", "Enabled": "true",
            "FriendlyName": "intake livekit-sip", "SipUrl": "sip:sip.example.test:5060"}),
        ("POST", f"/v1/Trunks/{TK1}/PhoneNumbers", {"PhoneNumberSid": PN1}),
    ]
    assert simulator.requests[2].query_dict == {"PhoneNumber": NUMBER_A}
    assert all(r.authorized for r in simulator.requests)
    assert simulator.snapshot()["numbers"] == {NUMBER_A: TK1, NUMBER_B: None}


async def test_second_apply_only_reads(simulator: TwilioSimulator) -> None:
    settings = _settings(simulator)
    await apply_plan(await plan_twilio(_provider(settings), settings))
    simulator.clear_requests()

    plan = await plan_twilio(_provider(settings), settings)
    assert plan.is_empty, plan.render()
    await apply_plan(plan)
    assert [r.brief() for r in simulator.requests] == [
        *READS_BEFORE_TRUNK,
        ("GET", f"/v1/Trunks/{TK1}/OriginationUrls", {}),
        ("GET", f"/v1/Trunks/{TK1}/PhoneNumbers", {}),
    ]


async def test_changes_are_updates_and_removals(simulator: TwilioSimulator) -> None:
    settings = _settings(simulator)
    await apply_plan(await plan_twilio(_provider(settings), settings))
    simulator.clear_requests()

    changed = replace(settings, secure_trunking=True,
                      livekit_sip_uri="sip:sip.example.test:5061;transport=tls",
                      origination_weight=30, phone_numbers=(NUMBER_B,))
    plan = await plan_twilio(_provider(changed), changed)
    assert [(c.action, c.kind, c.name) for c in plan.changes] == [
        ("update", "SIP trunk", "intake"),
        ("create", "origination URL", "sip:sip.example.test:5061;transport=tls"),
        ("delete", "origination URL", "sip:sip.example.test:5060"),
        ("create", "phone number association", NUMBER_B),
        ("delete", "phone number association", NUMBER_A),
    ]
    simulator.clear_requests()
    await apply_plan(plan)
    assert [r.brief() for r in simulator.writes] == [
        ("POST", f"/v1/Trunks/{TK1}", {"Secure": "true"}),
        ("POST", f"/v1/Trunks/{TK1}/OriginationUrls", {
            "Weight": "30", "Priority": "10", "Enabled": "true",
            "FriendlyName": "intake livekit-sip",
            "SipUrl": "sip:sip.example.test:5061;transport=tls"}),
        ("DELETE", f"/v1/Trunks/{TK1}/OriginationUrls/{OU1}", {}),
        ("POST", f"/v1/Trunks/{TK1}/PhoneNumbers", {"PhoneNumberSid": PN2}),
        ("DELETE", f"/v1/Trunks/{TK1}/PhoneNumbers/{PN1}", {}),
    ]
    assert (await plan_twilio(_provider(changed), changed)).is_empty


async def test_wrong_token_is_one_clear_error_and_writes_nothing(
        simulator: TwilioSimulator) -> None:
    settings = _settings(simulator, token="not-the-token")
    with pytest.raises(ProvisioningError) as info:
        await plan_twilio(_provider(settings), settings)
    assert str(info.value) == (
        "Twilio rejected the credentials (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)")
    assert [r.brief() for r in simulator.requests] == [("GET", f"{ACCT}.json", {})]
    assert not simulator.requests[0].authorized


async def test_unknown_number_fails_before_any_write(simulator: TwilioSimulator) -> None:
    settings = _settings(simulator, numbers=(NUMBER_A, "+15550143999"))
    with pytest.raises(ProvisioningError,
                       match="TWILIO_PHONE_NUMBERS entry 2 is not a number in this Twilio"):
        await plan_twilio(_provider(settings), settings)
    assert simulator.writes == []


async def test_failure_midway_rolls_back_the_trunk(simulator: TwilioSimulator) -> None:
    settings = _settings(simulator)
    plan = await plan_twilio(_provider(settings), settings)
    simulator.fail_next("POST", r"/PhoneNumbers$")
    with pytest.raises(ProvisioningError) as info:
        await apply_plan(plan)
    assert "rolled back 2 earlier change(s)" in str(info.value)
    assert [(r.method, r.path) for r in simulator.writes] == [
        ("POST", "/v1/Trunks"),
        ("POST", f"/v1/Trunks/{TK1}/OriginationUrls"),
        ("POST", f"/v1/Trunks/{TK1}/PhoneNumbers"),
        ("DELETE", f"/v1/Trunks/{TK1}/OriginationUrls/{OU1}"),
        ("DELETE", f"/v1/Trunks/{TK1}"),
    ]
    assert simulator.trunks == {} and simulator.origination_urls == {}


def test_cli_against_the_simulator_never_prints_the_token() -> None:
    sim = TwilioSimulator()
    sim.add_phone_number(NUMBER_A)
    with sim.running() as base_url:
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("LIVEKIT_", "TWILIO_"))},
            "PYTHONWARNINGS": "ignore",
            "TWILIO_ACCOUNT_SID": DEFAULT_ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": DEFAULT_AUTH_TOKEN,
            "TWILIO_API_BASE": base_url,
            "TWILIO_PHONE_NUMBERS": NUMBER_A,
            "LIVEKIT_SIP_URI": "sip:sip.example.test:5060",
        }
        runs = [subprocess.run([sys.executable, "-m", "agent.cli", "provision", action,
                                "--only", "twilio"], cwd=ROOT, env=env, capture_output=True,
                               text=True, timeout=120)
                for action in ("plan", "apply", "apply")]
        bad = subprocess.run([sys.executable, "-m", "agent.cli", "provision", "plan"], cwd=ROOT,
                             env={**env, "TWILIO_AUTH_TOKEN": "bad-token-xyz"},
                             capture_output=True, text=True, timeout=120)
    assert [r.returncode for r in runs] == [0, 0, 0], [r.stderr for r in runs]
    assert "+ create twilio SIP trunk 'intake'" in runs[0].stdout
    assert runs[1].stdout.rstrip().endswith("Applied 3 change(s).")
    assert runs[2].stdout.splitlines()[-1] == "Nothing to apply."
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines()[-1] == (
        "intake: provision plan failed: Twilio rejected the credentials "
        "(TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)")
    for run in (*runs, bad):
        assert DEFAULT_AUTH_TOKEN not in run.stdout + run.stderr
        assert "bad-token-xyz" not in run.stdout + run.stderr
