"""Live supervision in a real browser (Debian's headless Chromium through Playwright) against
the real stack: `intake dashboard` on the stack's Redis and Postgres, livekit-server, a worker
process, the Realtime simulator, and the simulated caller on the line. Screenshots go to
docs/screenshots/ (INTAKE_SCREENSHOT_DIR)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis.asyncio as aioredis
from playwright.async_api import Page, expect

from devstack.local_call import LocalStack
from realtime_simulator import parse_scenario
from simulated_caller import SimulatedCaller
from state.redis_live import LIVE_INDEX, call_key, heartbeat_key
from tests.console_support import PASSWORD, dashboard_process

from .test_call_spine import _record
from .test_console_browser import _intake, _shot, _signed_in, browser  # noqa: F401

pytestmark = pytest.mark.integration

SUPERVISOR = "dana.sup"
WHISPER = "Ask whether the basement is flooded."
AFTER_HAND_BACK = "Thanks for holding on. What's the best phone number to reach you?"
SUPERVISED = f"""
name: supervised-in-the-browser
caller: {{number: "+15125550142"}}
turns:
  - caller: "Hi, my water heater is leaking in the basement."
    agent:
      - tool: record_field
        arguments: {{field: problem, value: "water heater leaking in the basement"}}
      - say: "I'm sorry to hear that. What's the address of the property?"
  - caller: "It's forty two Oak Avenue in Round Rock."
    agent:
      - tool: record_field
        arguments: {{field: location, value: "42 Oak Avenue, Round Rock"}}
      - say: "Thanks. By what date do you need this done?"
  - caller: "Okay, thank you, that helps a lot."
    agent:
      - say: "{AFTER_HAND_BACK}"
  - hangup: true
    pause_before_ms: 300
"""
WAIT_MS = 20_000


@pytest.fixture(scope="module")
async def live_console(call_stack: LocalStack) -> AsyncIterator[str]:
    """`intake dashboard` on the stack's Postgres and Redis, with a supervisor account."""
    env = {**os.environ, "INTAKE_DATABASE_URL": call_stack.database_url or "",
           "INTAKE_REDIS_URL": call_stack.redis_url or ""}
    added = _intake("users", "add", SUPERVISOR, "--role", "supervisor", env=env,
                    stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    async with dashboard_process(env) as (url, server):
        yield url
    log = server.log_path.read_text(errors="replace")
    # no caller data and no whisper text reached the console's log
    for secret in ("5125550142", "Oak Avenue", "water heater", "flooded"):
        assert secret not in log, secret


def _whisper_updates(stack: LocalStack, since: int) -> list[dict[str, Any]]:
    assert stack.simulator is not None
    return [w.event for w in stack.simulator.wire_log[since:]
            if w.direction == "client" and w.event.get("type") == "session.update"
            and WHISPER in str(w.event.get("session", {}).get("instructions", ""))]


async def _until_whisper_on_the_wire(stack: LocalStack, since: int) -> None:
    deadline = time.monotonic() + 10
    while not _whisper_updates(stack, since):
        assert time.monotonic() < deadline, "the whisper never reached the model's instructions"
        await asyncio.sleep(0.05)


async def test_a_supervisor_follows_whispers_takes_over_and_hands_back_in_the_browser(
        live_console: str, browser: Any, call_stack: LocalStack) -> None:  # noqa: F811
    url = live_console
    assert call_stack.simulator is not None
    call_id = f"web{int(time.time() * 1000) % 10**9}"
    board: Page = await _signed_in(browser, url, SUPERVISOR)
    await board.goto(f"{url}/live")
    await expect(board.locator("#board-connection")).to_have_text("Live")
    await expect(board.get_by_text("No calls in progress.")).to_be_visible()
    page = await board.context.new_page()
    marks: dict[str, Any] = {}
    transcript = page.locator("#live-transcript")

    async def before_line(index: int, caller: SimulatedCaller) -> None:
        if index == 0:
            # the board shows the new call without a reload, and opens it
            row = board.locator(f'tr[data-call-id="{call_id}"]')
            await expect(row).to_be_visible(timeout=WAIT_MS)
            await expect(row).to_contain_text("Intake", timeout=WAIT_MS)
            await expect(row).to_contain_text("Problem", timeout=WAIT_MS)  # still missing
            await _shot(board, "live-board")
            await page.goto(f"{url}/live/{call_id}")
            await expect(page.locator("#call-connection")).to_have_text("Live")
            # not ringing: no Accept button; the sound button waits for a reason to show
            await expect(page.get_by_role("button", name="Accept")).to_be_hidden()
            await expect(board.get_by_role("button", name="Turn sound on")).to_be_hidden()
            await expect(transcript).to_contain_text("Thanks for calling", timeout=WAIT_MS)
            marks["turns_at_start"] = await transcript.locator("li.turn").count()
        elif index == 1:
            # the transcript grew turn by turn; the checklist filled in
            await expect(transcript).to_contain_text("water heater is leaking", timeout=WAIT_MS)
            await expect(transcript).to_contain_text("What's the address", timeout=WAIT_MS)
            problem = page.locator('#live-checklist tr[data-field="problem"]')
            await expect(problem.locator(".value")).to_have_text(
                "water heater leaking in the basement")
            assert await transcript.locator("li.turn").count() > marks["turns_at_start"]
            marks["before_whisper"] = len(call_stack.simulator.wire_log)  # type: ignore[union-attr]
            await page.get_by_label("Guidance for the agent").fill(WHISPER)
            await page.get_by_role("button", name="Send whisper").click()
            await expect(page.get_by_role("status")).to_have_text("Whisper sent to the agent.")
            await expect(transcript).to_contain_text(f"Whisper from {SUPERVISOR}: {WHISPER}")
            await expect(page.get_by_label("Guidance for the agent")).to_have_value("")
            await _until_whisper_on_the_wire(call_stack, marks["before_whisper"])
            await _shot(page, "live-call-whisper")
        elif index == 2:
            await expect(transcript).to_contain_text("By what date", timeout=WAIT_MS)
            location = page.locator('#live-checklist tr[data-field="location"]')
            await expect(location.locator(".value")).to_have_text("42 Oak Avenue, Round Rock")
            await page.get_by_role("button", name="Take over").click()
            await expect(page.get_by_role("status")).to_contain_text("taken the call over")
            await expect(page.locator("#call-supervisor")).to_have_text(
                f"Taken over by {SUPERVISOR}", timeout=WAIT_MS)
            await expect(page.locator("#call-stage")).to_have_text("Supervised")
            # a second take-over is refused with the worker's sentence
            await page.get_by_role("button", name="Take over").click()
            await expect(page.get_by_role("alert")).to_have_text(
                f"{SUPERVISOR} has already taken this call over.")
            row = board.locator(f'tr[data-call-id="{call_id}"]')
            await expect(row).to_contain_text(f"Taken over by {SUPERVISOR}", timeout=WAIT_MS)
            await _shot(board, "live-board-supervised")
            await _shot(page, "live-call-supervised")
        elif index == 3:
            # the caller spoke while supervised: still transcribed, and the agent kept quiet
            await expect(transcript).to_contain_text("thank you, that helps", timeout=WAIT_MS)
            marks["hand_back_at"] = time.monotonic()
            await page.get_by_role("button", name="Hand back").click()
            await expect(page.get_by_role("status")).to_have_text("Handed back to the agent.")
            await expect(page.get_by_role("alert")).to_be_hidden()
            await expect(page.locator("#call-supervisor")).to_have_text(
                "Agent answering", timeout=WAIT_MS)
            await caller.wait_for_agent_audio_after(marks["hand_back_at"], 15)
            await expect(transcript).to_contain_text("Thanks for holding on", timeout=WAIT_MS)
            await _shot(page, "live-call-handed-back")

    try:
        result = await call_stack.place_call(parse_scenario(SUPERVISED), call_id=call_id,
                                             before_line=before_line)
        # the call ended: the page says so and the board no longer lists it
        await expect(page.locator("#call-connection")).to_have_text("Ended", timeout=WAIT_MS)
        await expect(page.get_by_role("button", name="Take over")).to_be_disabled()
        await expect(board.locator(f'tr[data-call-id="{call_id}"]')).to_have_count(
            0, timeout=WAIT_MS)
    finally:
        await board.context.close()
    assert result.call_id == call_id
    # the whisper was never said to the caller
    assert all("flooded" not in text for _, text in result.report.transcript)
    record = await _record(call_stack, call_id)
    actions = [(e["payload"]["action"], e["payload"].get("by"))
               for e in record["events"] if e["kind"] == "supervision"]  # type: ignore[index]
    assert actions == [("whisper", SUPERVISOR), ("take_over", SUPERVISOR),
                       ("hand_back", SUPERVISOR)]
    assert re.search(r"^Thanks for holding on", [
        t["text"] for t in record["turns"] if t["role"] == "agent"][-1])  # type: ignore[index]


async def test_a_ringing_call_stands_out_beeps_and_a_refused_accept_says_why(
        live_console: str, browser: Any, call_stack: LocalStack) -> None:  # noqa: F811
    """The board's cues, from a call hash written the way the worker writes it (no worker
    holds this call, so accepting it is refused: the page shows the refusal)."""
    assert call_stack.redis_url is not None
    redis = aioredis.Redis.from_url(call_stack.redis_url)
    call_id = f"ring{int(time.time() * 1000) % 10**9}"
    await redis.hset(call_key(call_id), mapping={
        "status": "active", "room": f"call-{call_id}", "metadata": "{}",
        "started_at": datetime.now(UTC).isoformat(),
        "board": json.dumps({"stage": "ringing", "missing_fields": ["phone"],
                             "escalation_flags": ["caller_asked_for_person"],
                             "ringing": {"reason": "human_request"}})})
    # a live heartbeat lease: the stack's worker must not take it for an orphan to resume
    await redis.set(heartbeat_key(call_id), "browser-test", px=120_000)
    await redis.sadd(LIVE_INDEX, call_id)
    url = live_console
    board: Page = await _signed_in(browser, url, SUPERVISOR)
    try:
        await board.goto(f"{url}/live")
        row = board.locator(f'tr[data-call-id="{call_id}"]')
        await expect(row).to_have_class("attention", timeout=WAIT_MS)
        await expect(row).to_contain_text("Caller asked for a person")
        await expect(row).to_contain_text("Ringing: Human request")
        await expect(board.locator("#board-attention")).to_contain_text(
            "1 call needs attention")
        # the audible cue was played (Web Audio; repeated while the call rings)
        await expect(board.locator("body")).to_have_attribute(
            "data-beeps", re.compile(r"^[1-9]"), timeout=WAIT_MS)
        await _shot(board, "live-board-ringing")
        await row.get_by_role("button", name="Accept").click()
        await expect(board.locator("#board-refusal")).to_have_text(
            "No agent holds this call any more.")
    finally:
        await board.context.close()
        await redis.delete(call_key(call_id), heartbeat_key(call_id))
        await redis.srem(LIVE_INDEX, call_id)
        await redis.aclose()
