"""`intake eval add-call CALL_ID BANK`: an approved call becomes a case in the bank.

The caller's channel of the call's recording is cut into turns by the recorded turn times
(each caller turn is the caller's speech between the previous caller turn and this one); the
model's side becomes the scripted steps (what the agent said, the tools it called); the
approved outcome becomes `expect`.
"""

from __future__ import annotations

import asyncio
import io
import tempfile
import wave
from datetime import datetime
from pathlib import Path
from typing import Any

import av
import numpy as np
from ruamel.yaml import YAML

from evals.scoring import end_reason

RATE = 48000
WINDOW = 960  # 20 ms
VOICED_RMS = 0.01  # -40 dBFS
LEAD_S, TAIL_S = 0.1, 0.15


class AddCallError(ValueError):
    """Why a call cannot become a case; safe to print."""


def _when(value: str) -> float:
    return datetime.fromisoformat(value).timestamp()


def caller_channel(ogg: bytes) -> np.ndarray:
    """The left channel of a stereo Ogg recording, float32 at 48 kHz."""
    chunks = []
    with av.open(io.BytesIO(ogg), mode="r") as container:
        for frame in container.decode(audio=0):
            data = frame.to_ndarray()
            left = data[0] if frame.format.is_planar else data.reshape(-1, 2)[:, 0]
            chunks.append(left.astype(np.float32))
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def voiced_span(samples: np.ndarray, start: int, end: int) -> tuple[int, int] | None:
    """[first, last) sample of caller speech between start and end, with a little margin."""
    start, end = max(0, start), min(samples.size, end)
    windows = [(i, float(np.sqrt(np.mean(samples[i: i + WINDOW].astype(np.float64) ** 2))))
               for i in range(start, max(start, end - WINDOW), WINDOW)]
    loud = [i for i, level in windows if level >= VOICED_RMS]
    if not loud:
        return None
    return (max(start, loud[0] - round(LEAD_S * RATE)),
            min(end, loud[-1] + WINDOW + round(TAIL_S * RATE)))


def write_wav(path: Path, samples: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pcm = (np.clip(samples, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm.tobytes())


def recording_parts(record: dict[str, Any]) -> list[tuple[int, str, float]]:
    """(part, uri, wall-clock start) of each recorded part, from the call's events."""
    parts = {}
    for event in record["events"]:
        payload = event.get("payload") or {}
        if event["kind"] == "recording" and payload.get("stage") == "started":
            parts[int(payload["part"])] = (str(payload["uri"]), _when(payload["started_at"]))
    return [(part, uri, start) for part, (uri, start) in sorted(parts.items())]


def build_case(record: dict[str, Any], name: str, audio_for_turn: dict[int, str]
               ) -> dict[str, Any]:
    """The case as plain data: turns (caller text, audio, scripted steps) and expect."""
    items = ([(t["seq"], "turn", t) for t in record["turns"]]
             + [(e["seq"], "tool", e["payload"]) for e in record["events"]
                if e["kind"] == "tool_call"])
    turns: list[dict[str, Any]] = []
    caller_index = 0
    for _seq, kind, item in sorted(items, key=lambda x: x[0]):
        if kind == "turn" and item["role"] == "caller":
            turn: dict[str, Any] = {"caller": item["text"]}
            if caller_index in audio_for_turn:
                turn["audio"] = audio_for_turn[caller_index]
            turn["agent"] = []
            turns.append(turn)
            caller_index += 1
        elif not turns:
            continue  # the pre-rendered greeting, before the caller spoke: not the model's
        elif kind == "turn" and item["role"] == "agent":
            turns[-1]["agent"].append({"say": item["text"]})
        elif kind == "tool":
            turns[-1]["agent"].append({"tool": item["name"], "arguments": item.get("args", {})})
    if not turns:
        raise AddCallError("the call has no caller turns")
    for turn in turns:
        if not turn["agent"]:
            del turn["agent"]
    turns.append({"hangup": True, "pause_before_ms": 1500})
    outcome = record["outcome"]
    expect: dict[str, Any] = {"fields": dict(outcome["fields"]),
                              "missing_fields": list(outcome["missing_fields"]),
                              "complete": not outcome["missing_fields"]}
    if outcome.get("escalation_reason"):
        expect["escalated"] = True
        expect["escalation_reason"] = outcome["escalation_reason"]
    if outcome.get("recommended_next_action"):
        expect["next_action"] = outcome["recommended_next_action"]
    expect["end_reason"] = end_reason(record)
    case: dict[str, Any] = {
        "name": name,
        "description": f"From approved call {record['call']['call_id']} "
                       f"(approved by {outcome.get('approved_by')}).",
        "fallback_reply": "Sorry, could you say that again?",
    }
    number = record["call"].get("caller_number")
    if number:
        case["caller"] = {"number": number}
    case["turns"] = turns
    case["expect"] = expect
    return case


async def add_call(record_store: Any, recordings: Any, call_id: str, bank: Path, *,
                   name: str | None = None) -> Path:
    """Write the approved call `call_id` into `bank` as a case; returns the case file."""
    from state.review import show_call

    record = await show_call(record_store, call_id)
    if record is None:
        raise AddCallError(f"no call with id {call_id}")
    outcome = record.get("outcome")
    if not outcome or outcome.get("approval_status") != "approved":
        raise AddCallError(f"call {call_id} is not approved (approve it with "
                           "`intake calls approve`)")
    parts = recording_parts(record)
    if not parts:
        raise AddCallError(f"call {call_id} has no recording")
    name = name or f"call-{call_id}"
    path = bank / f"{name}.yaml"
    if path.exists():
        raise AddCallError(f"{path} exists already")
    # the caller's channel of every part, placed on one wall-clock line
    channels = []
    for _part, uri, started in parts:
        channels.append((started, await asyncio.to_thread(caller_channel,
                                                          await recordings.read(uri))))
    caller_turns = [t for t in record["turns"] if t["role"] == "caller"]
    audio_for_turn: dict[int, str] = {}
    previous = channels[0][0]
    for index, turn in enumerate(caller_turns):
        ends = _when(turn["at"])
        for started, samples in channels:
            span = voiced_span(samples, round((previous - started) * RATE),
                               round((ends - started) * RATE))
            if span is not None:
                relative = Path("audio") / name / f"turn-{index + 1:02d}.wav"
                await asyncio.to_thread(write_wav, bank / relative, samples[span[0]: span[1]])
                audio_for_turn[index] = str(relative)
                break
        previous = ends
    case = build_case(record, name, audio_for_turn)
    await asyncio.to_thread(_write_yaml, path, case)
    return path


def _write_yaml(path: Path, case: dict[str, Any]) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 100
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as fh:
        yaml.dump(case, fh)
    Path(fh.name).replace(path)  # whole or not at all: a half-written case is a bad case


def run_add_call(call_id: str, bank: Path, *, name: str | None) -> int:
    """The CLI: `intake eval add-call CALL_ID BANK`."""
    import sys

    from agent.cli import CommandError
    from recording.config import RecordingConfigError, recording_store
    from recording.store import RecordingStoreError
    from state.config import ConfigError, database_url
    from state.postgres_record import PG_UNAVAILABLE, PostgresRecordStore, create_pool

    if not bank.is_dir():
        raise CommandError(f"bank folder not found: {bank}", 2)
    try:
        url = database_url()
        recordings = recording_store()
    except (ConfigError, RecordingConfigError) as exc:
        raise CommandError(str(exc), 2) from None

    async def run() -> Path:
        pool = await create_pool(url, max_size=2)
        try:
            return await add_call(PostgresRecordStore(pool), recordings, call_id, bank,
                                  name=name)
        finally:
            await pool.close()
            await recordings.aclose()

    try:
        path = asyncio.run(run())
    except AddCallError as exc:
        raise CommandError(str(exc)) from None
    except RecordingStoreError as exc:
        raise CommandError(f"cannot read the call's recording: {exc}") from None
    except PG_UNAVAILABLE:
        raise CommandError("cannot reach the database at INTAKE_DATABASE_URL") from None
    print(f"added {path}", file=sys.stdout)
    return 0
