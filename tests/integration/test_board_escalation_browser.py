"""An escalation rings the live board first, in a real browser (Debian's headless Chromium through
Playwright, a fake microphone playing espeak speech), against the real `intake dashboard`,
livekit-server, worker and Realtime simulator, with the simulated caller on the line: the caller
asks for a person, the supervisor on the board accepts within the ring time, the call's page shows
the briefing and publishes the supervisor's microphone, the caller hears them, and no phone rings.
Screenshots go to docs/screenshots/ (INTAKE_SCREENSHOT_DIR)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from testbed.supervisor import HeardFrom

from .test_call_spine import _record
from .test_live_audio_browser import (  # noqa: F401 (console_url is a fixture)
    SHOTS,
    SUPERVISOR,
    SUPERVISOR_LINE,
    _browser,
    _fake_mic,
    _participants,
    _signed_in,
    _until,
    console_url,
)

pytestmark = pytest.mark.integration

WAIT_MS = 20_000
PROBLEM = "water heater leaking in the basement"
ASKS_FOR_A_PERSON = f"""
name: board-escalation
caller: {{number: "+15125550142"}}
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - tool: record_field
        arguments: {{field: problem, value: "{PROBLEM}"}}
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "Actually, can I talk to a real person please?"
    agent:
      - say: "Of course, let me get someone for you."
  - caller: "Hello, thanks for picking up."
    agent: []
  - hangup: true
    pause_before_ms: 300
"""


async def test_a_supervisor_accepts_a_ringing_escalation_on_the_board_and_the_caller_hears_them(
        call_stack: LocalStack, console_url: str, tmp_path: Path) -> None:  # noqa: F811
    url = console_url
    call_id = f"brd{uuid.uuid4().hex[:9]}"
    seen: dict[str, Any] = {}
    ears: list[HeardFrom] = []
    mic = _fake_mic(tmp_path / "supervisor.wav", (SUPERVISOR_LINE,), lead_s=0.5, gap_s=0,
                    tail_s=1.5)
    try:
        async with _browser(mic) as browser:
            page = await _signed_in(browser, url, SUPERVISOR, "/live")
            # the open board counts its supervisor as present: an escalation rings it first
            await expect(page.locator("#board-connection")).to_have_text("Live")
            await expect(page.locator("#board-present")).to_contain_text(SUPERVISOR)

            async def before_line(index: int, caller: SimulatedCaller) -> None:
                if index != 2:
                    return
                # the caller asked for a person: the board rings, with its cue
                row = page.locator(f'tr[data-call-id="{call_id}"]')
                await expect(row).to_contain_text("Ringing: Human request", timeout=WAIT_MS)
                await expect(row).to_have_class("attention")
                await expect(row).to_contain_text("Caller asked for a person")
                await page.screenshot(path=str(SHOTS / "board-escalation-ringing.png"),
                                      full_page=True)
                ear = HeardFrom(caller.room, "supervisor:")
                ears.append(ear)
                await row.get_by_role("button", name=f"Accept call {call_id[:8]}").click()
                # accepted: the call's page, with the briefing and the microphone going live
                await expect(page).to_have_url(f"{url}/live/{call_id}")
                briefing = page.locator("#call-briefing")
                await expect(briefing).to_be_visible()
                await expect(page.locator("#briefing-reason")).to_contain_text(
                    "Reason: Human request.")
                await expect(page.locator("#briefing-reason")).to_contain_text(
                    "Still missing: Location")
                fields = page.locator("#briefing-fields")
                await expect(fields.locator("dt")).to_have_text(["Problem"])
                await expect(fields.locator("dd")).to_have_text([PROBLEM])
                await expect(page.locator("#call-notice")).to_have_text(
                    "Accepted: you have taken the call over.")
                controls = page.locator("[data-live-audio]")
                await expect(controls).to_have_attribute("data-ready", "true")
                await expect(controls).to_have_attribute("data-publishing", "true",
                                                         timeout=WAIT_MS)
                await expect(page.locator("#call-supervisor")).to_have_text(
                    f"Taken over by {SUPERVISOR}", timeout=WAIT_MS)
                await _until(lambda: ear.loud_frames > 20, 20,
                             "the caller never heard the supervisor's microphone")
                seen["loud_frames"] = ear.loud_frames
                seen["publishers"] = [
                    p.identity for p in await _participants(call_stack, f"call-{call_id}")
                    if p.identity.startswith("supervisor:") and p.tracks]
                await page.screenshot(path=str(SHOTS / "board-escalation-accepted.png"),
                                      full_page=True)

            await call_stack.place_call(parse_scenario(ASKS_FOR_A_PERSON), call_id=call_id,
                                        before_line=before_line)
    finally:
        for ear in ears:
            await ear.aclose()
    assert seen["loud_frames"] > 20
    assert seen["publishers"] == [f"supervisor:{SUPERVISOR}"]
    record = await _record(call_stack, call_id, timeout=30)
    supervision = [(e["payload"]["action"], e["payload"].get("by")) for e in record["events"]
                   if e["kind"] == "supervision"]
    assert supervision == [("board_ring", None), ("take_over", SUPERVISOR),
                           ("board_ring_accepted", SUPERVISOR)], supervision
    escalations = [e["payload"] for e in record["events"] if e["kind"] == "escalation"]
    assert {"category": "human_request", "stage": "board", "answered": True} in escalations
    # the board answered: no phone transfer was tried, no callback offered in its place
    assert not [e for e in escalations
                if e.get("stage") in ("hold", "warm_transfer", "transfer")], escalations
    statuses = [e["payload"].get("status") for e in record["events"] if e["kind"] == "status"]
    assert "callback_booked" not in statuses
    # the caller's words to the supervisor are still in the record
    assert any("thanks for picking up" in t["text"].lower() for t in record["turns"]
               if t["role"] == "caller")
