"""Console settings from the environment; every key is documented in .env.example."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from state.config import REDIS_URL_ENV, ConfigError, database_url, redis_url

DEFAULT_PLAYBOOK = Path(__file__).resolve().parent.parent / "playbooks" / "home_services.yaml"


@dataclass(frozen=True)
class DashboardSettings:
    database_url: str
    host: str = "127.0.0.1"
    port: int = 8080
    session_hours: float = 8.0
    # Secure cookies: always when true; else only for requests that arrived over HTTPS
    secure_cookies: bool = False
    # the playbook for calls whose own playbook file is gone (and for the overview's days)
    playbook_path: Path = DEFAULT_PLAYBOOK
    time_zone: str | None = None  # default: the playbook's business time zone
    login_attempts: int = 5  # failed sign-ins per account name (and 4x per address) ...
    login_window_s: float = 900.0  # ... within this window, then refused until it passes
    page_size: int = 50
    # live supervision pages read Redis; without it they answer 503 and the rest works
    redis_url: str | None = None


def _number(name: str, default: float, minimum: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g}")
    return value


def load_dashboard_settings(*, host: str | None = None, port: int | None = None
                            ) -> DashboardSettings:
    secure = os.environ.get("INTAKE_DASHBOARD_SECURE_COOKIES", "").strip().lower()
    if secure not in ("", "true", "false", "1", "0"):
        raise ConfigError("INTAKE_DASHBOARD_SECURE_COOKIES must be true or false")
    playbook = Path(os.environ.get("INTAKE_PLAYBOOK", "").strip() or DEFAULT_PLAYBOOK)
    if not playbook.is_file():
        raise ConfigError(f"INTAKE_PLAYBOOK: file not found: {playbook}")
    zone = os.environ.get("INTAKE_DASHBOARD_TIME_ZONE", "").strip() or None
    if zone is not None:
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("INTAKE_DASHBOARD_TIME_ZONE must be an IANA time zone") from None
    return DashboardSettings(
        database_url=database_url(),
        host=host or os.environ.get("INTAKE_DASHBOARD_HOST", "").strip() or "127.0.0.1",
        port=port or int(_number("INTAKE_DASHBOARD_PORT", 8080, 1)),
        session_hours=_number("INTAKE_DASHBOARD_SESSION_HOURS", 8.0, 0.05),
        secure_cookies=secure in ("true", "1"),
        playbook_path=playbook,
        time_zone=zone,
        login_attempts=int(_number("INTAKE_DASHBOARD_LOGIN_ATTEMPTS", 5, 1)),
        redis_url=redis_url() if os.environ.get(REDIS_URL_ENV, "").strip() else None,
    )
