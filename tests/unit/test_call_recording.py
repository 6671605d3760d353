"""The worker's recording glue: off when the playbook says so, never failing a call, every
part linked in the record."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.call_recording import close_call_recording, open_call_recording
from recording import LocalFolderStore, RecordingStore
from state.protocols import CallInfo
from state.recorder import InMemoryCallRecorder
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit


async def _call() -> InMemoryCallRecorder:
    recorder = InMemoryCallRecorder()
    await recorder.open(CallInfo(call_id="c1", room="call-c1", worker_id="w"))
    return recorder


async def test_a_part_is_opened_linked_and_closed(tmp_path: Path) -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    call = await _call()
    recording = await open_call_recording(playbook, call, "c1",
                                          lambda: LocalFolderStore(tmp_path))
    assert recording is not None and recording.part == 1
    assert recording.status_fields == {"recording_uri": recording.uri}
    await close_call_recording(recording, call)
    events = [e.payload for _, e in call.events if e.kind == "recording"]
    assert [(e["stage"], e["part"], e["uri"]) for e in events] == [
        ("started", 1, recording.uri), ("closed", 1, recording.uri)]
    assert "started_at" in events[0]
    assert (await LocalFolderStore(tmp_path).read(recording.uri))[:4] == b"OggS"
    # the replacement agent of the same call gets part 2, linked only by its event
    second = await open_call_recording(playbook, call, "c1", lambda: LocalFolderStore(tmp_path))
    assert second is not None and second.part == 2 and second.status_fields == {}
    await close_call_recording(second, call)


async def test_recording_off_or_a_broken_store_leaves_the_call_unrecorded(
        tmp_path: Path) -> None:
    playbook = load_playbook(EXAMPLE_PLAYBOOK)
    off = playbook.model_copy(update={"recording": playbook.recording.model_copy(
        update={"enabled": False})})
    call = await _call()
    assert await open_call_recording(off, call, "c1", lambda: LocalFolderStore(tmp_path)) is None
    assert await open_call_recording(playbook, call, "c1", None) is None

    def broken() -> RecordingStore:
        raise OSError("disk gone")

    assert await open_call_recording(playbook, call, "c1", broken) is None
    (tmp_path / "file").write_text("")  # a file where the store's folder should be
    assert await open_call_recording(playbook, call, "c1",
                                     lambda: LocalFolderStore(tmp_path / "file")) is None
    assert not [e for _, e in call.events if e.kind == "recording"]
    await close_call_recording(None, call)  # nothing to close
