"""Out-of-band responses (`response.create` with `response.conversation: "none"`).

The API answers them from the response's own `input` items, outside the default
conversation: their output items are never added to it, and here they never advance the
scenario script (one script serves one call; a client rendering a line is not the caller).
The simulated model speaks the input's last user text word for word, as a model asked to
read a line would, with espeak-ng as its voice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .client_errors import ClientError

PARAPHRASE_PREFIX = "Sure, here it is:"


@dataclass(frozen=True)
class OutOfBandRecord:
    """One out-of-band response: the line asked for, what was spoken, and its audio."""

    response_id: str
    text: str
    spoken: str
    voice: str | None
    pcm: bytes
    at: float


def is_out_of_band(params: dict[str, Any] | None) -> bool:
    if not params or "conversation" not in params:
        return False
    conversation = params["conversation"]
    if conversation not in ("auto", "none"):
        raise ClientError(
            "invalid_value",
            "Invalid value for 'response.conversation': expected 'auto' or 'none'.",
            "response.conversation",
        )
    return bool(conversation == "none")


def input_user_text(params: dict[str, Any]) -> str:
    """The text of the last user message among the response's input items ("" if none)."""
    items = params.get("input")
    if items is None:
        return ""
    if not isinstance(items, list):
        raise ClientError("invalid_type", "Invalid 'response.input': expected an array.",
                          "response.input")
    text = ""
    for item in items:
        if not isinstance(item, dict) or item.get("type") != "message":
            continue
        if item.get("role") != "user" or not isinstance(item.get("content"), list):
            continue
        parts = [p.get("text") for p in item["content"]
                 if isinstance(p, dict) and p.get("type") == "input_text"]
        text = " ".join(p for p in parts if isinstance(p, str) and p.strip())
    return text


def paraphrased(text: str) -> str:
    """What a model that didn't read the line verbatim might say instead (tests only)."""
    return f"{PARAPHRASE_PREFIX} {text}"
