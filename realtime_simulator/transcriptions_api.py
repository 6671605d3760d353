"""`POST /v1/audio/transcriptions` as OpenAI serves it, for the simulator: what a supervisor said.

The request is multipart/form-data: `file` (the audio) and `model`, with optional `language`,
`languages[]`, `keywords[]`, `prompt`, `response_format`, `temperature`, `include[]` and
`stream` (the openai SDK sends list fields with a `[]` suffix). The reply is OpenAI's: JSON
`{"text", "usage"}`, whisper-1's `verbose_json`, or plain `text`; a bad request gets OpenAI's
`{"error": {message, type, param, code}}` with a 4xx status.

There is no offline ASR. An upload whose audio holds speech (the energy detector the simulated
Realtime VAD uses, at its default threshold) is the scenario's next `supervisor_lines` entry;
silence, or speech past the end of the script, transcribes to "". That is the honesty of the
simulated caller's transcripts: the audio decides whether there was speech, the script what
was said. Only WAV (PCM16) is decoded; anything else is refused as OpenAI refuses a file it
cannot read. Streaming and srt/vtt are not served.

Registration is one line in the simulator's app factory: `add_transcription_routes(...)`.
"""

from __future__ import annotations

import hmac
import io
import logging
import wave
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from aiohttp import web

from .models_api import ModelEntry
from .vad import EnergySpeechDetector

logger = logging.getLogger(__name__)

# OpenAI's upload limit; aiohttp's own default (1 MiB) would cut a long utterance
MAX_UPLOAD_BYTES = 25 * 1024 * 1024
MIN_AUDIO_MS = 100
# served by /v1/audio/transcriptions (the realtime-only ones are not)
REST_TRANSCRIPTION_MODELS = ("whisper-1", "gpt-4o-transcribe", "gpt-4o-mini-transcribe",
                             "gpt-transcribe")
FORMATS_BY_MODEL = {"whisper-1": ("json", "text", "verbose_json")}
DEFAULT_FORMATS = ("json", "text")
_TEXT_FIELDS = ("model", "language", "prompt", "response_format", "temperature", "stream",
                "chunking_strategy")
_LIST_FIELDS = ("languages[]", "keywords[]", "include[]", "timestamp_granularities[]")


class SupervisorLines:
    """The scenario's supervisor lines, handed out in order; one per call (reset with it)."""

    def __init__(self, lines: Sequence[str]) -> None:
        self._lines = list(lines)
        self._next = 0
        self.unscripted = 0
        """Uploads with speech after the script ran out."""

    def next_line(self) -> str:
        if self._next < len(self._lines):
            line = self._lines[self._next]
            self._next += 1
            return line
        self.unscripted += 1
        return ""


@dataclass
class TranscriptionRecord:
    """One request to the endpoint as the simulator saw it (tests assert on these)."""

    status: int
    model: str | None = None
    response_format: str | None = None
    audio_ms: int = 0
    speech: bool = False
    text: str = ""
    fields: dict[str, list[str]] = field(default_factory=dict)
    """Every form field but the file, as sent."""


class _Refusal(Exception):
    def __init__(self, status: int, message: str, param: str | None = None,
                 code: str | None = None, kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code, self.kind = (
            status, message, param, code, kind)

    def response(self) -> web.Response:
        return web.json_response({"error": {"message": self.message, "type": self.kind,
                                            "param": self.param, "code": self.code}},
                                 status=self.status)


@dataclass(frozen=True)
class _Audio:
    pcm: bytes  # mono PCM16
    sample_rate: int

    @property
    def duration_ms(self) -> int:
        return len(self.pcm) // 2 * 1000 // self.sample_rate


def decode_wav(data: bytes) -> _Audio:
    """Mono PCM16 from a WAV file; anything else is the file OpenAI cannot read."""
    try:
        with wave.open(io.BytesIO(data), "rb") as wav:
            channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
            frames = wav.readframes(wav.getnframes())
    except (wave.Error, EOFError, ValueError):
        raise _unreadable() from None
    if width != 2 or rate <= 0 or channels < 1:
        raise _unreadable()
    samples = np.frombuffer(frames[: len(frames) - len(frames) % (2 * channels)], dtype="<i2")
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype("<i2")
    return _Audio(samples.tobytes(), rate)


def holds_speech(audio: _Audio) -> bool:
    detector = EnergySpeechDetector(sample_rate=audio.sample_rate)
    detector.feed(audio.pcm)
    return detector.speech_seen


def transcription_body(text: str, audio: _Audio, response_format: str,
                       ) -> web.Response:
    seconds = round(audio.duration_ms / 1000, 3)
    if response_format == "text":
        return web.Response(text=f"{text}\n", content_type="text/plain")
    if response_format == "verbose_json":
        return web.json_response({"task": "transcribe", "language": "english",
                                  "duration": seconds, "text": text,
                                  "usage": {"type": "duration", "seconds": seconds}})
    return web.json_response({"text": text, "usage": {"type": "duration", "seconds": seconds}})


def _unreadable() -> _Refusal:
    return _Refusal(400, "Audio file might be corrupted or unsupported", "file", "invalid_value")


def _authorized(request: web.Request, api_key: str) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(),
                                                             api_key.encode())


async def _read_form(request: web.Request) -> tuple[bytes | None, dict[str, list[str]]]:
    if request.content_type != "multipart/form-data":
        raise _Refusal(400, f"Invalid Content-Type header ({request.content_type or 'none'}), "
                       "expected multipart/form-data.")
    try:
        form = await request.post()
    except web.HTTPRequestEntityTooLarge:
        raise _Refusal(413, f"Maximum content size limit ({MAX_UPLOAD_BYTES}) exceeded.",
                       kind="server_error") from None
    except ValueError:
        raise _Refusal(400, "Could not parse multipart form") from None
    upload = form.get("file")
    audio = upload.file.read() if isinstance(upload, web.FileField) else None
    fields = {name: [str(v) for v in form.getall(name)] for name in set(form.keys())
              if name != "file" and name in (*_TEXT_FIELDS, *_LIST_FIELDS)}
    return audio, fields


def _check(fields: Mapping[str, list[str]], audio: bytes | None,
           models: Mapping[str, ModelEntry]) -> tuple[str, str]:
    """The model and response format, or the refusal OpenAI sends."""
    model = (fields.get("model") or [""])[0]
    if not model:
        raise _Refusal(400, "you must provide a model parameter")
    if model not in models:
        raise _Refusal(404, f"The model '{model}' does not exist or you do not have access "
                       "to it.", "model", "model_not_found")
    if not model.startswith(REST_TRANSCRIPTION_MODELS):
        raise _Refusal(400, f"Invalid model {model} for audio transcriptions.", "model",
                       "invalid_value")
    if audio is None:
        raise _Refusal(400, "Missing required parameter: 'file'.", "file",
                       "missing_required_parameter")
    response_format = (fields.get("response_format") or ["json"])[0]
    allowed = FORMATS_BY_MODEL.get(model, DEFAULT_FORMATS)
    if response_format not in allowed:
        raise _Refusal(400, f"response_format '{response_format}' is not compatible with "
                       f"model '{model}'. Use {' or '.join(repr(f) for f in allowed)}.",
                       "response_format", "unsupported_value")
    if (fields.get("stream") or ["false"])[0].lower() == "true":
        raise _Refusal(400, "Streaming transcription is not served by this simulator.",
                       "stream", "unsupported_value")
    temperature = (fields.get("temperature") or [""])[0]
    if temperature:
        try:
            valid = 0.0 <= float(temperature) <= 1.0
        except ValueError:
            valid = False
        if not valid:
            raise _Refusal(400, f"Invalid 'temperature': {temperature!r}; expected a number "
                           "between 0 and 1.", "temperature", "invalid_value")
    return model, response_format


def add_transcription_routes(app: web.Application, *, api_key: str,
                             models: Mapping[str, ModelEntry],
                             lines: Callable[[], SupervisorLines],
                             log: list[TranscriptionRecord]) -> None:
    """Serve POST /v1/audio/transcriptions; `lines()` is the current call's script."""
    async def transcribe(request: web.Request) -> web.Response:
        record = TranscriptionRecord(status=200)
        log.append(record)
        try:
            if not _authorized(request, api_key):
                raise _Refusal(401, "Incorrect API key provided.", None, "invalid_api_key")
            data, record.fields = await _read_form(request)
            record.model, record.response_format = _check(record.fields, data,
                                                          models)
            assert data is not None
            audio = decode_wav(data)
            record.audio_ms = audio.duration_ms
            if audio.duration_ms < MIN_AUDIO_MS:
                raise _Refusal(400, "Audio file is too short. Minimum audio length is 0.1 "
                               "seconds.", "file", "audio_too_short")
            record.speech = holds_speech(audio)
            record.text = lines().next_line() if record.speech else ""
            return transcription_body(record.text, audio, record.response_format)
        except _Refusal as refusal:
            record.status = refusal.status
            logger.info("transcription request refused",
                        extra={"status": refusal.status, "code": refusal.code})
            return refusal.response()

    for prefix in ("/v1", ""):
        app.router.add_post(f"{prefix}/audio/transcriptions", transcribe)


__all__ = ["MAX_UPLOAD_BYTES", "SupervisorLines", "TranscriptionRecord",
           "add_transcription_routes", "decode_wav"]
