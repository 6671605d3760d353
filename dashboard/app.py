"""The console's composition root: `create_app(settings)` picks the implementations (asyncpg
pool, record store, account store, playbooks) and mounts the views behind the guard.

Views live one module per resource in `dashboard/views/`; each exports `routes`. The next
issue's supervisor pages add their module to VIEW_MODULES.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from dashboard.auth import LoginThrottle, SessionManager
from dashboard.config import DashboardSettings
from dashboard.guard import STORE_DOWN, ConsoleGuard
from dashboard.rendering import render
from dashboard.review_core import PlaybookCache
from dashboard.services import ConsoleServices, console_templates
from dashboard.views.live_stream import live_redis_client
from recording.config import recording_store
from state.accounts import AccountStore
from state.console_queries import ConsoleQueries
from state.migrations import apply_migrations
from state.postgres_record import PG_UNAVAILABLE, PostgresRecordStore, create_pool

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
VIEW_MODULES = (
    "dashboard.views.auth_views",
    "dashboard.views.calls_list",
    "dashboard.views.call_page",
    "dashboard.views.overview",
    "dashboard.views.export",
    "dashboard.views.live_audio",
    "dashboard.views.recording_audio",
    "dashboard.views.eval_case",
    "dashboard.views.live_board",
    "dashboard.views.live_call",
)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    wants_html = "text/html" in request.headers.get("accept", "")
    if exc.status_code in (403, 404) and wants_html and request.scope.get("console_user"):
        return render(request, "error.html", {"status": exc.status_code, "detail": exc.detail,
                                              "page_title": "Error"},
                      status_code=exc.status_code)
    return PlainTextResponse(str(exc.detail), status_code=exc.status_code)


async def _store_down(request: Request, exc: Exception) -> Response:
    logger.warning("console: record store unreachable", extra={"path": request.url.path})
    return PlainTextResponse(STORE_DOWN, status_code=503, headers={"retry-after": "5"})


def create_app(settings: DashboardSettings, *, migrate: bool = True) -> Starlette:
    holder: dict[str, ConsoleServices] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # the call page's player reads the store the workers record into (folder or S3);
        # a bad setting fails here, naming the variable
        recordings = recording_store()
        if migrate:
            await apply_migrations(settings.database_url)
        pool = await create_pool(settings.database_url, max_size=8)
        playbooks = PlaybookCache(settings.playbook_path)
        zone = ZoneInfo(settings.time_zone) if settings.time_zone else playbooks.get(None).zone
        accounts = AccountStore(pool)
        console = ConsoleServices(
            settings=settings, pool=pool, store=PostgresRecordStore(pool),
            queries=ConsoleQueries(pool), accounts=accounts,
            sessions=SessionManager(accounts, timedelta(hours=settings.session_hours)),
            throttle=LoginThrottle(settings.login_attempts, settings.login_window_s),
            playbooks=playbooks, templates=console_templates(), zone=zone,
            redis=live_redis_client(settings.redis_url) if settings.redis_url else None)
        holder["console"] = console
        app.state.console = console
        app.state.recordings = recordings
        try:
            yield
        finally:
            await recordings.aclose()
            if console.redis is not None:
                await console.redis.aclose()
            await pool.close()

    routes: list[BaseRoute] = []
    for name in VIEW_MODULES:
        routes += importlib.import_module(name).routes
    routes.append(Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"))
    return Starlette(
        routes=routes, lifespan=lifespan,
        middleware=[Middleware(ConsoleGuard, sessions=lambda: holder["console"].sessions)],
        exception_handlers={HTTPException: _http_error,
                            **dict.fromkeys(PG_UNAVAILABLE, _store_down)})
