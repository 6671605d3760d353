"""The OpenAI Realtime (GA) wire format as the simulator writes it: ids, items, responses,
errors and the audio elision used by the wire log.

Event and field names follow the GA API that livekit-agents' OpenAI engine parses
(``response.output_audio.delta``, ``conversation.item.added``, ...), not the beta names.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

SAMPLE_RATE = 24000
BYTES_PER_MS = SAMPLE_RATE * 2 // 1000
AUDIO_FORMAT: dict[str, Any] = {"type": "audio/pcm", "rate": SAMPLE_RATE}

_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def new_id(prefix: str, length: int = 20) -> str:
    """An id shaped like the API's (``item_`` + 20 characters; call ids stay under 32)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def server_event(type_: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "event_id": new_id("event_"), **fields}


def error_event(
    code: str | None,
    message: str,
    *,
    param: str | None = None,
    client_event_id: str | None = None,
    error_type: str = "invalid_request_error",
) -> dict[str, Any]:
    return server_event(
        "error",
        error={
            "type": error_type,
            "code": code,
            "message": message,
            "param": param,
            "event_id": client_event_id,
        },
    )


REASONING_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")
TRANSCRIPTION_DELAYS = REASONING_EFFORTS
# reasoning-capable realtime models (session.reasoning.effort; the API's default is low)
REASONING_MODEL_PREFIX = "gpt-realtime-2"


def takes_reasoning(model: str) -> bool:
    return model.startswith(REASONING_MODEL_PREFIX)


def session_update_error(update: dict[str, Any], model: str) -> tuple[str, str, str] | None:
    """What the API answers a session.update it refuses with: (code, message, param); None
    when the reasoning and input transcription fields are ones `model` takes."""
    reasoning = update.get("reasoning")
    if reasoning is not None:
        if not isinstance(reasoning, dict):
            return ("invalid_type", "Invalid type for 'session.reasoning': expected an object.",
                    "session.reasoning")
        if not takes_reasoning(model):
            return ("unsupported_parameter", f"'reasoning' is not supported with model "
                    f"'{model}'.", "session.reasoning")
        effort = reasoning.get("effort")
        if effort is not None and effort not in REASONING_EFFORTS:
            return ("invalid_value", "Invalid value for 'session.reasoning.effort': expected "
                    f"one of {', '.join(REASONING_EFFORTS)}.", "session.reasoning.effort")
    audio = update.get("audio")
    inp = audio.get("input") if isinstance(audio, dict) else None
    transcription = inp.get("transcription") if isinstance(inp, dict) else None
    if isinstance(transcription, dict):
        name = transcription.get("model")
        delay = transcription.get("delay")
        if delay is not None and (name != "gpt-realtime-whisper"
                                  or delay not in TRANSCRIPTION_DELAYS):
            return ("invalid_value", "'delay' is supported only with gpt-realtime-whisper, "
                    f"as one of {', '.join(TRANSCRIPTION_DELAYS)}.",
                    "session.audio.input.transcription.delay")
    return None


def default_session(model: str) -> dict[str, Any]:
    """The session a fresh connection starts with, as session.created reports it; a
    reasoning model's carries its reasoning effort."""
    session: dict[str, Any] = {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess_"),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": "",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 0,
        "include": None,
        "audio": {
            "input": {
                "format": dict(AUDIO_FORMAT),
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                    "idle_timeout_ms": None,
                    "create_response": True,
                    "interrupt_response": True,
                },
            },
            "output": {"format": dict(AUDIO_FORMAT), "voice": "marin", "speed": 1.0},
        },
    }
    if takes_reasoning(model):
        session["reasoning"] = {"effort": "low"}
    return session


# Keys whose value a session.update replaces wholesale instead of merging into.
_REPLACED_KEYS = frozenset(
    {
        "turn_detection",
        "tools",
        "transcription",
        "noise_reduction",
        "format",
        "tracing",
        "tool_choice",
        "truncation",
        "prompt",
        "reasoning",
    }
)


def merge_session(current: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        existing = current.get(key)
        if key not in _REPLACED_KEYS and isinstance(value, dict) and isinstance(existing, dict):
            merge_session(existing, value)
        else:
            current[key] = value


def assistant_message_item(item_id: str, status: str, transcript: str | None) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if transcript is not None:
        content.append({"type": "output_audio", "transcript": transcript})
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    }


def function_call_item(
    item_id: str, status: str, call_id: str, name: str, arguments: str
) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "function_call",
        "status": status,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
    }


def user_audio_item(item_id: str, transcript: str | None) -> dict[str, Any]:
    return {
        "id": item_id,
        "object": "realtime.item",
        "type": "message",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_audio", "transcript": transcript}],
    }


def usage(*, input_audio_ms: int, output_audio_ms: int, output_words: int) -> dict[str, Any]:
    """Token counts estimated from durations and words (the real API bills audio at roughly
    one token per 50 ms); deterministic so tests can compare them."""
    in_audio = input_audio_ms // 50
    out_audio = output_audio_ms // 50
    out_text = output_words
    return {
        "total_tokens": in_audio + out_audio + out_text,
        "input_tokens": in_audio,
        "output_tokens": out_audio + out_text,
        "input_token_details": {
            "text_tokens": 0,
            "audio_tokens": in_audio,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": out_text, "audio_tokens": out_audio},
    }


def b64_decoded_length(data: str) -> int:
    """Byte length a base64 string decodes to, without decoding it."""
    stripped = data.rstrip("=")
    return len(stripped) * 3 // 4


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def elide_audio(event: dict[str, Any]) -> dict[str, Any]:
    """A copy of the event for the wire log, each base64 audio payload replaced by its decoded
    byte length (an int)."""
    type_ = event.get("type")
    if type_ == "input_audio_buffer.append" and isinstance(event.get("audio"), str):
        return {**event, "audio": b64_decoded_length(event["audio"])}
    if type_ == "response.output_audio.delta" and isinstance(event.get("delta"), str):
        return {**event, "delta": b64_decoded_length(event["delta"])}
    if type_ == "conversation.item.create" and isinstance(event.get("item"), dict):
        content = event["item"].get("content")
        if isinstance(content, list) and any(
            isinstance(c, dict) and isinstance(c.get("audio"), str) for c in content
        ):
            new_content = [
                {**c, "audio": b64_decoded_length(c["audio"])}
                if isinstance(c, dict) and isinstance(c.get("audio"), str)
                else c
                for c in content
            ]
            return {**event, "item": {**event["item"], "content": new_content}}
    return event
