"""Are the configured OpenAI models still there? Asked once at worker start and by
`intake doctor`.

`GET {base}/models` lists every model the key may use, each with an optional `shutdown_date`
(OpenAI's deprecations page says to watch it). A configured model missing from the list, or
past its shutdown date, is gone: the worker must not start and fail on its first call. A
shutdown date within `WARN_WITHIN` is a warning naming the date. When the list can't be had
(no network, an endpoint that doesn't serve it) the check says so and decides nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

import aiohttp

from sip.redaction import url_for_display

logger = logging.getLogger("intake.models")

OPENAI_BASE_URL = "https://api.openai.com/v1"
WARN_WITHIN = timedelta(days=60)
REQUEST_TIMEOUT_S = 5.0

Verdict = Literal["ok", "retiring", "gone", "unchecked"]


@dataclass(frozen=True)
class ModelStatus:
    model: str
    role: str  # what the worker uses it for: "realtime", "transcription"
    verdict: Verdict
    shutdown_date: date | None = None
    detail: str = ""

    def line(self) -> str:
        """One line for a terminal; names the model and, when it matters, the date."""
        what = f"{self.role} model {self.model}"
        if self.verdict == "ok":
            when = f" (shutdown {self.shutdown_date.isoformat()})" if self.shutdown_date else ""
            return f"ok: {what}{when}"
        if self.verdict == "retiring":
            assert self.shutdown_date is not None
            return (f"warning: {what} shuts down on {self.shutdown_date.isoformat()}; move to "
                    "a current model before then")
        if self.verdict == "gone":
            return f"error: {what} is no longer available ({self.detail})"
        return f"warning: {what} not checked ({self.detail})"


class ModelsUnavailableError(Exception):
    """The models list could not be fetched; the message is safe to print."""


def judge(models: Mapping[str, str], listed: Mapping[str, date | None], today: date,
          ) -> list[ModelStatus]:
    """`models` maps a model id to its role; `listed` is the models endpoint's answer."""
    statuses = []
    for model, role in models.items():
        if model not in listed:
            statuses.append(ModelStatus(model, role, "gone",
                                        detail="not in the models list for this API key"))
            continue
        shutdown = listed[model]
        if shutdown is not None and shutdown <= today:
            statuses.append(ModelStatus(model, role, "gone", shutdown,
                                        detail=f"shut down on {shutdown.isoformat()}"))
        elif shutdown is not None and shutdown - today <= WARN_WITHIN:
            statuses.append(ModelStatus(model, role, "retiring", shutdown))
        else:
            statuses.append(ModelStatus(model, role, "ok", shutdown))
    return statuses


def parse_models_list(body: Any) -> dict[str, date | None]:
    """`{"object": "list", "data": [{"id", "shutdown_date"}, ...]}` -> id: shutdown date."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        raise ModelsUnavailableError("the models endpoint answered something other than a list")
    listed: dict[str, date | None] = {}
    for item in body["data"]:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            continue
        raw = item.get("shutdown_date")
        try:
            listed[item["id"]] = date.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            listed[item["id"]] = None  # an unreadable date is not a reason to refuse
    return listed


async def fetch_models(base_url: str, api_key: str, *,
                       timeout_s: float = REQUEST_TIMEOUT_S) -> dict[str, date | None]:
    url = base_url.rstrip("/") + "/models"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.get(url, headers={"Authorization": f"Bearer {api_key}"}) as response,
        ):
            if response.status == 401:
                raise ModelsUnavailableError("the API key was refused (OPENAI_API_KEY)")
            if response.status // 100 != 2:
                raise ModelsUnavailableError(
                    f"{url_for_display(url)} answered HTTP {response.status}")
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ModelsUnavailableError(
            f"{url_for_display(url)} unreachable: {type(exc).__name__}") from None
    return parse_models_list(body)


async def check_models(models: Mapping[str, str], *, base_url: str | None, api_key: str,
                       today: date | None = None) -> list[ModelStatus]:
    try:
        listed = await fetch_models(base_url or OPENAI_BASE_URL, api_key)
    except ModelsUnavailableError as exc:
        return [ModelStatus(model, role, "unchecked", detail=str(exc))
                for model, role in models.items()]
    return judge(models, listed, today or datetime.now(UTC).date())


def check_models_blocking(models: Mapping[str, str], *, base_url: str | None,
                          api_key: str) -> list[ModelStatus]:
    """For the CLI, before any event loop runs."""
    return asyncio.run(check_models(models, base_url=base_url, api_key=api_key))


def any_gone(statuses: Iterable[ModelStatus]) -> bool:
    return any(s.verdict == "gone" for s in statuses)


def log_statuses(statuses: Iterable[ModelStatus]) -> None:
    for status in statuses:
        extra = {"model": status.model, "role": status.role,
                 "shutdown_date": status.shutdown_date.isoformat() if status.shutdown_date
                 else None, "detail": status.detail}
        if status.verdict == "retiring":
            logger.warning("configured model shuts down soon", extra=extra)
        elif status.verdict == "gone":
            logger.error("configured model is no longer available", extra=extra)
        elif status.verdict == "unchecked":
            logger.warning("configured models could not be checked", extra=extra)


__all__ = ["WARN_WITHIN", "ModelStatus", "ModelsUnavailableError", "any_gone", "check_models",
           "check_models_blocking", "fetch_models", "judge", "log_statuses",
           "parse_models_list"]
