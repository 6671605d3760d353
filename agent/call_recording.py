"""The worker's side of call recording: open the part while the call is set up, attach once
the caller is subscribed (before the greeting), link every part in the call record, close it
when the call ends. Never fails a call: a store that cannot be reached means no recording
(logged), not a dropped caller.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from livekit import rtc

from agent.assets import RecordingStoreFactory
from recording import CallAudioRecorder, RecordingStore
from state.protocols import CallRecorder
from tools.playbook import Playbook

logger = logging.getLogger("intake.call.recording")

RECORDING_EVENT = "recording"


class CallRecording:
    """One call's recording part and the store it goes to."""

    def __init__(self, recorder: CallAudioRecorder, store: RecordingStore, part: int,
                 uri: str) -> None:
        self.recorder = recorder
        self.store = store
        self.part = part
        self.uri = uri

    def attach(self, room: rtc.Room, caller: rtc.RemoteParticipant) -> None:
        self.recorder.attach(room, caller)

    @property
    def status_fields(self) -> dict[str, str]:
        """For the call hash: `recording_uri` is the first part (later parts are events)."""
        return {"recording_uri": self.uri} if self.part == 1 else {}


async def open_call_recording(playbook: Playbook, call: CallRecorder, call_id: str,
                              open_store: RecordingStoreFactory | None
                              ) -> CallRecording | None:
    """The call's next recording part, encoding from now; None when the playbook turns
    recording off, no store is configured, or the store fails."""
    if not playbook.recording.enabled or open_store is None:
        return None
    store: RecordingStore | None = None
    try:
        store = open_store()
        recorder = CallAudioRecorder(store, call_id)
        started_at = datetime.now(UTC)
        uri = await recorder.start()
    except Exception:
        logger.exception("call recording not started", extra={"call_id": call_id})
        if store is not None:
            await store.aclose()
        return None
    part = recorder.part or 1
    # the wall-clock start lets `intake eval add-call` cut the caller channel at turn times
    try:
        await call.record(RECORDING_EVENT, {"stage": "started", "part": part, "uri": uri,
                                            "started_at": started_at.isoformat()})
    except Exception:
        logger.exception("recording event not recorded", extra={"call_id": call_id})
    return CallRecording(recorder, store, part, uri)


async def close_call_recording(recording: CallRecording | None, call: CallRecorder | None
                               ) -> None:
    if recording is None:
        return
    try:
        await recording.recorder.aclose()
        if call is not None:
            await call.record(RECORDING_EVENT, {"stage": "closed", "part": recording.part,
                                                "uri": recording.uri})
    except Exception:
        logger.exception("call recording not closed cleanly", extra={"part": recording.part})
    finally:
        await recording.store.aclose()
