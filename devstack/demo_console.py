"""The operator console for `intake demo`: served on the demo's event loop, on the demo's
database, with a `demo` account whose random password is printed once and stored only as
its argon2 hash."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from devstack.processes import free_port, port_open

if TYPE_CHECKING:
    from dashboard.server import RunningDashboard

DEMO_ACCOUNT = "demo"
# the demo account sees every page (overview, reopen), so a newcomer can try them all
DEMO_ROLE = "admin"


@dataclass(frozen=True)
class DemoConsole:
    url: str
    running: RunningDashboard


@contextlib.asynccontextmanager
async def demo_console(database_url: str, playbook: Path | None) -> AsyncIterator[DemoConsole]:
    """The console (its URL, and a way to wait until Ctrl-C stops it) while it serves."""
    from dashboard.auth import hash_password
    from dashboard.config import DEFAULT_PLAYBOOK, DashboardSettings
    from dashboard.server import running_dashboard
    from state.accounts import AccountStore
    from state.postgres_record import create_pool

    port = int(os.environ.get("INTAKE_DASHBOARD_PORT") or 8080)
    if port_open(port):
        port = free_port()  # someone else has the usual port: any free one will do
    settings = DashboardSettings(database_url=database_url, host="127.0.0.1", port=port,
                                 playbook_path=playbook or DEFAULT_PLAYBOOK)
    async with running_dashboard(settings) as running:
        password = secrets.token_urlsafe(12)
        pool = await create_pool(database_url, max_size=1)
        try:
            await AccountStore(pool).put_user(DEMO_ACCOUNT, DEMO_ROLE, hash_password(password))
        finally:
            await pool.close()
        url = f"http://127.0.0.1:{port}/"
        print(f"  operator console: {url}  sign in as {DEMO_ACCOUNT} / {password} "
              "(a new password every run, shown only here)", flush=True)
        yield DemoConsole(url, running)
