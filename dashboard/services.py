"""What every view reaches through the request: the console's services and templates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import redis.asyncio as aioredis
from starlette.requests import Request
from starlette.templating import Jinja2Templates

import dashboard.formatting as formatting
from dashboard.auth import LoginThrottle, SessionManager
from dashboard.config import DashboardSettings
from dashboard.review_core import PlaybookCache
from state.accounts import AccountStore
from state.console_queries import ConsoleQueries
from state.postgres_record import PostgresRecordStore

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


@dataclass
class ConsoleServices:
    settings: DashboardSettings
    pool: Any
    store: PostgresRecordStore
    queries: ConsoleQueries
    accounts: AccountStore
    sessions: SessionManager
    throttle: LoginThrottle
    playbooks: PlaybookCache
    templates: Jinja2Templates
    zone: ZoneInfo
    redis: aioredis.Redis | None = None  # live supervision; None when not configured


def services(request: Request) -> ConsoleServices:
    result: ConsoleServices = request.app.state.console
    return result


def console_templates() -> Jinja2Templates:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
                             autoescape=True, undefined=jinja2.StrictUndefined)
    env.filters.update(mask_phone=formatting.mask_phone, pretty_phone=formatting.pretty_phone,
                       duration=formatting.duration, label=formatting.label,
                       next_action=formatting.next_action_label,
                       local_time=formatting.local_time)
    return Jinja2Templates(env=env)
