"""The live pages' pure parts: who may supervise, the event-stream format, the ticking
merge the streams are built on, and the CSP that lets the pages connect back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from dashboard.auth import CurrentUser
from dashboard.guard import CSP
from dashboard.permissions import GRANTS, Permission, allowed
from dashboard.views.live_call import ACTIONS, DONE
from dashboard.views.live_stream import CALL_ID, ENTRY_ID, sse, with_ticks
from state.accounts import ROLES
from supervision import can_supervise
from supervision.protocol import ACTIONS as WIRE_ACTIONS

pytestmark = pytest.mark.unit


def test_supervising_is_granted_exactly_where_the_supervision_rule_allows_it() -> None:
    assert set(GRANTS) == set(ROLES)
    for role in ROLES:
        user = CurrentUser(1, "x", role, "t")
        assert allowed(user, Permission.SUPERVISE_CALLS) == can_supervise(role), role
    assert not allowed(CurrentUser(1, "x", "operator", "t"), Permission.SUPERVISE_CALLS)


def test_every_page_command_is_a_wire_action_with_a_done_message() -> None:
    assert set(ACTIONS.values()) == WIRE_ACTIONS
    assert set(DONE) == WIRE_ACTIONS


def test_an_event_is_one_json_line_with_its_resume_id() -> None:
    body = sse("feed", {"text": "two\nlines </script>"}, entry_id="17-0")
    assert body == (b'event: feed\nid: 17-0\ndata: {"text":"two\\nlines </script>"}\n\n')
    assert json.loads(body.split(b"data: ", 1)[1]) == {"text": "two\nlines </script>"}


def test_ids_from_the_browser_are_checked() -> None:
    assert ENTRY_ID.match("1733000000000-3")
    assert not ENTRY_ID.match("$") and not ENTRY_ID.match("0-0\nevent: x")
    assert CALL_ID.match("3f2c9a_b-1") and not CALL_ID.match("../etc") and not CALL_ID.match("")


def test_the_pages_may_connect_to_their_own_origin_only() -> None:
    assert "connect-src 'self';" in CSP and "default-src 'none'" in CSP


async def test_ticks_fill_the_quiet_and_the_source_is_closed() -> None:
    closed = asyncio.Event()
    release = asyncio.Event()

    async def source() -> AsyncIterator[str]:
        try:
            yield "first"
            await release.wait()
            yield "second"
            await asyncio.Event().wait()  # never more
            yield "never"
        finally:
            closed.set()

    seen: list[str | None] = []
    merged = with_ticks(source(), 0.01)
    async for item in merged:
        seen.append(item)
        if seen.count(None) == 2:
            release.set()
        if item == "second":
            break
    await merged.aclose()
    assert seen[0] == "first" and seen[-1] == "second" and seen.count(None) >= 2
    assert closed.is_set()


async def test_ticks_end_with_the_source() -> None:
    async def source() -> AsyncIterator[int]:
        yield 1

    assert [item async for item in with_ticks(source(), 5.0)] == [1]
