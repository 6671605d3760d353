"""Fixed lines spoken by the Realtime model itself, so the caller hears one voice all call.

A short Realtime session (the call's model and voice, no turn detection) is asked for an
out-of-band response (`conversation: "none"`, the line as the response's only input) that
speaks the line word for word. Its PCM16 24 kHz audio is kept, and checked against the
response's transcript: a paraphrase is rendered once more, then given up (the caller hears
espeak-ng for that line rather than words the line doesn't say).

Not OpenAI's speech endpoint: `/v1/audio/speech` and its TTS models shut down on 2027-01-06.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlparse, urlunparse

import aiohttp

OPENAI_BASE_URL = "https://api.openai.com/v1"
SAMPLE_RATE = 24000
RENDER_ATTEMPTS = 2
# says how, not what: the line itself is the response's only input item
SPEAK_VERBATIM = (
    "You are a voice actor reading a script for a phone line. Speak the user's message aloud "
    "exactly as written, word for word, in a warm, natural phone voice. Do not add, drop, "
    "answer or change anything; no greeting or comment of your own.")
_NOT_WORD = re.compile(r"[^\w\s]+")
_DASH = re.compile(r"[-\u2010-\u2015]")


class RealtimeUnreachable(RuntimeError):
    """No Realtime session could be opened (refused, rejected key, timeout)."""


class RenderFailed(RuntimeError):
    """The session opened but gave no usable rendering (error event, no audio, closed)."""


def normalized_words(text: str) -> list[str]:
    """Words to compare a line with its transcript: case and punctuation ignored ("A.I."
    is "ai", "I'm" is "im"), a dash separates words."""
    return _NOT_WORD.sub("", _DASH.sub(" ", text).lower()).split()


def transcript_matches(line: str, transcript: str) -> bool:
    return normalized_words(line) == normalized_words(transcript)


def realtime_ws_url(base_url: str | None, model: str) -> str:
    """The WebSocket URL the LiveKit plugin builds from the same base URL (…/v1/realtime)."""
    url = base_url or OPENAI_BASE_URL
    if url.startswith("http"):
        url = url.replace("http", "ws", 1)
    parsed = urlparse(url)
    path = parsed.path.rstrip("/")
    if path in {"", "/v1", "/openai", "/openai/v1"}:
        path += "/realtime"
    return urlunparse((parsed.scheme, parsed.netloc, path, "", urlencode({"model": model}), ""))


@dataclass(frozen=True)
class Rendering:
    pcm: bytes
    transcript: str


@dataclass(frozen=True)
class RealtimeVoice:
    """Where and as whom lines are rendered: the call's endpoint, model and voice."""

    base_url: str | None
    api_key: str
    model: str
    voice: str
    connect_timeout_s: float = 3.0
    # one response, from response.create to response.done
    response_timeout_s: float = 30.0

    @property
    def endpoint(self) -> str:
        """The host renderings come from (part of the cache key: a simulator's rendering is
        never served as the API's)."""
        return urlparse(self.base_url or OPENAI_BASE_URL).hostname or ""

    async def render(self, line: str) -> bytes | None:
        """The line in the model's voice, or None when every attempt paraphrased it or the
        session failed. Raises RealtimeUnreachable when no session could be opened."""
        async with aiohttp.ClientSession() as http:
            ws = await self._connect(http)
            try:
                await self._configure(ws)
                for _attempt in range(RENDER_ATTEMPTS):
                    try:
                        rendering = await asyncio.wait_for(self._speak(ws, line),
                                                           self.response_timeout_s)
                    except (RenderFailed, TimeoutError, aiohttp.ClientError, ConnectionError):
                        return None
                    if rendering.pcm and transcript_matches(line, rendering.transcript):
                        return rendering.pcm
                return None
            finally:
                await ws.close()

    async def _connect(self, http: aiohttp.ClientSession) -> aiohttp.ClientWebSocketResponse:
        headers = {"Authorization": f"Bearer {self.api_key}", "User-Agent": "phone-intake"}
        try:
            return await asyncio.wait_for(
                http.ws_connect(realtime_ws_url(self.base_url, self.model), headers=headers,
                                max_msg_size=16 * 1024 * 1024),
                self.connect_timeout_s)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise RealtimeUnreachable(type(exc).__name__) from None

    async def _configure(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        audio_format = {"type": "audio/pcm", "rate": SAMPLE_RATE}
        await _send(ws, {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "model": self.model,
                "output_modalities": ["audio"],
                "instructions": SPEAK_VERBATIM,
                "audio": {
                    "input": {"format": audio_format, "turn_detection": None},
                    "output": {"format": audio_format, "voice": self.voice},
                },
            },
        })

    async def _speak(self, ws: aiohttp.ClientWebSocketResponse, line: str) -> Rendering:
        """One out-of-band response speaking `line`; its audio and transcript."""
        tag = f"line_{uuid.uuid4().hex[:12]}"
        await _send(ws, {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "output_modalities": ["audio"],
                "instructions": SPEAK_VERBATIM,
                "metadata": {"intake_render": tag},
                "input": [{
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": line}],
                }],
            },
        })
        response_id: str | None = None
        audio = bytearray()
        transcript: str | None = None
        async for message in ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                break
            event = _parse(message.data)
            kind = event.get("type")
            if kind == "error":
                raise RenderFailed("error event")
            if kind == "response.created":
                if _metadata_tag(event.get("response")) == tag:
                    response_id = str(event["response"].get("id"))
                continue
            if response_id is None or event.get("response_id", _response_id(event)) != response_id:
                continue
            if kind == "response.output_audio.delta":
                audio += base64.b64decode(str(event.get("delta", "")))
            elif kind == "response.output_audio_transcript.done":
                transcript = str(event.get("transcript", ""))
            elif kind == "response.done":
                status = (event.get("response") or {}).get("status")
                if status != "completed":
                    raise RenderFailed("response not completed")
                return Rendering(bytes(audio[: len(audio) - len(audio) % 2]), transcript or "")
        raise RenderFailed("session closed")


async def _send(ws: aiohttp.ClientWebSocketResponse, event: dict[str, Any]) -> None:
    try:
        await ws.send_str(json.dumps(event))
    except (ConnectionError, RuntimeError) as exc:
        raise RenderFailed("send failed") from exc


def _parse(data: Any) -> dict[str, Any]:
    try:
        event = json.loads(data)
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def _metadata_tag(response: Any) -> Any:
    metadata = response.get("metadata") if isinstance(response, dict) else None
    return metadata.get("intake_render") if isinstance(metadata, dict) else None


def _response_id(event: dict[str, Any]) -> Any:
    response = event.get("response")
    return response.get("id") if isinstance(response, dict) else None
