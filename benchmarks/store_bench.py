"""What recording an event costs the call, and how fast events reach Postgres. Measured for real.

- record_latency_ms: wall time of `RedisCallRecorder.record()` on the call's hot path (validate,
  encode, one Redis round trip), with the writer and a Postgres poller running on the same event
  loop, as they would in a worker: a pessimistic figure.
- time_to_postgres_ms: from `record()` returning to the row being visible to a reader in
  Postgres, observed by a poller that reads the call's highest stored seq every 2 ms; events are
  paced at about 500 per second, a busy worker's worth of calls.
- postgres_events_per_s: a backlog of `events` turns already in Redis, drained by one writer.
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import uuid
from collections.abc import Sequence
from typing import Any

from state.migrations import apply_migrations
from state.postgres_record import PostgresRecordStore, create_pool
from state.protocols import TURN, CallInfo
from state.recorder import RecorderSettings, RedisCallRecorder
from state.redis_live import RedisLiveState, connect_redis
from state.writer import RecordWriter

PACE_S = 0.002
POLL_S = 0.002
TEXT = "I need someone to look at the leak under my kitchen sink before Friday, please."


def _percentile(values: Sequence[float], pct: float) -> float:
    """Nearest rank: every figure reported is one that was measured."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def _summary(values: Sequence[float]) -> dict[str, float]:
    return {"p50": round(_percentile(values, 50), 3), "p99": round(_percentile(values, 99), 3)}


async def _hot_path_and_time_to_postgres(live: RedisLiveState, store: PostgresRecordStore,
                                         events: int) -> tuple[list[float], list[float]]:
    writer = RecordWriter(live, store)
    recorder = RedisCallRecorder(live, settings=RecorderSettings(flush_timeout=30))
    call_id = f"bench-{uuid.uuid4().hex}"
    recorded_at: dict[int, float] = {}
    landed_at: dict[int, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()

    async def poll() -> None:
        seen = 0
        async with store.pool.acquire() as conn:
            while not (done.is_set() and seen >= max(recorded_at, default=0)):
                top = int(await conn.fetchval(
                    "SELECT coalesce(max(seq), 0) FROM transcript_turns WHERE call_id = $1",
                    call_id))
                now = time.perf_counter()
                for seq in range(seen + 1, top + 1):
                    landed_at[seq] = now
                seen = max(seen, top)
                await asyncio.sleep(POLL_S)

    writer.start()
    poller = asyncio.create_task(poll(), name="store-bench-poller")
    try:
        await recorder.open(CallInfo(call_id=call_id, room=f"call-{call_id}",
                                     worker_id="bench"))
        for i in range(events):
            payload = {"role": "caller" if i % 2 else "agent", "text": TEXT}
            started = time.perf_counter()
            seq = await recorder.record(TURN, payload)
            ended = time.perf_counter()
            latencies.append((ended - started) * 1000)
            recorded_at[seq] = ended
            await asyncio.sleep(PACE_S)
        done.set()
        await poller
    finally:
        poller.cancel()
        await recorder.aclose()
        await writer.aclose()
    to_postgres = [(landed_at[seq] - t) * 1000 for seq, t in recorded_at.items()
                   if seq in landed_at]
    return latencies, to_postgres


async def _throughput(live: RedisLiveState, store: PostgresRecordStore, events: int) -> float:
    recorder = RedisCallRecorder(live, settings=RecorderSettings(heartbeat_interval=0,
                                                                 flush_timeout=0))
    call_id = f"bench-{uuid.uuid4().hex}"
    await recorder.open(CallInfo(call_id=call_id, room=f"call-{call_id}", worker_id="bench"))
    for i in range(events - 1):
        await recorder.record(TURN, {"role": "caller" if i % 2 else "agent", "text": TEXT})
    await recorder.aclose()
    writer = RecordWriter(live, store)
    started = time.perf_counter()
    await writer.drain_all()
    elapsed = time.perf_counter() - started
    stored = await store.count_rows(call_id)
    if stored != events:
        raise RuntimeError("benchmark backlog did not fully reach postgres")
    return events / elapsed


async def run_store_benchmark(redis_url: str | None, database_url: str | None,
                              events: int) -> dict[str, Any]:
    """Run against the given servers, or private ones started for the run when a URL is None."""
    if events < 10:
        raise ValueError("events must be at least 10")
    if redis_url is None or database_url is None:
        return await run_store_benchmark_with_local_servers(events, redis_url=redis_url,
                                                            database_url=database_url)
    await apply_migrations(database_url)
    client = connect_redis(redis_url)
    pool: Any = await create_pool(database_url)
    try:
        live, store = RedisLiveState(client), PostgresRecordStore(pool)
        latencies, to_postgres = await _hot_path_and_time_to_postgres(live, store, events)
        per_second = await _throughput(live, store, events)
    finally:
        await pool.close()
        await client.aclose()
    return {
        "events": events,
        "record_latency_ms": _summary(latencies),
        "postgres_events_per_s": round(per_second, 1),
        "time_to_postgres_ms": _summary(to_postgres),
    }


async def run_store_benchmark_with_local_servers(
        events: int, *, redis_url: str | None = None,
        database_url: str | None = None) -> dict[str, Any]:
    """Start private Redis and/or Postgres (devstack) for whichever URL is missing."""
    from devstack.services import PostgresServer, RedisServer

    redis_server = RedisServer() if redis_url is None else None
    postgres_server = PostgresServer() if database_url is None else None
    try:
        if redis_server is not None:
            await asyncio.to_thread(redis_server.start)
            redis_url = redis_server.url
        if postgres_server is not None:
            await asyncio.to_thread(postgres_server.start)
            database_url = postgres_server.dsn
        assert redis_url is not None and database_url is not None
        return await run_store_benchmark(redis_url, database_url, events)
    finally:
        if redis_server is not None:
            await asyncio.to_thread(redis_server.stop)
        if postgres_server is not None:
            await asyncio.to_thread(postgres_server.stop)


def main(argv: Sequence[str]) -> int:
    import argparse
    import os

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args(argv)
    result = asyncio.run(run_store_benchmark(os.environ.get("INTAKE_REDIS_URL") or None,
                                             os.environ.get("INTAKE_DATABASE_URL") or None,
                                             args.events))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
