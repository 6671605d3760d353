"""The call record through failures: a killed writer, Redis and Postgres going away mid-call."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from devstack.services import PostgresServer, RedisServer
from state.migrations import apply_migrations
from state.postgres_record import PostgresRecordStore, create_pool
from state.protocols import TURN, CallInfo
from state.recorder import RecorderSettings, RedisCallRecorder
from state.redis_live import DIRTY_INDEX, RedisLiveState, connect_redis
from state.writer import RecordWriter, WriterSettings

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[bool]], pause: float = 0.05) -> None:
    """Wait until `check` holds; a hang is caught by the test timeout, not by a threshold."""
    while not await check():  # noqa: ASYNC110 - polling external state, no event to wait on
        await asyncio.sleep(pause)


def new_call() -> CallInfo:
    call_id = uuid.uuid4().hex
    return CallInfo(call_id=call_id, room=f"call-{call_id}", worker_id="worker-a")


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresRecordStore]:
    await apply_migrations(database_url)
    pool = await create_pool(database_url)
    try:
        yield PostgresRecordStore(pool)
    finally:
        await pool.close()


async def test_writer_killed_mid_batch_loses_nothing_and_duplicates_nothing(
        redis_url: str, database_url: str, store: PostgresRecordStore) -> None:
    client = connect_redis(redis_url, timeout=5)
    live = RedisLiveState(client)
    info = new_call()
    recorder = RedisCallRecorder(live, settings=RecorderSettings(heartbeat_interval=0,
                                                                 flush_timeout=0))
    total = 20_000
    try:
        await recorder.open(info)
        for start in range(0, total - 1, 10):
            await asyncio.gather(*(
                recorder.record(TURN, {"role": "caller", "text": f"turn {i}"})
                for i in range(start, min(start + 10, total - 1))))
        assert not recorder.degraded
        await recorder.aclose()
        env = {**os.environ, "INTAKE_REDIS_URL": redis_url, "INTAKE_DATABASE_URL": database_url,
               "INTAKE_WRITER_BATCH_SIZE": "100"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "state.writer", env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL)
        try:
            await eventually(lambda: _has_rows(store, info.call_id), pause=0.005)
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        # a new writer picks up once the dead one's lease lapses, rewriting what it must
        await RecordWriter(live, store, settings=WriterSettings(batch_size=1000)).drain_all()
        assert await store.count_rows(info.call_id) == total
        assert await store.max_seq(info.call_id) == total
        assert not await client.sismember(DIRTY_INDEX, info.call_id)
    finally:
        await client.aclose()


async def _has_rows(store: PostgresRecordStore, call_id: str) -> bool:
    return await store.count_rows(call_id) > 0


async def test_redis_restarted_mid_call_the_call_goes_on_and_catches_up(
        store: PostgresRecordStore) -> None:
    redis_server = RedisServer()
    redis_server.start()
    client = connect_redis(redis_server.url)
    live = RedisLiveState(client)
    recorder = RedisCallRecorder(live, settings=RecorderSettings(heartbeat_interval=0.05,
                                                                 flush_timeout=0))
    info = new_call()
    try:
        await recorder.open(info)
        before = [await recorder.record(TURN, {"role": "caller", "text": f"before {i}"})
                  for i in range(5)]
        await recorder.save_slot("name", {"value": "Ada", "confirmed": True})
        redis_server.stop()  # restarts empty: nothing below, nor above, is in it any more
        during = [await recorder.record(TURN, {"role": "caller", "text": f"during {i}"})
                  for i in range(5)]
        await recorder.save_slot("deadline", {"value": "friday", "confirmed": False})
        await recorder.set_status("escalating", supervisor="sup-1")
        assert recorder.degraded
        assert before + during == list(range(2, 12))  # seq 1 is the "opened" status event
        assert (await recorder.load_slots()).keys() == {"name", "deadline"}
        RedisServer(port=redis_server.port, data_dir=redis_server.data_dir).start()
        await eventually(lambda: _caught_up(recorder))
        after = await recorder.record(TURN, {"role": "agent", "text": "still here"})
        assert after == 13
        assert (await live.load_slots(info.call_id)).keys() == {"name", "deadline"}
        fields = await live.get_call(info.call_id)
        assert fields["status"] == "escalating" and fields["supervisor"] == "sup-1"
        await RecordWriter(live, store).drain_all()
        assert await store.count_rows(info.call_id) == 13
        assert await store.max_seq(info.call_id) == 13
        record = await store.get_call(info.call_id)
        assert record is not None
        assert [t["text"] for t in record["turns"]] == [
            *(f"before {i}" for i in range(5)), *(f"during {i}" for i in range(5)),
            "still here"]
    finally:
        await recorder.aclose()
        await client.aclose()
        RedisServer(port=redis_server.port).stop()
        _stop_redis_on(redis_server.port)


async def _caught_up(recorder: RedisCallRecorder) -> bool:
    return not recorder.degraded


def _stop_redis_on(port: int) -> None:
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=1)
    try:
        client.shutdown(nosave=True)
    except (redis.ConnectionError, redis.ResponseError):
        pass
    finally:
        client.close()


async def test_postgres_down_events_wait_in_redis_then_land(redis_url: str) -> None:
    pg = PostgresServer()
    pg.start()
    client = connect_redis(redis_url)
    live = RedisLiveState(client)
    pool = None
    writer = None
    recorder = RedisCallRecorder(live, settings=RecorderSettings(heartbeat_interval=0,
                                                                 flush_timeout=0))
    info = new_call()
    try:
        await apply_migrations(pg.dsn)
        pool = await create_pool(pg.dsn)
        store = PostgresRecordStore(pool)
        writer = RecordWriter(live, store, settings=WriterSettings(max_backoff=0.5))
        writer.start()
        await recorder.open(info)
        for i in range(10):
            await recorder.record(TURN, {"role": "caller", "text": f"before {i}"})
        await eventually(lambda: _rows_are(store, info.call_id, 11))
        assert pg._process is not None
        pg._process.stop(sig=signal.SIGINT)  # fast shutdown: sessions are cut off
        for i in range(10):
            await recorder.record(TURN, {"role": "caller", "text": f"during {i}"})
        assert await client.xlen(f"call:{info.call_id}:events") == 21
        assert await client.sismember(DIRTY_INDEX, info.call_id)
        pg.start()
        await eventually(lambda: _rows_are(store, info.call_id, 21))
        assert await store.max_seq(info.call_id) == 21
    finally:
        await recorder.aclose()
        if writer is not None:
            await writer.aclose()
        if pool is not None:
            await pool.close()
        await client.aclose()
        pg.stop()


async def _rows_are(store: PostgresRecordStore, call_id: str, n: int) -> bool:
    try:
        return await store.count_rows(call_id) == n
    except Exception:
        return False
