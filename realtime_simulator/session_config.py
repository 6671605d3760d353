"""The session one connection configures with session.update, as session.created reports it."""

from __future__ import annotations

import copy
from typing import Any

from .client_errors import ClientError
from .wire import SAMPLE_RATE, default_session, merge_session, session_update_error


class SessionConfig:
    """The session's current settings; updates are validated before any of them applies."""

    def __init__(self, model: str) -> None:
        self._session = default_session(model)

    def view(self) -> dict[str, Any]:
        """A copy to send in session.created / session.updated."""
        return copy.deepcopy(self._session)

    @property
    def turn_detection(self) -> Any:
        """The audio.input.turn_detection setting as the client sent it (None turns it off)."""
        return dig(self._session, "audio", "input", "turn_detection")

    @property
    def transcribes_input(self) -> bool:
        return dig(self._session, "audio", "input", "transcription") is not None

    def output_audio(self) -> dict[str, Any]:
        """A copy of audio.output, as a response object reports it."""
        return copy.deepcopy(dig(self._session, "audio", "output") or {})

    def apply_update(self, update: Any) -> None:
        """Merge a session.update's ``session`` object; raises ClientError, changing nothing,
        if the API would reject it."""
        if not isinstance(update, dict):
            raise ClientError(
                "missing_required_parameter", "Missing required parameter: 'session'.", "session"
            )
        session_type = update.get("type", "realtime")
        if session_type != "realtime":
            raise ClientError(
                "invalid_value",
                "Invalid value for 'session.type'; this server supports 'realtime'.",
                "session.type",
            )
        update = copy.deepcopy(update)
        # beta-style flat field, still sent by some clients
        if "turn_detection" in update:
            flat = update.pop("turn_detection")
            update.setdefault("audio", {}).setdefault("input", {})["turn_detection"] = flat
        td = dig(update, "audio", "input", "turn_detection")
        if isinstance(td, dict) and td.get("type") not in ("server_vad", "semantic_vad"):
            raise ClientError(
                "invalid_value",
                "Invalid value for turn_detection.type: expected 'server_vad' or 'semantic_vad'.",
                "session.audio.input.turn_detection.type",
            )
        for direction in ("input", "output"):
            fmt = dig(update, "audio", direction, "format")
            if isinstance(fmt, dict) and (
                fmt.get("type", "audio/pcm") != "audio/pcm"
                or fmt.get("rate", SAMPLE_RATE) != SAMPLE_RATE
            ):
                raise ClientError(
                    "invalid_value",
                    "This server supports only audio/pcm at 24000 Hz.",
                    f"session.audio.{direction}.format",
                )
        refused = session_update_error(update, str(self._session.get("model", "")))
        if refused is not None:
            raise ClientError(*refused)
        merge_session(self._session, update)


def dig(data: Any, *keys: str) -> Any:
    """data[k1][k2]..., or None where a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data
