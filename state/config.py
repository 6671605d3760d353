"""Storage settings from the environment; each missing or bad value names its variable."""

from __future__ import annotations

import os

DATABASE_URL_ENV = "INTAKE_DATABASE_URL"
REDIS_URL_ENV = "INTAKE_REDIS_URL"
RETENTION_DAYS_ENV = "INTAKE_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30


class ConfigError(ValueError):
    """A missing or malformed setting; the message names the variable, never its value."""


def database_url() -> str:
    value = os.environ.get(DATABASE_URL_ENV, "").strip()
    if not value:
        raise ConfigError(f"{DATABASE_URL_ENV} is not set (e.g. postgresql://user:pw@host/db)")
    if not value.startswith(("postgresql://", "postgres://")):
        raise ConfigError(f"{DATABASE_URL_ENV} must be a postgresql:// URL")
    return value


def redis_url() -> str:
    value = os.environ.get(REDIS_URL_ENV, "").strip()
    if not value:
        raise ConfigError(f"{REDIS_URL_ENV} is not set (e.g. redis://127.0.0.1:6379/0)")
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"{REDIS_URL_ENV} must be a redis:// URL")
    return value


def default_retention_days() -> int:
    raw = os.environ.get(RETENTION_DAYS_ENV, "").strip()
    if not raw:
        return DEFAULT_RETENTION_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise ConfigError(f"{RETENTION_DAYS_ENV} must be a whole number of days") from None
    if days < 0:
        raise ConfigError(f"{RETENTION_DAYS_ENV} must not be negative")
    return days
