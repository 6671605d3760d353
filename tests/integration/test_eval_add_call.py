"""From a real call to a case: a simulated call is recorded by the worker (stereo Ogg, its URI
on the call), approved, added to a bank with its recorded caller audio, replayed, and passes;
one edited expected field makes it fail with a reason naming the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np
import pytest

from devstack.paths import project_root
from evals.add_call import add_call
from evals.case import load_case
from evals.runner import EvalStack, run_case
from recording import LocalFolderStore
from state.postgres_record import PostgresRecordStore, create_pool
from state.review import approve_outcome, show_call

from ..unit.test_recording import decode, rms

pytestmark = pytest.mark.integration

RATE = 48000


@pytest.fixture(scope="module")
async def recorded_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[
        tuple[EvalStack, Path]]:
    recordings = tmp_path_factory.mktemp("recordings")
    stack = EvalStack(lanes=1, playbook=None, use_simulator=True,
                      worker_env={"INTAKE_RECORDING_DIR": str(recordings)})
    async with stack:
        yield stack, recordings


@pytest.mark.timeout(600)
async def test_a_recorded_approved_call_becomes_a_case_that_replays(
        recorded_stack: tuple[EvalStack, Path], tmp_path: Path) -> None:
    stack, recordings_dir = recorded_stack
    lane = stack.lanes[0]
    original = load_case(project_root() / "evals" / "bank" / "phone_correction.yaml")
    first = await run_case(lane, original)
    assert first.passed, first.reasons
    assert first.call_id is not None
    pool = await create_pool(stack.database_url, max_size=2)
    try:
        store = PostgresRecordStore(pool)
        record = await show_call(store, first.call_id)
        assert record is not None
        uri = record["call"]["recording_uri"]
        assert uri and uri.endswith(f"{first.call_id}/part-001.ogg")
        stages = [e["payload"]["stage"] for e in record["events"] if e["kind"] == "recording"]
        assert stages == ["started", "closed"]
        audio = decode(Path(uri.removeprefix("file://")))
        assert audio.shape[0] == 2
        # the caller spoke three lines (left) and heard the greeting and three replies (right)
        assert rms(audio[0]) > 0.005 and rms(audio[1]) > 0.005
        loud_left = np.abs(audio[0]) > 0.05
        loud_right = np.abs(audio[1]) > 0.05
        assert loud_left.mean() > 0.02 and loud_right.mean() > 0.02

        await approve_outcome(store, first.call_id, by="olivia")
        bank = tmp_path / "bank"
        bank.mkdir()
        path = await add_call(store, LocalFolderStore(recordings_dir), first.call_id, bank,
                              name="from-call")
    finally:
        await pool.close()
    case = load_case(path)
    assert all(case.audio_path(i) is not None
               for i, turn in enumerate(case.scenario.turns) if turn.caller is not None)
    assert case.expect.fields["phone"] == "+15125550142"

    replay = await run_case(lane, case)
    assert replay.passed, replay.reasons

    path.write_text(path.read_text().replace("'+15125550142'", "'+15125550199'")
                    .replace('"+15125550142"', '"+15125550199"')
                    .replace("phone: +15125550142", "phone: '+15125550199'"))
    edited = load_case(path)
    assert edited.expect.fields["phone"] == "+15125550199"
    failed = await run_case(lane, edited)
    assert not failed.passed
    assert failed.reasons == ["fields.phone: expected '+15125550199', got '+15125550142'"]
