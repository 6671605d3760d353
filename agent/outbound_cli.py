"""`intake call NUMBER`: call a warm lead with the same agent and playbook.

The number is checked (a valid number, E.164) and the call is placed only inside the
playbook's calling hours and 8:00-21:00 in the callee's local time, now; otherwise exit 2 with
the reason and the next allowed time (the worker checks again right before it dials).
`--check` is a dry run that places nothing, and only it takes `--now`. Placing the call means
a room `outbound-<call id>` (no number in the name) and an explicit dispatch of our agent, which
dials (agent/outbound.py). Unless `--no-wait`, the command then waits for the call's outcome in
Postgres and prints it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from livekit import api

    from tools.playbook import Playbook

EXIT_REFUSED = 2
# the dispatch must reach a worker within this, or it is not dialed (hours were checked now)
DISPATCH_GRACE = timedelta(minutes=2)
# how often the outcome is looked for in Postgres while waiting
POLL_S = 1.0
# a dispatch no worker took within this is over (livekit-server's offer to the workers lasts
# a few seconds); it is replaced up to DISPATCH_ATTEMPTS times in all
DISPATCH_OFFER_S = 10.0
DISPATCH_POLL_S = 0.25
DISPATCH_ATTEMPTS = 3


class CallRefusedError(Exception):
    """The call may not be placed (bad number, outside hours, configuration); exit 2."""


class CallNotPlacedError(Exception):
    """The call could not be handed to an agent worker; the message is safe to print."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call", help="call a lead (outbound) with the agent and playbook, in calling hours",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("number", metavar="NUMBER",
                        help="the lead's number; E.164 (+15125550100) or national in the "
                        "playbook's phone region")
    parser.add_argument("--check", action="store_true",
                        help="dry run: only say whether the number may be called (exit 0) or "
                        "not and when it may (exit 2); places no call")
    parser.add_argument("--now", metavar="ISO8601",
                        help="with --check only: check as if it were this moment; a time "
                        "without an offset is in the business's time zone")
    parser.add_argument("--no-wait", action="store_true",
                        help="print the call id and return once the agent is dispatched")
    parser.add_argument("--ring-timeout", type=int, metavar="SECONDS",
                        help="how long it rings (5-120; default: the playbook's)")
    parser.add_argument("--wait-timeout", type=float, metavar="SECONDS",
                        help="how long to wait for the outcome (default: ring timeout + the "
                        "playbook's maximum call length + 60 s)")
    parser.set_defaults(func=_cmd_call)


def playbook_path() -> Path:
    from agent.config import DEFAULT_PLAYBOOK

    return Path(os.environ.get("INTAKE_PLAYBOOK", "").strip() or DEFAULT_PLAYBOOK)


def lead_number(raw: str, playbook: Playbook) -> str:
    """The lead's number in E.164; the error never repeats what was typed."""
    from tools.normalize import NormalizationError, normalize_phone

    try:
        return normalize_phone(raw, playbook.phone_region).value
    except NormalizationError:
        raise CallRefusedError(
            "not a valid phone number (use E.164, e.g. +15125550100)") from None


def parse_now(raw: str | None, playbook: Playbook) -> datetime:
    if raw is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise CallRefusedError("--now must be an ISO 8601 time, e.g. 2025-03-04T10:30") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=playbook.zone)


def check_may_call(playbook: Playbook, number: str, now: datetime) -> None:
    from agent.calling_hours import check_calling_hours

    closed = check_calling_hours(playbook, number, now)
    if closed is not None:
        raise CallRefusedError(closed.message(playbook))


@dataclass(frozen=True)
class PlacedCall:
    call_id: str
    room: str


async def dispatch_outbound_call(lk: api.LiveKitAPI, *, agent_name: str, number: str,
                                 ring_timeout_s: int | None = None) -> PlacedCall:
    """Create the call's room and dispatch our agent to dial `number` (E.164) from it."""
    from livekit import api

    from agent.outbound import CALL_DIRECTION, DIAL_BY, DIAL_TO, OUTBOUND, RING_TIMEOUT, ROOM_PREFIX

    call_id = uuid.uuid4().hex[:12]
    room = f"{ROOM_PREFIX}{call_id}"
    metadata: dict[str, Any] = {
        CALL_DIRECTION: OUTBOUND, "call_id": call_id, DIAL_TO: number,
        DIAL_BY: (datetime.now(UTC) + DISPATCH_GRACE).isoformat(),
    }
    if ring_timeout_s is not None:
        metadata[RING_TIMEOUT] = ring_timeout_s
    # the room outlives a worker's slow start; the agent deletes it when the call ends
    await lk.room.create_room(api.CreateRoomRequest(name=room, empty_timeout=120))
    request = api.CreateAgentDispatchRequest(agent_name=agent_name, room=room,
                                             metadata=json.dumps(metadata))
    # livekit-server offers a dispatch to the workers once; when none claims it (none running,
    # or all reporting a high load) the job is dropped without a retry. Only once that offer
    # is surely over is the dispatch replaced, so the lead is never dialed twice.
    for _attempt in range(DISPATCH_ATTEMPTS):
        dispatch = await lk.agent_dispatch.create_dispatch(request)
        if await _taken_by_a_worker(lk, room, dispatch.id):
            return PlacedCall(call_id=call_id, room=room)
        await lk.agent_dispatch.delete_dispatch(dispatch.id, room)
    with contextlib.suppress(Exception):
        await lk.room.delete_room(api.DeleteRoomRequest(room=room))
    raise CallNotPlacedError(f"no agent worker named {agent_name} took the call "
                             "(is the worker running?)")


async def _taken_by_a_worker(lk: api.LiveKitAPI, room: str, dispatch_id: str) -> bool:
    deadline = time.monotonic() + DISPATCH_OFFER_S
    while time.monotonic() < deadline:
        for dispatch in await lk.agent_dispatch.list_dispatch(room):
            if dispatch.id == dispatch_id and dispatch.state.jobs:
                return True
        await asyncio.sleep(DISPATCH_POLL_S)
    return False


def outbound_result(record: dict[str, Any]) -> str:
    """How the call went, from its status events: voicemail_left, answered by ..., no_answer."""
    result = "unknown"
    for event in record.get("events", []):
        payload = event.get("payload") or {}
        if event.get("kind") != "status":
            continue
        status = payload.get("status")
        if status == "answered":
            result = f"answered by a {payload.get('answered_by')}"
        elif status == "voicemail_left":
            result = "voicemail left"
        elif status in ("dial_failed", "not_dialed", "hung_up", "failed") and payload.get("reason"):
            result = f"{status.replace('_', ' ')}: {payload['reason']}"
    return result


def render_record(record: dict[str, Any]) -> str:
    """A few lines: the result, what was collected, what is missing, what to do next."""
    outcome = record.get("outcome") or {}
    fields = outcome.get("fields") or {}
    lines = [f"call {record['call']['call_id']}: {outbound_result(record)}"]
    if fields:
        lines.append("  collected: " + ", ".join(f"{k}={v}" for k, v in fields.items()))
    missing = outcome.get("missing_fields") or []
    if missing:
        lines.append("  missing: " + ", ".join(missing))
    if outcome.get("escalation_reason"):
        lines.append(f"  escalated: {outcome['escalation_reason']}")
    if outcome.get("recommended_next_action"):
        lines.append(f"  next: {outcome['recommended_next_action']}")
    return "\n".join(lines)


async def wait_for_outcome(database_url: str, call_id: str,
                           timeout_s: float) -> dict[str, Any] | None:
    """The call's record once its outcome is stored; None if it is not there in time."""
    from state.postgres_record import PostgresRecordStore, create_pool
    from state.review import show_call

    pool = await create_pool(database_url, max_size=2)
    try:
        store = PostgresRecordStore(pool)
        async with asyncio.timeout(timeout_s):
            while True:
                record = await show_call(store, call_id)
                if record is not None and record.get("outcome"):
                    return record
                await asyncio.sleep(POLL_S)
    except TimeoutError:
        return None
    finally:
        await pool.close()


def _cmd_call(args: argparse.Namespace) -> int:
    from tools.playbook import PlaybookError, load_playbook

    try:
        path = playbook_path()
        try:
            playbook = load_playbook(path)
        except PlaybookError as exc:
            raise CallRefusedError(f"invalid playbook {path} (see `intake playbook check`)"
                                   ) from exc
        number = lead_number(args.number, playbook)
        if args.now is not None and not args.check:
            # a typed moment must never decide whether a real call is placed
            raise CallRefusedError("--now only works with --check (a dry run); a call is "
                                   "placed only inside calling hours as of now")
        if args.check:
            check_may_call(playbook, number, parse_now(args.now, playbook))
            print("may call now" if args.now is None else f"may call at {args.now}")
            return 0
        if args.ring_timeout is not None and not 5 <= args.ring_timeout <= 120:
            raise CallRefusedError("--ring-timeout must be from 5 to 120 seconds")
        livekit, agent_name = _livekit_settings()
        database_url = None if args.no_wait else _database_url()
        check_may_call(playbook, number, datetime.now(UTC))
    except CallRefusedError as exc:
        print(f"intake: {exc}", file=sys.stderr)
        return EXIT_REFUSED

    ring_s = args.ring_timeout or playbook.outbound.ring_timeout_seconds
    wait_s = args.wait_timeout or ring_s + playbook.call_limits.max_call_seconds + 60

    async def place() -> int:
        from livekit import api

        async with api.LiveKitAPI(livekit.url, livekit.api_key,
                                  livekit.api_secret.get_secret_value()) as lk:
            try:
                placed = await dispatch_outbound_call(lk, agent_name=agent_name, number=number,
                                                      ring_timeout_s=args.ring_timeout)
            except CallNotPlacedError as exc:
                print(f"intake: call not placed: {exc}", file=sys.stderr)
                return 1
        print(f"call {placed.call_id}: dialing")
        sys.stdout.flush()
        if database_url is None:
            return 0
        record = await wait_for_outcome(database_url, placed.call_id, wait_s)
        if record is None:
            print(f"intake: no outcome for call {placed.call_id} after {wait_s:.0f} s; "
                  f"see `intake calls show {placed.call_id}` later", file=sys.stderr)
            return 1
        print(render_record(record))
        return 0

    try:
        return asyncio.run(place())
    except Exception as exc:  # the LiveKit API or Postgres unreachable, a refused dispatch
        from sip.redaction import redact

        print(f"intake: call not placed or not followed: {redact(str(exc)) or type(exc).__name__}",
              file=sys.stderr)
        return 1


def _livekit_settings() -> tuple[Any, str]:
    from sip.config import SipConfigError, load_sip_settings

    try:
        settings = load_sip_settings()
    except SipConfigError as exc:
        raise CallRefusedError(str(exc)) from None
    if settings.livekit is None:
        raise CallRefusedError("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set")
    return settings.livekit, settings.agent_name


def _database_url() -> str:
    from state.config import ConfigError, database_url

    try:
        return database_url()
    except ConfigError as exc:
        raise CallRefusedError(f"{exc}; or pass --no-wait") from None


__all__ = ["CallNotPlacedError", "CallRefusedError", "PlacedCall", "check_may_call",
           "dispatch_outbound_call", "lead_number", "outbound_result", "register",
           "render_record", "wait_for_outcome"]
