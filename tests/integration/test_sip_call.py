"""Real SIP calls: sipp -> livekit-sip -> livekit-server, with trunk and rule from our provisioning.

livekit-sip keeps an inbound call ringing until it can subscribe to a track someone else in the
room publishes (normally the agent's voice). The test takes the agent's place: it joins, publishes
a tone, and listens; the caller's synthesized speech reaching it proves the G.711 RTP from sipp
made it into the room, and sipp's clean exit proves the call was answered and ended by BYE.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator

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
from testbed.sipp import SippCall

pytestmark = pytest.mark.integration

CALLED = "+15550142001"
UNKNOWN = "+15550142999"
# How long a test waits for something to show up; an upper bound on waiting, not a measurement.
WAIT_S = 30.0


@pytest.fixture(scope="module")
async def provisioned(sip_livekit_server: LiveKitServer) -> AsyncIterator[SipSettings]:
    settings = SipSettings(
        phone_numbers=(CALLED,),
        allowed_addresses=("127.0.0.1",),
        resource_name="sipcall",
        livekit=LiveKitCredentials(url=sip_livekit_server.url,
                                   api_key=sip_livekit_server.api_key,
                                   api_secret=SecretStr(sip_livekit_server.api_secret)),
    )
    async with LiveKitSipControl(settings.livekit) as control:  # type: ignore[arg-type]
        await apply_plan(await plan_livekit(control, settings))
    yield settings


@pytest.fixture
async def lkapi(sip_livekit_server: LiveKitServer) -> AsyncIterator[api.LiveKitAPI]:
    client = api.LiveKitAPI(sip_livekit_server.url, sip_livekit_server.api_key,
                            sip_livekit_server.api_secret)
    try:
        yield client
    finally:
        await client.aclose()


def _caller() -> str:
    # a distinct caller per test keeps the participants of different tests apart
    return "+1555017" + f"{uuid.uuid4().int % 10_000:04d}"


async def _sip_participants(lk: api.LiveKitAPI,
                            caller: str) -> list[tuple[str, api.ParticipantInfo]]:
    found: list[tuple[str, api.ParticipantInfo]] = []
    rooms = await lk.room.list_rooms(api.ListRoomsRequest())
    for room in rooms.rooms:
        people = await lk.room.list_participants(api.ListParticipantsRequest(room=room.name))
        for participant in people.participants:
            if participant.attributes.get("sip.phoneNumber") == caller:
                found.append((room.name, participant))
    return found


async def _wait_for_sip_participant(lk: api.LiveKitAPI, caller: str,
                                    call: SippCall) -> tuple[str, api.ParticipantInfo]:
    async with asyncio.timeout(WAIT_S):
        while True:
            found = await _sip_participants(lk, caller)
            if found:
                return found[0]
            assert call.running() or call.wait(0) == 0, call.messages()[-2000:]
            await asyncio.sleep(0.2)


async def _play_tone(source: rtc.AudioSource) -> None:
    rate, samples = 48000, 480  # 10 ms frames of a 440 Hz tone
    t = np.arange(samples) / rate
    phase = 0
    while True:
        tone = (3000 * np.sin(2 * np.pi * 440 * (t + phase * samples / rate))).astype(np.int16)
        frame = rtc.AudioFrame(tone.tobytes(), rate, 1, samples)
        await source.capture_frame(frame)
        phase += 1


async def _answer_and_listen(server: LiveKitServer, room_name: str, identity: str) -> float:
    """Join in the agent's place, publish a tone and return the loudest caller frame's RMS."""
    token = (api.AccessToken(server.api_key, server.api_secret)
             .with_identity(f"stand-in-agent-{uuid.uuid4().hex[:6]}")
             .with_grants(api.VideoGrants(room_join=True, room=room_name,
                                          can_publish=True, can_subscribe=True))
             .to_jwt())
    room = rtc.Room()
    track_ready: asyncio.Future[rtc.Track] = asyncio.get_running_loop().create_future()

    @room.on("track_subscribed")
    def _on_track(track: rtc.Track, pub: rtc.RemoteTrackPublication,
                  participant: rtc.RemoteParticipant) -> None:
        if participant.identity == identity and track.kind == rtc.TrackKind.KIND_AUDIO \
                and not track_ready.done():
            track_ready.set_result(track)

    await room.connect(server.url, token)
    source = rtc.AudioSource(48000, 1)
    tone_task: asyncio.Task[None] | None = None
    loudest = 0.0
    try:
        await room.local_participant.publish_track(
            rtc.LocalAudioTrack.create_audio_track("agent-voice", source),
            rtc.TrackPublishOptions(source=rtc.TrackSource.SOURCE_MICROPHONE))
        tone_task = asyncio.create_task(_play_tone(source))
        async with asyncio.timeout(WAIT_S):
            track = await track_ready
        stream = rtc.AudioStream(track, sample_rate=8000, num_channels=1)
        try:
            async with asyncio.timeout(WAIT_S):
                async for event in stream:
                    samples = np.frombuffer(event.frame.data, dtype=np.int16).astype(np.float64)
                    if samples.size:
                        loudest = max(loudest, float(np.sqrt(np.mean(samples ** 2))))
                    if loudest > 500.0:
                        break
        finally:
            await stream.aclose()
    finally:
        if tone_task is not None:
            tone_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await tone_task
        await room.disconnect()
        await source.aclose()
    return loudest


async def test_call_to_provisioned_number_lands_in_a_call_room_with_caller_audio(
        livekit_sip: LiveKitSip, sip_livekit_server: LiveKitServer, provisioned: SipSettings,
        lkapi: api.LiveKitAPI) -> None:
    caller = _caller()
    call = SippCall(target=f"127.0.0.1:{livekit_sip.sip_port}", called_number=CALLED,
                    caller_number=caller, hold_ms=2500, timeout_s=60)
    call.start()
    try:
        room_name, participant = await _wait_for_sip_participant(lkapi, caller, call)

        assert room_name.startswith("call-")
        assert participant.kind == api.ParticipantInfo.Kind.SIP
        assert participant.attributes["sip.phoneNumber"] == caller
        assert participant.attributes["sip.trunkPhoneNumber"] == CALLED
        dispatches = await lkapi.agent_dispatch.list_dispatch(room_name)
        assert [d.agent_name for d in dispatches] == ["intake-agent"]
        assert json.loads(dispatches[0].metadata) == {
            "call_direction": "inbound", "provisioned_by": "sipcall"}

        loudest = await _answer_and_listen(sip_livekit_server, room_name, participant.identity)
        assert loudest > 500.0, "the caller's RTP audio did not reach the room"

        exit_code = await asyncio.to_thread(call.wait, WAIT_S + 60)
        assert exit_code == 0, call.messages()[-3000:]
        assert 200 in call.response_codes()
        async with asyncio.timeout(WAIT_S):
            while True:  # polling the server API: there is no event to wait on here
                if not await _sip_participants(lkapi, caller):  # BYE takes the caller out
                    break
                await asyncio.sleep(0.2)
    finally:
        call.stop()


async def test_call_to_unknown_number_is_refused_and_reaches_no_room(
        livekit_sip: LiveKitSip, provisioned: SipSettings, lkapi: api.LiveKitAPI) -> None:
    caller = _caller()
    call = SippCall(target=f"127.0.0.1:{livekit_sip.sip_port}", called_number=UNKNOWN,
                    caller_number=caller, hold_ms=1000, timeout_s=6)
    call.start()
    try:
        exit_code = await asyncio.to_thread(call.wait, WAIT_S)
    finally:
        call.stop()
    assert exit_code != 0
    # livekit-sip drops INVITEs that match no trunk without a final answer (scanner hiding)
    assert 200 not in call.response_codes()
    assert await _sip_participants(lkapi, caller) == []


async def test_call_from_an_address_not_allowed_is_refused(
        livekit_sip: LiveKitSip, provisioned: SipSettings, lkapi: api.LiveKitAPI) -> None:
    caller = _caller()
    # 127.0.0.2 is loopback too, but not in the trunk's allowed addresses (127.0.0.1)
    call = SippCall(target=f"127.0.0.1:{livekit_sip.sip_port}", called_number=CALLED,
                    caller_number=caller, local_ip="127.0.0.2", hold_ms=1000, timeout_s=6)
    call.start()
    try:
        exit_code = await asyncio.to_thread(call.wait, WAIT_S)
    finally:
        call.stop()
    assert exit_code != 0
    assert 200 not in call.response_codes()
    assert await _sip_participants(lkapi, caller) == []
