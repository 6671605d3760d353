"""`GET /v1/models` and `GET /v1/models/{model}` as OpenAI serves them, for the simulator.

Each model object carries the optional `shutdown_date` (YYYY-MM-DD, or null) that OpenAI's
deprecations page tells clients to watch. The catalogue below is what OpenAI announced as of
late 2026 (the OpenAI SDK's type annotations carry the same dates); a test replaces entries to
play a model that is about to go, or gone (absent from the list, 404 on retrieve).

Registration is one line in the simulator's app factory:
`add_model_routes(app, catalogue, api_key)`.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class ModelEntry:
    created: int  # Unix time of the release day (approximate where OpenAI published none)
    shutdown_date: date | None = None


REALTIME_SHUTDOWN = date(2027, 1, 20)
LEGACY_TRANSCRIPTION_SHUTDOWN = date(2027, 2, 26)


def default_catalogue() -> dict[str, ModelEntry]:
    return {
        "gpt-realtime": ModelEntry(1756339200, REALTIME_SHUTDOWN),
        "gpt-realtime-2025-08-28": ModelEntry(1756339200, REALTIME_SHUTDOWN),
        "gpt-realtime-mini": ModelEntry(1759708800, REALTIME_SHUTDOWN),
        "gpt-realtime-1.5": ModelEntry(1771977600),
        "gpt-realtime-2": ModelEntry(1778112000),
        "gpt-realtime-2.1": ModelEntry(1783555200),
        "gpt-realtime-2.1-mini": ModelEntry(1783555200),
        "whisper-1": ModelEntry(1677610602, LEGACY_TRANSCRIPTION_SHUTDOWN),
        "gpt-4o-transcribe": ModelEntry(1742256000, LEGACY_TRANSCRIPTION_SHUTDOWN),
        "gpt-4o-mini-transcribe": ModelEntry(1742256000, LEGACY_TRANSCRIPTION_SHUTDOWN),
        "gpt-realtime-whisper": ModelEntry(1778112000),
        "gpt-transcribe": ModelEntry(1785196800),
        "gpt-live-transcribe": ModelEntry(1785196800),
    }


def model_object(model_id: str, entry: ModelEntry) -> dict[str, Any]:
    return {
        "id": model_id,
        "object": "model",
        "created": entry.created,
        "owned_by": "system",
        "shutdown_date": entry.shutdown_date.isoformat() if entry.shutdown_date else None,
    }


def _error(status: int, message: str, code: str | None, param: str | None = None,
           ) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error",
                                        "param": param, "code": code}}, status=status)


def _authorized(request: web.Request, api_key: str) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                             api_key.encode())


def add_model_routes(app: web.Application, catalogue: MutableMapping[str, ModelEntry],
                     api_key: str) -> None:
    """Serve `catalogue` (shared, so a running test may change it) under /v1/models."""
    async def list_models(request: web.Request) -> web.Response:
        if not _authorized(request, api_key):
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        return web.json_response({"object": "list", "data": _listed(catalogue)})

    async def retrieve_model(request: web.Request) -> web.Response:
        if not _authorized(request, api_key):
            return _error(401, "Incorrect API key provided.", "invalid_api_key")
        model_id = request.match_info["model"]
        entry = catalogue.get(model_id)
        if entry is None:
            return _error(404, f"The model '{model_id}' does not exist or you do not have "
                          "access to it.", "model_not_found", "model")
        return web.json_response(model_object(model_id, entry))

    for prefix in ("/v1", ""):
        app.router.add_get(f"{prefix}/models", list_models)
        app.router.add_get(f"{prefix}/models/{{model}}", retrieve_model)


def _listed(catalogue: Mapping[str, ModelEntry]) -> list[dict[str, Any]]:
    return [model_object(model_id, entry) for model_id, entry in sorted(catalogue.items())]


__all__ = ["ModelEntry", "add_model_routes", "default_catalogue",
           "model_object"]
