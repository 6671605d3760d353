"""`intake retention purge --apply` deletes a call's audio with its transcript; a recording
store that fails leaves everything for the next run."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recording import LocalFolderStore
from state.migrations import apply_migrations
from state.postgres_record import PostgresRecordStore, create_pool
from state.protocols import TURN
from state.recorder import RecorderSettings, RedisCallRecorder
from state.redis_live import RedisLiveState, connect_redis
from state.review import show_call
from state.writer import RecordWriter

from .test_state_store import new_call

pytestmark = pytest.mark.integration

QUIET = RecorderSettings(heartbeat_interval=0, flush_timeout=0)


async def _intake(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.cli", *args, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    out, _ = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_purge_deletes_audio_with_the_transcript(redis_url: str, database_url: str,
                                                       tmp_path: Path) -> None:
    await apply_migrations(database_url)
    recordings = LocalFolderStore(tmp_path / "recordings")
    client = connect_redis(redis_url)
    pool = await create_pool(database_url)
    store = PostgresRecordStore(pool)
    try:
        live = RedisLiveState(client)
        old, recent = new_call(retention_days=30), new_call(retention_days=30)
        for info in (old, recent):
            part = await recordings.open_part(info.call_id)
            part.path.write_bytes(b"OggS fake audio")
            recorder = RedisCallRecorder(live, settings=QUIET)
            await recorder.open(info)
            await recorder.record(TURN, {"role": "caller", "text": "hello"})
            await recorder.set_status("in_progress", recording_uri=part.uri)
            await recorder.finish({"fields": {"name": "Ada"}})
            await recorder.aclose()
        await RecordWriter(live, store).drain_all()
        async with pool.acquire() as conn:
            await conn.execute("UPDATE calls SET started_at = $2 WHERE call_id = $1",
                               old.call_id, datetime.now(UTC) - timedelta(days=40))
        env = {"INTAKE_DATABASE_URL": database_url,
               "INTAKE_RECORDING_DIR": str(tmp_path / "recordings")}

        # a store that cannot be reached: nothing is purged, the audio reference stays
        code, out = await _intake("retention", "purge", "--apply", env={
            **env, "INTAKE_RECORDING_STORE": "s3", "INTAKE_S3_BUCKET": "b",
            "INTAKE_S3_ENDPOINT_URL": "http://127.0.0.1:9", "INTAKE_S3_ACCESS_KEY_ID": "k",
            "INTAKE_S3_SECRET_ACCESS_KEY": "s"})
        assert code == 1 and "nothing purged" in out, out
        record = await show_call(store, old.call_id)
        assert record is not None and record["turns"] and record["call"]["recording_uri"]

        code, out = await _intake("retention", "purge", "--apply", env=env)
        assert code == 0, out
        assert "deleted 1 recording parts" in out
        assert await recordings.parts(old.call_id) == []
        assert len(await recordings.parts(recent.call_id)) == 1
        purged = await show_call(store, old.call_id)
        assert purged is not None and purged["turns"] == []
        assert purged["call"]["recording_uri"] is None
        kept = await show_call(store, recent.call_id)
        assert kept is not None and kept["call"]["recording_uri"] is not None
    finally:
        await pool.close()
        await client.aclose()
