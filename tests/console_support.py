"""Helpers for the console tests: an in-process app client, sign-in, and seeded records."""

from __future__ import annotations

import asyncio
import contextlib
import re
import sys
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from dashboard.app import create_app
from dashboard.auth import hash_password
from dashboard.config import DEFAULT_PLAYBOOK, DashboardSettings
from devstack.paths import project_root
from devstack.processes import ManagedProcess, free_port
from state.accounts import AccountStore
from state.migrations import apply_migrations
from state.postgres_record import (
    CallBatch,
    CallRow,
    EventRow,
    OutcomeDraft,
    PostgresRecordStore,
    TurnRow,
    create_pool,
)

PASSWORD = "correct horse battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match is not None, "page has no CSRF field"
    return match.group(1)


@contextlib.asynccontextmanager
async def console_client(database_url: str, **overrides: Any
                         ) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app in-process (with its lifespan), behind an httpx client."""
    settings = DashboardSettings(database_url=database_url, playbook_path=DEFAULT_PLAYBOOK,
                                 **overrides)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://console.test",
                                     headers={"accept": "text/html"},
                                     follow_redirects=False) as client:
            yield client


async def add_user(database_url: str, name: str, role: str) -> None:
    """The account with `PASSWORD`; again for an account a fixture of another module added
    to the same database (the session's call stack) gives no error."""
    await apply_migrations(database_url)
    pool = await create_pool(database_url, max_size=1)
    try:
        await AccountStore(pool).put_user(name, role, hash_password(PASSWORD))
    finally:
        await pool.close()


async def sign_in(client: httpx.AsyncClient, name: str, password: str = PASSWORD
                  ) -> httpx.Response:
    page = await client.get("/login")
    return await client.post("/login", data={
        "name": name, "password": password, "csrf_token": csrf_from(page.text), "next": ""})


async def seed_call(database_url: str, call_id: str, *, caller_text: str = "Hi there.",
                    fields: dict[str, str] | None = None, missing: list[str] | None = None,
                    unconfirmed: list[str] | None = None, escalation: str | None = None,
                    started: datetime | None = None,
                    bookings: list[dict[str, Any]] | None = None) -> None:
    """A stored call as the writer would leave it (for in-process HTTP tests; the browser
    tests use real simulated calls)."""
    await apply_migrations(database_url)
    started = started or datetime.now(UTC) - timedelta(minutes=5)
    pool = await create_pool(database_url, max_size=1)
    try:
        await PostgresRecordStore(pool).write_batch(CallBatch(
            call=CallRow(call_id=call_id, room=f"call-{call_id}", status="ended",
                         caller_number="+15125550142",
                         playbook=str(DEFAULT_PLAYBOOK), started_at=started,
                         ended_at=started + timedelta(seconds=95)),
            call_id=call_id,
            turns=[TurnRow(1, "agent", "Thanks for calling. What's going on?",
                           started + timedelta(seconds=1), interrupted=True),
                   TurnRow(2, "caller", caller_text, started + timedelta(seconds=4))],
            events=[EventRow(3, "slot_changed", {"field": "problem", "change": "recorded",
                                                 "value": "leak", "confirmed": False,
                                                 "source_turn": 1},
                             started + timedelta(seconds=5))],
            outcome=OutcomeDraft(
                fields=fields if fields is not None else {"problem": "leak"},
                missing_fields=missing if missing is not None else [
                    "location", "deadline", "followup_channel", "name", "phone"],
                unconfirmed_fields=unconfirmed or [], escalation_reason=escalation,
                recommended_next_action="human_review", source_seq=4,
                bookings=bookings or []),
        ))
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def dashboard_process(env: dict[str, str]) -> AsyncIterator[tuple[str, ManagedProcess]]:
    """`intake dashboard` as its own process on a free port, once /healthz answers; yields its
    URL and the process (its log is at `.log_path`)."""
    port = free_port()
    server = ManagedProcess(
        "dashboard", [sys.executable, "-m", "agent.cli", "dashboard", "--port", str(port)],
        log_path=Path(tempfile.mkdtemp(prefix="intake-console-")) / "dashboard.log", env=env,
        cwd=project_root())
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(200):
                try:
                    if (await client.get(f"{url}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.running(), server.tail()
                await asyncio.sleep(0.1)
        yield url, server
    finally:
        server.stop()
