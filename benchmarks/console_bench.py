"""Server time of the operator console's two busiest pages with 10,000 stored calls.

A private Postgres is filled by COPY (benchmark rows only: the browser tests use real calls),
then the ASGI app is driven in-process, signed in, through httpx: each figure is one request's
full server work (session lookup, queries, template), without a network hop.
- list_page_ms: /calls with each filter, searches and deeper pages, round robin;
- call_page_ms: /calls/<id> of random calls (12 turns, 6 events, outcome, revisions each).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from benchmarks.stats import summarize

TURNS_PER_CALL = 12
TARGETS_MS = {"list_page_p95": 150.0, "call_page_p95": 100.0}
LIST_PATHS = ("/calls", "/calls?filter=needs_review", "/calls?filter=approved",
              "/calls?filter=escalated", "/calls?filter=incomplete", "/calls?page=40",
              "/calls?q=0142", "/calls?q={prefix}", "/calls?from={day}&to={day}")
FIELDS = {"problem": "water heater leaking in the basement", "location": "42 Elm Street",
          "deadline": "2026-03-06", "followup_channel": "sms", "name": "Dana Smith",
          "phone": "+15125550142"}


def _rows(calls: int, playbook: str) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(7)
    now = datetime.now(UTC)
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in (
        "calls", "transcript_turns", "call_events", "outcomes", "bookings",
        "outcome_revisions")}
    for i in range(calls):
        call_id = uuid.UUID(int=rng.getrandbits(128)).hex
        started = now - timedelta(minutes=7 * i + rng.random())
        ended = started + timedelta(seconds=rng.randint(40, 400))
        number = f"+1512555{rng.randint(0, 9999):04d}"
        out["calls"].append((call_id, f"call-{call_id}", "ended", number, playbook, "{}",
                             started, ended, ended))
        for seq in range(1, TURNS_PER_CALL + 1):
            role = "agent" if seq % 2 else "caller"
            out["transcript_turns"].append((call_id, seq, role, f"turn {seq} of the call, "
                                            "a sentence or two as people say them.",
                                            started + timedelta(seconds=seq * 5), seq == 5))
        for k, field in enumerate(list(FIELDS)[:6]):
            seq = TURNS_PER_CALL + 1 + k
            out["call_events"].append((call_id, seq, "slot_changed", json.dumps(
                {"field": field, "change": "recorded", "value": FIELDS[field],
                 "confirmed": True, "source_turn": k + 1}),
                started + timedelta(seconds=seq * 5)))
        missing = [] if rng.random() < 0.7 else ["deadline", "phone"]
        fields = {k: v for k, v in FIELDS.items() if k not in missing}
        approved = rng.random() < 0.4
        escalation = rng.choice(["pricing", "urgent", None, None, None, None])
        out["outcomes"].append((call_id, json.dumps(fields), json.dumps(missing), "[]",
                                escalation, "human_review" if missing or escalation
                                else "send_followup",
                                "approved" if approved else "draft",
                                "olive" if approved else None, ended if approved else None,
                                1 if approved else 0, 2 if approved else 1))
        if approved:
            out["outcome_revisions"].append((call_id, 1, "approve", "olive", ended, "{}", "{}"))
        if rng.random() < 0.3:
            out["bookings"].append((call_id, f"CB-{i}", "callback", "morning", ended))
    return out


_COLUMNS = {
    "calls": ("call_id", "room", "status", "caller_number", "playbook", "metadata",
              "started_at", "ended_at", "updated_at"),
    "transcript_turns": ("call_id", "seq", "role", "text", "at", "interrupted"),
    "call_events": ("call_id", "seq", "kind", "payload", "at"),
    "outcomes": ("call_id", "fields", "missing_fields", "unconfirmed_fields",
                 "escalation_reason", "recommended_next_action", "approval_status",
                 "approved_by", "approved_at", "revision", "version"),
    "bookings": ("call_id", "reference", "kind", "booked_for", "booked_at"),
    "outcome_revisions": ("call_id", "revision", "action", "changed_by", "changed_at",
                          "before", "after"),
}


async def _fill(database_url: str, calls: int, playbook: str) -> list[str]:
    import asyncpg  # type: ignore[import-untyped]

    rows = _rows(calls, playbook)
    conn = await asyncpg.connect(database_url)
    try:
        for table, columns in _COLUMNS.items():
            await conn.copy_records_to_table(table, records=rows[table], columns=columns)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return [r[0] for r in rows["calls"]]


async def _signed_in_client(app: Any, database_url: str) -> Any:
    import re

    import httpx

    from dashboard.auth import hash_password
    from state.accounts import AccountStore
    from state.postgres_record import create_pool

    password = uuid.uuid4().hex
    pool = await create_pool(database_url, max_size=1)
    try:
        await AccountStore(pool).put_user("bench", "operator", hash_password(password))
    finally:
        await pool.close()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="http://console.bench", headers={"accept": "text/html"})
    login = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert token is not None
    response = await client.post("/login", data={"name": "bench", "password": password,
                                                 "csrf_token": token.group(1)})
    if response.status_code != 303:
        raise RuntimeError("benchmark sign-in failed")
    return client


async def _timed(client: Any, paths: list[str], must_contain: str) -> list[float]:
    """Each request's time; a page that is not the real page fails the benchmark."""
    timings = []
    for path in paths:
        started = time.perf_counter()
        response = await client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200 or must_contain not in response.text:
            raise RuntimeError(f"benchmark page wrong: status {response.status_code}")
        timings.append(elapsed)
    return timings


async def run_console_benchmark(database_url: str, *, calls: int = 10_000,
                                requests: int = 200) -> dict[str, Any]:
    from dashboard.app import create_app
    from dashboard.config import DEFAULT_PLAYBOOK, DashboardSettings
    from state.migrations import apply_migrations

    await apply_migrations(database_url)
    started = time.perf_counter()
    call_ids = await _fill(database_url, calls, str(DEFAULT_PLAYBOOK))
    fill_s = time.perf_counter() - started
    app = create_app(DashboardSettings(database_url=database_url, time_zone="UTC"),
                     migrate=False)
    rng = random.Random(11)
    day = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    list_paths = [LIST_PATHS[i % len(LIST_PATHS)].format(prefix=rng.choice(call_ids)[:6],
                                                          day=day) for i in range(requests)]
    call_paths = [f"/calls/{rng.choice(call_ids)}" for _ in range(requests)]
    async with app.router.lifespan_context(app):
        client = await _signed_in_client(app, database_url)
        try:
            await _timed(client, list_paths[:20] + call_paths[:20], "</html>")  # warm-up
            list_ms = await _timed(client, list_paths, '<table class="calls">')
            call_ms = await _timed(client, call_paths, f"turn {TURNS_PER_CALL} of the call")
            full = await client.get("/calls")
            rows_on_first_page = full.text.count('<tr>\n    <td><a href="/calls/')
        finally:
            await client.aclose()
    list_summary, call_summary = summarize(list_ms), summarize(call_ms)
    return {
        "stored_calls": calls, "fill_s": round(fill_s, 1),
        "rows_on_first_page": rows_on_first_page,
        "list_page_ms": list_summary, "call_page_ms": call_summary,
        "targets_ms": TARGETS_MS,
        "met": {"list_page_p95": (list_summary["p95"] or 0) < TARGETS_MS["list_page_p95"],
                "call_page_p95": (call_summary["p95"] or 0) < TARGETS_MS["call_page_p95"]},
    }


async def run_console_benchmark_with_local_postgres(*, calls: int = 10_000,
                                                    requests: int = 200) -> dict[str, Any]:
    """Always a private Postgres: the benchmark's rows must never land in a real record."""
    from devstack.services import PostgresServer

    server = PostgresServer()
    await asyncio.to_thread(server.start)
    try:
        return await run_console_benchmark(server.dsn, calls=calls, requests=requests)
    finally:
        await asyncio.to_thread(server.stop)
