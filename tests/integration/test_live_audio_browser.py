"""Live audio in a real browser (Debian's headless Chromium through Playwright, a fake
microphone playing espeak speech), against the real `intake dashboard`, livekit-server, worker
and Realtime simulator, with the simulated caller on the line: a supervisor listens unseen, a
supervisor's microphone reaches the caller on a take-over, and a test call from the page.
Screenshots go to docs/screenshots/ (INTAKE_SCREENSHOT_DIR)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
import wave
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from livekit import api
from playwright.async_api import Browser, Page, async_playwright, expect

from audio.speech import render_speech_pcm16
from devstack.local_call import LocalStack
from devstack.paths import project_root
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from testbed.supervisor import HeardFrom
from tests.console_support import PASSWORD, add_user, dashboard_process

from .test_call_spine import _record

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/lib/chromium/chromium"
SHOTS = Path(os.environ.get("INTAKE_SCREENSHOT_DIR") or project_root() / "docs" / "screenshots")
SUPERVISOR = "sally"
OPERATOR = "otto"
MIC_RATE = 48000
SUPERVISOR_LINE = "Hi, this is Sally from the team. I can help you with that today."
LEVEL = 0.02  # RMS (full scale 1.0) that only real audio reaches; silence reads 0.0
TWO_LINES = """
name: supervised-audio
caller: {number: "+15125550142"}
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - tool: record_field
        arguments: {field: problem, value: "water heater leaking in the basement"}
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "It's forty two Elm Street in Round Rock."
    agent:
      - say: "Thanks. And what's your name?"
  - hangup: true
    pause_before_ms: 300
"""
TEST_CALL_LINES = ("Hi, my kitchen sink is leaking.", "Forty two Elm Street in Round Rock.")
TEST_CALL_REPLIES = ("I'm sorry to hear that. Where is the property?",
                     "Thanks. Round Rock is in our service area.")
TEST_CALL = f"""
name: browser-test-call
turns:
  - caller: "{TEST_CALL_LINES[0]}"
    agent:
      - tool: record_field
        arguments: {{field: problem, value: "kitchen sink leaking"}}
      - say: "{TEST_CALL_REPLIES[0]}"
  - caller: "{TEST_CALL_LINES[1]}"
    agent:
      - tool: record_field
        arguments: {{field: location, value: "42 Elm Street, Round Rock"}}
      - say: "{TEST_CALL_REPLIES[1]}"
"""


def _fake_mic(path: Path, lines: tuple[str, ...], *, lead_s: float, gap_s: float,
              tail_s: float) -> Path:
    """A WAV for Chromium's fake microphone: the lines spoken (espeak) with silence between
    them; Chromium loops the file, so the long tail keeps it from starting over mid-test."""
    silence = b"\x00\x00"
    pcm = silence * int(lead_s * MIC_RATE)
    for index, line in enumerate(lines):
        if index:
            pcm += silence * int(gap_s * MIC_RATE)
        pcm += render_speech_pcm16(line, MIC_RATE, cache=True)
    pcm += silence * int(tail_s * MIC_RATE)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(MIC_RATE)
        out.writeframes(pcm)
    return path


@pytest.fixture(scope="module")
async def console_url(call_stack: LocalStack) -> AsyncIterator[str]:
    """`intake dashboard` on the call stack's database and livekit-server, with a supervisor
    and an operator account."""
    assert call_stack.livekit is not None and call_stack.database_url is not None
    for name, role in ((SUPERVISOR, "supervisor"), (OPERATOR, "operator")):
        await add_user(call_stack.database_url, name, role)
    assert call_stack.redis_url is not None
    env = {**os.environ, "INTAKE_DATABASE_URL": call_stack.database_url,
           "INTAKE_REDIS_URL": call_stack.redis_url,
           "LIVEKIT_URL": call_stack.livekit.url, "LIVEKIT_API_KEY": call_stack.livekit.api_key,
           "LIVEKIT_API_SECRET": call_stack.livekit.api_secret,
           "INTAKE_AGENT_NAME": call_stack.agent_name}
    async with dashboard_process(env) as (url, server):
        yield url
    log = server.log_path.read_text(errors="replace")
    # neither the LiveKit secret nor a token reached the console's log
    assert call_stack.livekit.api_secret not in log and "eyJ" not in log


@contextlib.asynccontextmanager
async def _browser(microphone: Path) -> AsyncIterator[Browser]:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone}",
            "--autoplay-policy=no-user-gesture-required"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def _signed_in(browser: Browser, url: str, name: str, path: str) -> Page:
    context = await browser.new_context(viewport={"width": 1280, "height": 860})
    page = await context.new_page()
    await page.goto(url + path)
    await page.get_by_label("Account name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(url + path)
    return page


async def _peak_above(page: Page, role: str, level: float, timeout_s: float) -> float:
    """Waits until the page's meter for `role`'s audio has peaked above `level`."""
    await page.wait_for_function(
        "([role, level]) => [...document.querySelectorAll(`[data-levels] li[data-role=${role}]`)]"
        ".some(li => parseFloat(li.dataset.peak) > level)", arg=[role, level],
        timeout=timeout_s * 1000)
    peaks = await page.locator(f"[data-levels] li[data-role={role}]").evaluate_all(
        "items => items.map(li => parseFloat(li.dataset.peak))")
    return float(max(peaks))


async def _until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(what)
        await asyncio.sleep(0.05)


async def _participants(stack: LocalStack, room: str) -> list[Any]:
    async with stack.api() as lkapi:
        listed = await lkapi.room.list_participants(api.ListParticipantsRequest(room=room))
    return list(listed.participants)


async def test_a_supervisor_listens_unseen_to_the_caller_and_the_agent_and_cannot_publish(
        call_stack: LocalStack, console_url: str, tmp_path: Path) -> None:
    call_id = f"lis{uuid.uuid4().hex[:9]}"
    room = f"call-{call_id}"
    seen: dict[str, Any] = {}
    mic = _fake_mic(tmp_path / "supervisor.wav", (SUPERVISOR_LINE,), lead_s=0.5, gap_s=0,
                    tail_s=2)
    async with _browser(mic) as browser:
        page = await _signed_in(browser, console_url, SUPERVISOR, f"/live/{call_id}/audio")
        controls = page.locator("[data-live-audio]")

        async def before_line(index: int, caller: SimulatedCaller) -> None:
            if index == 0:
                await page.get_by_role("button", name="Listen", exact=True).click()
                await expect(controls).to_have_attribute("data-listening", "true",
                                                         timeout=15_000)
                # both remote tracks subscribed before the caller's first line
                await expect(page.locator("[data-levels] li[data-role=agent]")).to_have_count(1)
                await expect(page.locator("[data-levels] li[data-role=caller]")).to_have_count(1)
            if index != 2:
                return
            seen["agent_peak"] = await _peak_above(page, "agent", LEVEL, 20)
            seen["caller_peak"] = await _peak_above(page, "caller", LEVEL, 20)
            seen["can_publish_attribute"] = await controls.get_attribute("data-can-publish")
            seen["publish_attempt"] = await page.evaluate(
                "() => window.intakeLiveAudio.listenRoom.localParticipant"
                ".setMicrophoneEnabled(true).then(() => 'published', e => 'refused: ' + e)")
            seen["participants"] = await _participants(call_stack, room)
            seen["caller_sees"] = sorted(caller.room.remote_participants)
            await page.screenshot(path=str(SHOTS / "live-audio-listen.png"), full_page=True)
            await page.get_by_role("button", name="Stop listening").click()
            await expect(controls).to_have_attribute("data-listening", "false")

        await call_stack.place_call(parse_scenario(TWO_LINES), call_id=call_id,
                                    before_line=before_line)
    assert seen["agent_peak"] > LEVEL and seen["caller_peak"] > LEVEL
    # the listener cannot publish: its grant says so, the client refuses, the server has no
    # track of it; and it is hidden from the caller
    assert seen["can_publish_attribute"] == "false"
    assert seen["publish_attempt"].startswith("refused"), seen["publish_attempt"]
    listener = next(p for p in seen["participants"]
                    if p.identity == f"supervisor:listen:{SUPERVISOR}")
    assert listener.permission.can_publish is False and listener.permission.hidden is True
    assert len(listener.tracks) == 0
    assert not any(i.startswith("supervisor:") for i in seen["caller_sees"]), seen["caller_sees"]
    # the record says who listened, from when to when
    record = await _record(call_stack, call_id, timeout=30)
    audit = [(e["payload"]["action"], e["payload"].get("by")) for e in record["events"]
             if e["kind"] == "supervision"]
    assert audit == [("listen_start", SUPERVISOR), ("listen_stop", SUPERVISOR)], audit


async def test_on_a_take_over_the_caller_hears_the_supervisors_browser_microphone(
        call_stack: LocalStack, console_url: str, tmp_path: Path) -> None:
    assert call_stack.redis_url is not None
    sim = call_stack.simulator
    assert sim is not None
    call_id = f"tko{uuid.uuid4().hex[:9]}"
    seen: dict[str, Any] = {}
    ears: list[HeardFrom] = []
    mic = _fake_mic(tmp_path / "supervisor.wav", (SUPERVISOR_LINE,), lead_s=0.5, gap_s=0,
                    tail_s=1.5)
    try:
        async with _browser(mic) as browser:
            page = await _signed_in(browser, console_url, SUPERVISOR, "/live")
            controls = page.locator("[data-live-audio]")

            async def before_line(index: int, caller: SimulatedCaller) -> None:
                if index != 1:
                    return
                # the live call page: its Take over button sends the command, and the
                # microphone follows the reply
                await page.goto(f"{console_url}/live/{call_id}")
                report = caller.report
                # the reply to the first line was heard to its end, then the take-over
                await _until(lambda: len(report.segments) >= 2
                             and report.segments[-1].ended_at is not None
                             and report.segments[-1].started_at
                             > report.turns[0].speech_ended_at, 20, "no reply to line one")
                ear = HeardFrom(caller.room, "supervisor:")
                ears.append(ear)
                seen["take_over_wire"] = len(sim.wire_log)
                # the page's scripts (live.js runs first, deferred) have wired the buttons
                await expect(controls).to_have_attribute("data-ready", "true")
                await page.locator("#take-over").click()
                await expect(controls).to_have_attribute("data-publishing", "true",
                                                         timeout=15_000)
                await _until(lambda: ear.loud_frames > 20, 20,
                             "the caller never heard the supervisor's microphone")
                seen["loud_frames"] = ear.loud_frames
                # agent audio already on its way when the command landed is cut within moments;
                # once the supervisor is heard, none at all
                heard_at = ear.first_heard_at
                assert heard_at is not None
                seen["agent_over_supervisor"] = [
                    s for s in report.segments
                    if (s.ended_at or time.monotonic()) >= heard_at]
                seen["publishers"] = [
                    p.identity for p in await _participants(call_stack, f"call-{call_id}")
                    if p.identity.startswith("supervisor:") and p.tracks]
                await page.screenshot(path=str(SHOTS / "live-audio-take-over.png"),
                                      full_page=True)
                seen["hand_back_wire"] = len(sim.wire_log)
                await page.locator("#hand-back").click()
                # handing back turns the microphone off
                await expect(controls).to_have_attribute("data-publishing", "false",
                                                         timeout=15_000)

            await call_stack.place_call(parse_scenario(TWO_LINES), call_id=call_id,
                                        before_line=before_line)
    finally:
        for ear in ears:
            await ear.aclose()
    assert seen["loud_frames"] > 20
    assert seen["publishers"] == [f"supervisor:{SUPERVISOR}"]
    assert seen["agent_over_supervisor"] == [], seen
    replies = [w for w in sim.wire_log[seen["take_over_wire"]:seen["hand_back_wire"]]
               if w.direction == "server" and w.event.get("type") == "response.created"]
    assert replies == [], "the model answered while the supervisor had the call"
    record = await _record(call_stack, call_id, timeout=30)
    actions = [e["payload"]["action"] for e in record["events"] if e["kind"] == "supervision"]
    assert actions == ["take_over", "hand_back"]


async def test_a_test_call_from_the_browser_is_greeted_and_stored_as_a_test_call(
        call_stack: LocalStack, console_url: str, tmp_path: Path) -> None:
    assert call_stack.simulator is not None
    call_stack.simulator.begin_call(parse_scenario(TEST_CALL))
    # the greeting plays first; each line waits for the reply before it
    mic = _fake_mic(tmp_path / "caller.wav", TEST_CALL_LINES, lead_s=7, gap_s=7, tail_s=60)
    async with _browser(mic) as browser:
        page = await _signed_in(browser, console_url, OPERATOR, "/test-call")
        widget = page.locator("[data-test-call]")
        await page.get_by_role("button", name="Start test call").click()
        await expect(widget).to_have_attribute("data-connected", "true", timeout=15_000)
        call_id = await widget.get_attribute("data-call-id")
        assert call_id
        transcript = page.locator("[data-transcript] li")
        await expect(transcript.filter(has_text="Thanks for calling Brightline")).to_have_count(
            1, timeout=20_000)
        agent_peak = await _peak_above(page, "agent", LEVEL, 10)
        for line, reply in zip(TEST_CALL_LINES, TEST_CALL_REPLIES, strict=True):
            await expect(transcript.filter(has_text=line)).to_have_count(1, timeout=30_000)
            await expect(transcript.filter(has_text=reply)).to_have_count(1, timeout=30_000)
        speakers = await transcript.evaluate_all("items => items.map(li => li.dataset.speaker)")
        await page.screenshot(path=str(SHOTS / "test-call.png"), full_page=True)
        await page.get_by_role("button", name="Hang up").click()
        await expect(widget).to_have_attribute("data-connected", "false")
    assert agent_peak > LEVEL
    assert speakers[0] == "agent" and speakers.count("caller") == 2
    record = await _record(call_stack, call_id, timeout=30)
    metadata = record["call"]["metadata"]
    assert metadata["test_call"] is True and metadata["source"] == "console-test"
    assert metadata["started_by"] == OPERATOR
    caller_turns = [t["text"] for t in record["turns"] if t["role"] == "caller"]
    assert caller_turns == list(TEST_CALL_LINES)
    fields = record["outcome"]["fields"]
    assert fields["problem"] == "kitchen sink leaking"
    assert fields["location"] == "42 Elm Street, Round Rock"
