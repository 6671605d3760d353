"""The operator console in a real browser (Debian's headless Chromium through Playwright),
against the real `intake dashboard` process and Postgres, with records from real simulated
calls. Screenshots of each main page go to docs/screenshots/ (INTAKE_SCREENSHOT_DIR)."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from devstack.local_call import LocalStack
from devstack.paths import project_root
from realtime_simulator import load_scenario, parse_scenario
from tests.console_support import PASSWORD, dashboard_process

from .test_call_spine import _record

pytestmark = pytest.mark.integration

CHROMIUM = "/usr/lib/chromium/chromium"
SHOTS = Path(os.environ.get("INTAKE_SCREENSHOT_DIR") or project_root() / "docs" / "screenshots")
MARKUP = "<script>window.pwned = 1</script>"

# A call that leaves the phone and the deadline uncollected; the caller says markup.
INCOMPLETE = f"""
name: console-incomplete
caller: {{number: "+15125550142", identity: "console-caller"}}
turns:
  - caller: "Hi, my kitchen sink is leaking. {MARKUP}"
    agent:
      - tool: record_field
        arguments: {{field: problem, value: "kitchen sink leaking"}}
      - say: "I'm sorry to hear that. Where is the property?"
  - caller: "Forty two Elm Street in Round Rock."
    agent:
      - tool: record_field
        arguments: {{field: location, value: "42 Elm Street, Round Rock"}}
      - say: "Thanks. And your name?"
  - caller: "Dana Smith."
    agent:
      - tool: record_field
        arguments: {{field: name, value: "Dana Smith"}}
      - say: "Thanks, Dana."
  - hangup: true
    pause_before_ms: 300
"""


def _intake(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "agent.cli", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=60, cwd=project_root())


@pytest.fixture(scope="module")
async def console(call_stack: LocalStack) -> AsyncIterator[dict[str, Any]]:
    """Two real calls, two accounts made with `intake users add`, and `intake dashboard`."""
    complete = await call_stack.place_call(
        load_scenario(project_root() / "scenarios" / "demo_water_heater.yaml"))
    incomplete = await call_stack.place_call(parse_scenario(INCOMPLETE))
    for result in (complete, incomplete):
        await _record(call_stack, result.call_id)
    bank = Path(tempfile.mkdtemp(prefix="intake-console-bank-"))
    # the console plays the recordings the stack's worker made, and adds cases to `bank`
    env = {**os.environ, "INTAKE_DATABASE_URL": call_stack.database_url or "",
           "INTAKE_RECORDING_STORE": "folder",
           "INTAKE_RECORDING_DIR": call_stack.extra_worker_env["INTAKE_RECORDING_DIR"],
           "INTAKE_EVAL_BANK": str(bank)}
    for name, role in (("olive", "operator"), ("sam", "supervisor")):
        added = _intake("users", "add", name, "--role", role, env=env, stdin=PASSWORD + "\n")
        assert added.returncode == 0, added.stderr
    listing = _intake("users", "list", env=env)
    assert re.search(r"olive\s+operator\s+active", listing.stdout), listing.stdout
    async with dashboard_process(env) as (url, server):
        try:
            yield {"url": url, "complete": complete.call_id, "incomplete": incomplete.call_id,
                   "server": server, "bank": bank}
        finally:
            # no caller data reached the console's log (checked even when a test failed)
            log = server.log_path.read_text(errors="replace")
            for secret in ("5125550142", "555 0142", "Dana", "Smith", "Elm Street", "pwned"):
                assert secret not in log, secret


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    await asyncio.to_thread(SHOTS.mkdir, parents=True, exist_ok=True)
    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            await chromium.close()


async def _signed_in(browser: Browser, url: str, name: str) -> Page:
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    page = await context.new_page()
    await page.goto(f"{url}/calls")
    await expect(page).to_have_url(re.compile(r"/login\?next="))
    await page.get_by_label("Account name").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(re.compile(r"/calls$"))
    return page


async def _shot(page: Page, name: str) -> None:
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_operator_reviews_corrects_and_approves_a_call(
        console: dict[str, Any], browser: Browser) -> None:
    url, call_id = console["url"], console["incomplete"]
    context = await browser.new_context(viewport={"width": 1360, "height": 900})
    login = await context.new_page()
    await login.goto(f"{url}/login")
    await login.get_by_label("Account name").fill("olive")
    await login.get_by_label("Password").fill("wrong password!")
    await login.get_by_role("button", name="Sign in").click()
    await expect(login.get_by_role("alert")).to_have_text("Wrong account name or password.")
    await _shot(login, "login")
    await context.close()

    page = await _signed_in(browser, url, "olive")
    rows = page.locator("table.calls tbody tr")
    await expect(page.locator(f'a[href="/calls/{console["complete"]}"]')).to_be_visible()
    await expect(page.locator(f'a[href="/calls/{call_id}"]')).to_be_visible()
    await expect(rows.first).to_contain_text("+1 512 ••• ••42")
    await _shot(page, "calls")

    await page.get_by_role("link", name="Incomplete").click()
    await expect(page.locator(f'a[href="/calls/{call_id}"]')).to_be_visible()
    await expect(page.locator(f'a[href="/calls/{console["complete"]}"]')).to_have_count(0)

    await page.locator(f'a[href="/calls/{call_id}"]').click()
    panel = page.locator("section", has=page.get_by_role("heading", name="Missing fields"))
    await expect(panel).to_contain_text("Phone — required, not collected")
    await expect(panel).to_contain_text("Deadline — required, not collected")
    await expect(panel).to_contain_text("Optional, not collected: Budget, Decision maker")
    # the caller's markup is text on the page, and never ran
    await expect(page.locator("ol.transcript")).to_contain_text(MARKUP)
    assert await page.evaluate("typeof window.pwned") == "undefined"
    # no inline script: the only one is the recording player's file
    scripts = page.locator("script")
    assert [await scripts.nth(i).get_attribute("src") for i in range(await scripts.count())
            ] == ["/static/recording_player.js"]
    # a field's source turn links to that turn
    name_row = page.locator("tr", has=page.get_by_label("Name", exact=True))
    await name_row.get_by_role("link").click()
    await expect(page.locator(".turn:target")).to_contain_text("Dana Smith")
    await _shot(page, "call-missing-fields")

    await page.get_by_label("Phone", exact=True).fill("512 555 0142")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved")
    await expect(page.get_by_label("Phone", exact=True)).to_have_value("+15125550142")
    await expect(panel).not_to_contain_text("Phone")

    await page.get_by_label("Deadline", exact=True).fill("2019-02-30")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page.get_by_role("alert")).to_contain_text("Deadline: not a date")
    deadline = page.get_by_label("Deadline", exact=True)
    await expect(deadline).to_have_value("2019-02-30")
    await expect(deadline).to_have_attribute("aria-invalid", "true")
    await _shot(page, "call-invalid-date")

    await page.goto(f"{url}/calls/{call_id}")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_text("Approved by olive")).to_be_visible()
    history = page.locator("section", has=page.get_by_role("heading", name="Revision history"))
    await expect(history.locator("li").first).to_contain_text("Approve by olive")
    await expect(history).to_contain_text("Phone: empty → +15125550142")
    await _shot(page, "call-approved")
    await page.context.close()


async def test_a_second_editor_gets_the_conflict_message(
        console: dict[str, Any], browser: Browser) -> None:
    url, call_id = console["url"], console["complete"]
    first = await _signed_in(browser, url, "olive")
    second = await _signed_in(browser, url, "sam")
    await first.goto(f"{url}/calls/{call_id}")
    await second.goto(f"{url}/calls/{call_id}")
    await first.get_by_label("Name", exact=True).fill("Dana Smythe")
    await first.get_by_role("button", name="Save changes").click()
    await expect(first.get_by_role("status")).to_contain_text("Saved")
    await second.get_by_label("Name", exact=True).fill("Dane Smith")
    await second.get_by_role("button", name="Save changes").click()
    await expect(second.get_by_role("alert")).to_contain_text("changed since you opened it")
    await expect(second.get_by_label("Name", exact=True)).to_have_value("Dane Smith")
    await expect(second.get_by_text("Saved now: Dana Smythe")).to_be_visible()
    await _shot(second, "call-conflict")
    await first.reload()
    await expect(first.get_by_label("Name", exact=True)).to_have_value("Dana Smythe")

    await second.goto(f"{url}/overview")
    await expect(second.get_by_role("img", name="Calls per day")).to_be_visible()
    await expect(second.locator(".kpi").first).to_contain_text("calls")
    await _shot(second, "overview")
    await first.goto(f"{url}/overview")
    await expect(first.get_by_role("heading", name="Not allowed")).to_be_visible()
    await first.context.close()
    await second.context.close()


async def _player_state(page: Page) -> dict[str, Any]:
    state: dict[str, Any] = await page.evaluate("""() => {
        const audio = document.getElementById("recording-audio");
        return {time: audio.currentTime, paused: audio.paused, channels: audio.dataset.channels,
                heard: Number(audio.dataset.outPeak || 0),
                caller: Number(document.getElementById("level-caller").dataset.peak || 0),
                agent: Number(document.getElementById("level-agent").dataset.peak || 0)};
    }""")
    return state


async def test_the_recording_plays_follows_the_transcript_and_becomes_an_eval_case(
        console: dict[str, Any], browser: Browser) -> None:
    url, call_id, bank = console["url"], console["complete"], console["bank"]
    page = await _signed_in(browser, url, "olive")
    await page.goto(f"{url}/calls/{call_id}")
    audio = page.get_by_label("Call recording")
    await expect(audio).to_be_visible()
    turns = page.locator(".turn[data-part]")
    assert await turns.count() >= 4

    # clicking the greeting plays the call from its start: time advances, the agent is heard
    await turns.first.locator("p").click()
    await page.wait_for_function(
        "() => document.getElementById('recording-audio').currentTime > 1.0", timeout=15000)
    await page.wait_for_function(
        "() => Number(document.getElementById('level-agent').dataset.peak || 0) > 0.01",
        timeout=15000)
    await expect(turns.first).to_have_class(re.compile(r"\bplaying\b"))

    # during the greeting only the agent speaks: "Caller only" is silent, "Agent only" is not
    async def play_on(seconds: float) -> None:
        now = (await _player_state(page))["time"]
        await page.wait_for_function(
            "t => document.getElementById('recording-audio').currentTime > t",
            arg=now + seconds, timeout=15000)

    await page.get_by_label("Caller only").check()
    await play_on(1.0)
    caller_only = await _player_state(page)
    assert caller_only["channels"] == "caller" and caller_only["heard"] < 0.003, caller_only
    await page.get_by_label("Agent only").check()
    await page.wait_for_function(
        "() => Number(document.getElementById('recording-audio').dataset.outPeak) > 0.01",
        timeout=15000)
    await page.get_by_label("Both").check()

    # clicking a later caller turn seeks to it and highlights it; the caller is heard
    caller_turn = page.locator(".turn.caller[data-part]").nth(1)
    start = float(await caller_turn.get_attribute("data-start") or "0")
    end = float(await caller_turn.get_attribute("data-end") or "0")
    assert end > start > 1.0
    await caller_turn.locator("p").click()
    await expect(caller_turn).to_have_class(re.compile(r"\bplaying\b"))
    await expect(caller_turn).to_have_attribute("aria-current", "true")
    await expect(turns.first).not_to_have_class(re.compile(r"\bplaying\b"))
    state = await _player_state(page)
    assert start - 0.1 <= state["time"] <= end + 0.5 and not state["paused"], state
    await page.wait_for_function(
        "() => Number(document.getElementById('level-caller').dataset.peak || 0) > 0.01",
        timeout=15000)
    later = await _player_state(page)
    assert later["time"] > state["time"]
    assert later["caller"] > 0.01 and later["agent"] > 0.01

    await _shot(page, "call-recording-player")

    # approved, the call becomes an eval case with its caller's audio
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_text("Approved by olive")).to_be_visible()
    await page.get_by_role("button", name="Add to eval bank").click()
    await expect(page.get_by_role("status")).to_contain_text(
        f"Added to the eval bank as the case call-{call_id}")
    await expect(page.get_by_text(f"In the eval bank as the case call-{call_id}")).to_be_visible()
    case = bank / f"call-{call_id}.yaml"
    assert "expect:" in await asyncio.to_thread(case.read_text)
    wavs = await asyncio.to_thread(lambda: list((bank / "audio" / f"call-{call_id}").glob("*.wav")))
    assert wavs
    await _shot(page, "call-added-to-eval-bank")
    await page.context.close()
