"""Cold transfer over real SIP: our `cold_transfer` makes livekit-sip send a REFER to sipp.

sipp (testbed/sipp/uac_refer.xml) calls in through a trunk and rule from our provisioning, accepts
the REFER with 202, reports the transfer target as answered (NOTIFY with a 200 sipfrag) and hangs
up. The test stands in for the agent (joins, publishes a tone so livekit-sip answers) and hands
`cold_transfer` a context with the stand-in's real room and a real LiveKit API client.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from livekit import api, rtc
from pydantic import SecretStr

from devstack.livekit_sip import LiveKitSip
from devstack.services import LiveKitServer
from sip.config import LiveKitCredentials, SipSettings
from sip.livekit_provisioning import plan_livekit
from sip.livekit_sip_api import LiveKitSipControl
from sip.plan import apply_plan
from sip.transfer import CANCELED_REFER_GRACE_S, cold_transfer
from testbed.sipp import TRANSFER_DECLINED_SCENARIO, TRANSFEREE_SCENARIO, SippCall
from tools.context import EscalationRequest

pytestmark = pytest.mark.integration

CALLED = "+15550144001"
HUMAN = "+15550190007"
# How long a test waits for something to show up; an upper bound on waiting, not a measurement.
WAIT_S = 30.0


@pytest.fixture(scope="module")
async def transfer_trunk(sip_livekit_server: LiveKitServer) -> AsyncIterator[SipSettings]:
    settings = SipSettings(
        phone_numbers=(CALLED,),
        allowed_addresses=("127.0.0.1",),
        resource_name="siptransfer",
        livekit=LiveKitCredentials(url=sip_livekit_server.url,
                                   api_key=sip_livekit_server.api_key,
                                   api_secret=SecretStr(sip_livekit_server.api_secret)),
    )
    async with LiveKitSipControl(settings.livekit) as control:  # type: ignore[arg-type]
        await apply_plan(await plan_livekit(control, settings))
    yield settings


async def _play_tone(source: rtc.AudioSource) -> None:
    samples = 480  # 10 ms at 48 kHz
    t = np.arange(samples) / 48000
    frames = 0
    while True:
        wave = 3000 * np.sin(2 * np.pi * 440 * (t + frames * samples / 48000))
        await source.capture_frame(rtc.AudioFrame(wave.astype(np.int16).tobytes(), 48000, 1,
                                                  samples))
        frames += 1


async def _call_room(lk: api.LiveKitAPI, caller: str, call: SippCall) -> str:
    async with asyncio.timeout(WAIT_S):
        while True:  # polling the server API: nothing to subscribe to before joining
            for room in (await lk.room.list_rooms(api.ListRoomsRequest())).rooms:
                people = await lk.room.list_participants(
                    api.ListParticipantsRequest(room=room.name))
                if any(p.attributes.get("sip.phoneNumber") == caller
                       for p in people.participants):
                    return str(room.name)
            assert call.running(), call.messages()[-3000:]
            await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def _answered_call(server: LiveKitServer, livekit_sip: LiveKitSip, scenario: Path,
                         **sipp: int) -> AsyncIterator[tuple[SippCall, rtc.Room, api.LiveKitAPI]]:
    """sipp calls in with `scenario`; the test joins in the agent's place and publishes a tone,
    so livekit-sip answers. Yields the call, the stand-in's room and an API client."""
    caller = "+1555017" + f"{uuid.uuid4().int % 10_000:04d}"
    call = SippCall(target=f"127.0.0.1:{livekit_sip.sip_port}", called_number=CALLED,
                    caller_number=caller, scenario=scenario, timeout_s=int(WAIT_S * 2), **sipp)
    lk = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
    room = rtc.Room()
    source = rtc.AudioSource(48000, 1)
    tone: asyncio.Task[None] | None = None
    call.start()
    try:
        room_name = await _call_room(lk, caller, call)
        token = (api.AccessToken(server.api_key, server.api_secret)
                 .with_identity(f"stand-in-agent-{uuid.uuid4().hex[:6]}")
                 .with_grants(api.VideoGrants(room_join=True, room=room_name,
                                              can_publish=True, can_subscribe=True))
                 .to_jwt())
        await room.connect(server.url, token)
        await room.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track("agent-voice", source),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        tone = asyncio.create_task(_play_tone(source))
        # livekit-sip answers (200 OK) once it has subscribed to our track
        async with asyncio.timeout(WAIT_S):
            while 200 not in call.response_codes():
                assert call.running(), call.messages()[-3000:]
                await asyncio.sleep(0.1)
        yield call, room, lk
    finally:
        call.stop()
        if tone is not None:
            tone.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tone
        await room.disconnect()
        await source.aclose()
        await lk.aclose()


def _sip_caller_present(room: rtc.Room) -> bool:
    return any(p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP
               for p in room.remote_participants.values())


async def test_cold_transfer_sends_refer_and_the_caller_leaves(
        livekit_sip: LiveKitSip, sip_livekit_server: LiveKitServer,
        transfer_trunk: SipSettings) -> None:
    async with _answered_call(sip_livekit_server, livekit_sip,
                              TRANSFEREE_SCENARIO) as (call, room, lk):
        left = asyncio.Event()
        room.on("participant_disconnected",
                lambda p: left.set() if p.kind == rtc.ParticipantKind.PARTICIPANT_KIND_SIP
                else None)
        request = EscalationRequest(category="pricing", action="transfer",
                                    transfer_number=HUMAN, source="tool",
                                    say="Let me connect you with our team.")
        ctx = SimpleNamespace(room=room, api=lk)  # what cold_transfer uses of a JobContext
        assert await cold_transfer(ctx.room, ctx.api, request) is True  # type: ignore[arg-type]

        exit_code = await asyncio.to_thread(call.wait, WAIT_S)
        assert exit_code == 0, call.messages()[-3000:]
        [refer] = call.requests_received("REFER")
        refer_to = re.search(r"^Refer-To:\s*(.+?)\s*$", refer, re.MULTILINE | re.IGNORECASE)
        assert refer_to is not None and HUMAN in refer_to.group(1)
        # the caller's leg is gone from the room: the agent's job would end here
        async with asyncio.timeout(WAIT_S):
            if _sip_caller_present(room):
                await left.wait()


async def test_a_declined_refer_returns_false_and_the_caller_stays(
        livekit_sip: LiveKitSip, sip_livekit_server: LiveKitServer,
        transfer_trunk: SipSettings) -> None:
    # A declined caller stays on the line. livekit-sip v1.8.0 sometimes reports the 603 as an
    # indeterminate "transaction failed" (see sip.transfer), which cold_transfer can only tell
    # from a completed transfer by the caller staying past its grace: so the caller stays longer.
    hold_ms = int((CANCELED_REFER_GRACE_S + 3) * 1000)
    async with _answered_call(sip_livekit_server, livekit_sip, TRANSFER_DECLINED_SCENARIO,
                              hold_ms=hold_ms) as (call, room, lk):
        request = EscalationRequest(category="urgent", action="transfer",
                                    transfer_number=HUMAN, source="guard",
                                    say="Let me get someone for you.")
        ctx = SimpleNamespace(room=room, api=lk)
        assert await cold_transfer(ctx.room, ctx.api, request) is False  # type: ignore[arg-type]
        assert len(call.requests_received("REFER")) == 1
        # the caller is still on the line with the agent, who offers a callback instead
        assert _sip_caller_present(room)

        exit_code = await asyncio.to_thread(call.wait, WAIT_S)
        assert exit_code == 0, call.messages()[-3000:]
        assert 603 in call.response_codes()


async def test_cold_transfer_without_a_sip_caller_returns_false(
        sip_livekit_server: LiveKitServer) -> None:
    """A simulated (non-SIP) caller: nothing to REFER, the agent books a callback instead."""
    server = sip_livekit_server
    room_name = f"call-{uuid.uuid4().hex[:8]}"
    lk = api.LiveKitAPI(server.url, server.api_key, server.api_secret)
    caller, agent = rtc.Room(), rtc.Room()

    def token(identity: str) -> str:
        return (api.AccessToken(server.api_key, server.api_secret).with_identity(identity)
                .with_grants(api.VideoGrants(room_join=True, room=room_name)).to_jwt())

    try:
        await caller.connect(server.url, token("caller"))
        await agent.connect(server.url, token("agent"))  # the join lists who is there
        assert "caller" in agent.remote_participants
        request = EscalationRequest(category="legal", action="transfer", transfer_number=HUMAN,
                                    source="guard", say="One moment.")
        ctx = SimpleNamespace(room=agent, api=lk)
        assert await cold_transfer(ctx.room, ctx.api, request) is False  # type: ignore[arg-type]
    finally:
        await caller.disconnect()
        await agent.disconnect()
        await lk.aclose()
