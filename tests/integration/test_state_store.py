"""The call record against real Redis and Postgres: recorder, writer, review, retention."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from state.events import InvalidEventError
from state.migrations import applied_versions, apply_migrations, load_migrations
from state.postgres_record import PostgresRecordStore, create_pool
from state.protocols import ESCALATION, TOOL_CALL, TURN, CallInfo
from state.recorder import RecorderSettings, RedisCallRecorder
from state.redis_live import DEADLETTER, DIRTY_INDEX, LIVE_INDEX, RedisLiveState, connect_redis
from state.redispatch import (
    claim_orphaned_call,
    find_orphaned_calls,
)
from state.review import approve_outcome, edit_outcome, show_call
from state.writer import RecordWriter, WriterSettings

pytestmark = pytest.mark.integration


async def eventually(check: Callable[[], Awaitable[bool]], pause: float = 0.02) -> None:
    """Wait until `check` holds; a hang is caught by the test timeout, not by a threshold."""
    # polling external state (Redis, Postgres): there is no event to wait on
    while not await check():  # noqa: ASYNC110
        await asyncio.sleep(pause)


@pytest.fixture
async def live(redis_url: str) -> AsyncIterator[RedisLiveState]:
    client = connect_redis(redis_url)
    try:
        yield RedisLiveState(client)
    finally:
        await client.aclose()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresRecordStore]:
    await apply_migrations(database_url)
    pool = await create_pool(database_url)
    try:
        yield PostgresRecordStore(pool)
    finally:
        await pool.close()


def new_call(worker: str = "worker-a", **metadata: Any) -> CallInfo:
    call_id = uuid.uuid4().hex
    return CallInfo(call_id=call_id, room=f"call-{call_id}", worker_id=worker,
                    caller_number="+15555550100", playbook="home_services", metadata=metadata)


# no heartbeat task, and finish() does not wait for a writer that is not running
QUIET = RecorderSettings(heartbeat_interval=0, flush_timeout=0)


async def test_call_is_recorded_in_redis_then_postgres(live: RedisLiveState,
                                                       store: PostgresRecordStore) -> None:
    writer = RecordWriter(live, store)
    writer.start()
    recorder = RedisCallRecorder(live, settings=RecorderSettings(flush_timeout=60))
    info = new_call(retention_days=7)
    try:
        await recorder.open(info)
        s1 = await recorder.record(TURN, {"role": "agent", "text": "Hello, how can I help?"})
        s2 = await recorder.record(TURN, {"role": "caller", "text": "My sink is leaking."})
        await recorder.save_slot("problem", {"value": "leaking sink", "confirmed": False,
                                             "source_turn": s2})
        s3 = await recorder.record(TOOL_CALL, {"name": "record_field", "args": {"f": "problem"}})
        await recorder.set_status("active", supervisor="sup-1")
        assert s1 < s2 < s3
        fields = await live.get_call(info.call_id)
        assert fields["status"] == "active" and fields["supervisor"] == "sup-1"
        assert fields["room"] == info.room and fields["worker"] == "worker-a"
        assert await recorder.load_slots() == await live.load_slots(info.call_id)
        await recorder.finish({"fields": {"problem": "leaking sink"},
                               "missing_fields": ["budget"], "escalation_reason": None,
                               "recommended_next_action": "call back"})
    finally:
        await recorder.aclose()
        await writer.aclose()
    record = await show_call(store, info.call_id)
    assert record is not None
    assert [t["text"] for t in record["turns"]] == ["Hello, how can I help?",
                                                    "My sink is leaking."]
    assert record["call"]["status"] == "ended"
    assert record["call"]["retention_days"] == 7
    assert record["outcome"]["approval_status"] == "draft"
    assert record["outcome"]["missing_fields"] == ["budget"]
    kinds = [e["kind"] for e in record["events"]]
    assert kinds[0] == "status" and "tool_call" in kinds and kinds[-1] == "outcome"
    seqs = sorted([t["seq"] for t in record["turns"]] + [e["seq"] for e in record["events"]])
    assert seqs == list(range(1, len(seqs) + 1))
    # persisted and ended: off the live index, keys set to expire
    assert not await live.client.sismember(LIVE_INDEX, info.call_id)
    assert await live.client.ttl(f"call:{info.call_id}:events") > 0


async def test_replaying_the_stream_creates_no_duplicates(live: RedisLiveState,
                                                          store: PostgresRecordStore) -> None:
    recorder = RedisCallRecorder(live, settings=QUIET)
    info = new_call()
    await recorder.open(info)
    for i in range(120):
        await recorder.record(TURN, {"role": "caller", "text": f"turn {i}"})
    await recorder.aclose()
    writers = [RecordWriter(live, store, settings=WriterSettings(batch_size=25))
               for _ in range(2)]
    await asyncio.gather(*(w.drain_all() for w in writers))
    assert await store.count_rows(info.call_id) == 121
    # forget the cursor: every entry is written again
    await live.client.hdel(f"call:{info.call_id}", "persisted_id")
    await live.mark_dirty(info.call_id)
    replayed = await RecordWriter(live, store).drain_all()
    assert replayed == 121
    assert await store.count_rows(info.call_id) == 121
    assert await store.max_seq(info.call_id) == 121


async def test_corrupt_entries_are_moved_aside_and_the_rest_drain(
        live: RedisLiveState, store: PostgresRecordStore) -> None:
    recorder = RedisCallRecorder(live, settings=QUIET)
    info = new_call()
    await recorder.open(info)
    await recorder.record(TURN, {"role": "caller", "text": "before"})
    key = f"call:{info.call_id}:events"
    now = datetime.now(UTC).isoformat()
    await live.client.xadd(key, {"v": "1", "seq": "100", "kind": "turn", "at": now,
                                 "payload": "{not json"})
    await live.client.xadd(key, {"v": "1", "seq": "101", "kind": "turn", "at": now,
                                 "payload": b"\xff\xfe"})
    await live.client.xadd(key, {"garbage": "yes"})
    await live.client.xadd(key, {"v": "1", "seq": "102", "kind": "note", "at": now,
                                 "payload": json.dumps({"x": "y" * 40_000})})
    # decodes fine, but Postgres cannot store a seq beyond bigint
    await live.client.xadd(key, {"v": "1", "seq": str(2**70), "kind": "note", "at": now,
                                 "payload": "{}"})
    await recorder.record(TURN, {"role": "agent", "text": "after"})
    await recorder.aclose()
    writer = RecordWriter(live, store)
    await writer.drain_all()
    record = await show_call(store, info.call_id)
    assert record is not None
    assert [t["text"] for t in record["turns"]] == ["before", "after"]
    assert writer.dead_lettered == 5
    assert await live.client.xlen(DEADLETTER) == 4  # the refused row is logged, not re-queued
    assert not await live.client.sismember(DIRTY_INDEX, info.call_id)


async def test_recorder_rejects_bad_events_without_writing(live: RedisLiveState) -> None:
    recorder = RedisCallRecorder(live, settings=QUIET)
    info = new_call()
    await recorder.open(info)
    with pytest.raises(InvalidEventError):
        await recorder.record(TURN, {"role": "caller", "text": "x" * 40_000})
    with pytest.raises(InvalidEventError):
        await recorder.record("Bad Kind", {})
    seq = await recorder.record(TURN, {"role": "caller", "text": "fine"})
    await recorder.aclose()
    assert seq == 2
    assert await live.client.xlen(f"call:{info.call_id}:events") == 2


async def test_review_edit_and_approve_create_revisions(live: RedisLiveState,
                                                        store: PostgresRecordStore) -> None:
    recorder = RedisCallRecorder(live, settings=QUIET)
    info = new_call()
    await recorder.open(info)
    await recorder.finish({"fields": {"name": "Ada"}, "missing_fields": ["budget", "deadline"],
                           "escalation_reason": "pricing question"})
    await recorder.aclose()
    await RecordWriter(live, store).drain_all()
    edited = await edit_outcome(store, info.call_id, {"budget": "medium", "name": None},
                                by="olivia")
    assert edited["fields"] == {"budget": "medium"}
    assert edited["missing_fields"] == ["deadline", "name"]
    approved, changed = await approve_outcome(store, info.call_id, by="omar")
    assert changed and approved["approved_by"] == "omar"
    _, changed_again = await approve_outcome(store, info.call_id, by="omar")
    assert not changed_again
    # a replayed draft must not overwrite the reviewed outcome
    await live.client.hdel(f"call:{info.call_id}", "persisted_id")
    await live.mark_dirty(info.call_id)
    await RecordWriter(live, store).drain_all()
    record = await show_call(store, info.call_id)
    assert record is not None
    outcome = record["outcome"]
    assert outcome["approval_status"] == "approved" and outcome["revision"] == 2
    assert outcome["fields"] == {"budget": "medium"}
    revisions = record["revisions"]
    assert [(r["action"], r["changed_by"]) for r in revisions] == [("edit", "olivia"),
                                                                   ("approve", "omar")]
    assert revisions[0]["before"]["fields"] == {"name": "Ada"}
    assert revisions[1]["after"]["approval_status"] == "approved"
    # editing an approved outcome returns it to draft
    reopened = await edit_outcome(store, info.call_id, {"recommended_next_action": "quote"},
                                  by="olivia")
    assert reopened["approval_status"] == "draft" and reopened["approved_by"] is None


async def test_retention_dry_run_counts_and_apply_deletes(live: RedisLiveState,
                                                          store: PostgresRecordStore) -> None:
    old, recent = new_call(retention_days=30), new_call(retention_days=30)
    for info in (old, recent):
        recorder = RedisCallRecorder(live, settings=QUIET)
        await recorder.open(info)
        await recorder.record(TURN, {"role": "caller", "text": "hello"})
        await recorder.set_status("active", recording_uri="s3://bucket/a.ogg")
        await recorder.finish({"fields": {"name": "Ada"}})
        await recorder.aclose()
    await RecordWriter(live, store).drain_all()
    async with store.pool.acquire() as conn:
        await conn.execute("UPDATE calls SET started_at = $2 WHERE call_id = $1", old.call_id,
                           datetime.now(UTC) - timedelta(days=40))
    now = datetime.now(UTC)
    dry = await store.retention_counts(now, None, 30)
    assert (dry.calls, dry.turns, dry.audio_refs) == (1, 1, 1)
    assert await store.count_rows(old.call_id) > 0  # a dry run deletes nothing
    done = await store.retention_purge(now, None, 30)
    assert done == dry
    purged = await show_call(store, old.call_id)
    kept = await show_call(store, recent.call_id)
    assert purged is not None and kept is not None
    assert purged["turns"] == [] and purged["events"] == []
    assert purged["call"]["recording_uri"] is None and purged["call"]["purged_at"]
    assert purged["outcome"]["fields"] == {"name": "Ada"}
    assert kept["turns"] and kept["call"]["recording_uri"] == "s3://bucket/a.ogg"
    # --days overrides each call's own retention
    assert (await store.retention_counts(now - timedelta(days=-1), 0, 30)).calls == 1
    assert (await store.retention_counts(now, None, 30)).calls == 0


async def test_migrations_applied_concurrently_by_two_processes(database_url: str) -> None:
    code = ("import asyncio, sys; from state.migrations import apply_migrations; "
            "print(asyncio.run(apply_migrations(sys.argv[1])))")
    procs = [await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, database_url, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE) for _ in range(2)]
    results = [await p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    applied = {out.decode().strip() for out, _ in results}
    everything = str([m.version for m in load_migrations()])
    assert applied == {"[]", everything}
    assert await applied_versions(database_url) == [m.version for m in load_migrations()]
    assert await apply_migrations(database_url) == []
    conn = await asyncpg.connect(database_url)
    try:
        tables = {r["tablename"] for r in await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    finally:
        await conn.close()
    assert {"calls", "transcript_turns", "call_events", "outcomes", "outcome_revisions",
            "schema_migrations"} <= tables


async def test_orphaned_call_is_found_claimed_once_and_resumed(live: RedisLiveState) -> None:
    settings = RecorderSettings(heartbeat_interval=0, heartbeat_ttl_ms=200)
    first = RedisCallRecorder(live, settings=settings)
    info = new_call(worker="worker-a")
    await first.open(info)
    await first.record(TURN, {"role": "agent", "text": "What is your deadline?"})
    await first.save_slot("name", {"value": "Ada", "confirmed": True, "source_turn": 1})
    await first.aclose()  # the worker "dies": no more heartbeats
    await eventually(lambda: _is_orphan(live, info.call_id))
    orphans = await find_orphaned_calls(live)
    assert [(o.call_id, o.worker_id, o.room) for o in orphans] == [
        (info.call_id, "worker-a", info.room)]
    claims = await asyncio.gather(
        claim_orphaned_call(live, info.call_id, "worker-b"),
        claim_orphaned_call(live, info.call_id, "worker-c"))
    assert sorted(claims) == [False, True]
    winner = "worker-b" if claims[0] else "worker-c"
    slots = await live.load_slots(info.call_id)
    assert slots == {"name": {"value": "Ada", "confirmed": True, "source_turn": 1}}
    last_seq = await live.seq(info.call_id)
    second = RedisCallRecorder(live, settings=QUIET)
    await second.open(CallInfo(call_id=info.call_id, room=info.room, worker_id=winner))
    assert second.resumed
    assert (await live.get_call(info.call_id))["caller_number"] == "+15555550100"
    assert await second.load_slots() == slots
    seq = await second.record(TURN, {"role": "agent", "text": "Sorry, I lost you."})
    assert seq == last_seq + 2  # after its own "resumed" status event
    recent = await second.recent_events(10)
    assert [e.payload.get("text") for _, e in recent if e.kind == TURN] == [
        "What is your deadline?", "Sorry, I lost you."]
    assert await find_orphaned_calls(live) == []
    await second.aclose()


async def _is_orphan(live: RedisLiveState, call_id: str) -> bool:
    return any(o.call_id == call_id for o in await find_orphaned_calls(live))


async def test_escalation_event_lands(live: RedisLiveState, store: PostgresRecordStore) -> None:
    recorder = RedisCallRecorder(live, settings=QUIET)
    info = new_call()
    await recorder.open(info)
    seq = await recorder.record(ESCALATION, {"reason": "pricing"})
    await recorder.aclose()
    await RecordWriter(live, store).drain_all()
    record = await show_call(store, info.call_id)
    assert record is not None
    assert {"seq": seq, "kind": "escalation", "payload": {"reason": "pricing"}} in [
        {k: e[k] for k in ("seq", "kind", "payload")} for e in record["events"]]


async def _intake(database_url: str, *args: str) -> tuple[int, str, str]:
    import os

    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "agent.cli", *args, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "INTAKE_DATABASE_URL": database_url})
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_migrate_list_show_edit_approve_purge(live: RedisLiveState,
                                                        database_url: str) -> None:
    code, out, _ = await _intake(database_url, "migrate")
    assert code == 0 and "applied migrations: 0001" in out
    assert (await _intake(database_url, "migrate"))[1].strip() == "database schema is up to date"
    pool = await create_pool(database_url)
    try:
        store = PostgresRecordStore(pool)
        recorder = RedisCallRecorder(live, settings=QUIET)
        info = new_call()
        await recorder.open(info)
        await recorder.record(TURN, {"role": "caller", "text": "hello"})
        await recorder.finish({"fields": {"name": "Ada"}, "missing_fields": ["budget"]})
        await recorder.aclose()
        await RecordWriter(live, store).drain_all()
    finally:
        await pool.close()
    code, out, _ = await _intake(database_url, "calls", "list", "--json")
    assert code == 0 and [c["call_id"] for c in json.loads(out)] == [info.call_id]
    code, out, _ = await _intake(database_url, "calls", "edit", info.call_id, "--set",
                                 "budget=high", "--by", "olivia")
    assert code == 0
    code, out, _ = await _intake(database_url, "calls", "approve", info.call_id, "--by", "omar")
    assert code == 0 and "approved by omar" in out
    code, out, _ = await _intake(database_url, "calls", "show", info.call_id, "--json")
    shown = json.loads(out)
    assert shown["outcome"]["fields"] == {"name": "Ada", "budget": "high"}
    assert [r["changed_by"] for r in shown["revisions"]] == ["olivia", "omar"]
    code, out, _ = await _intake(database_url, "calls", "show", info.call_id)
    assert code == 0 and "caller: hello" in out
    code, _, err = await _intake(database_url, "calls", "show", "no-such-call")
    assert code == 1 and "no call with id" in err
    code, out, _ = await _intake(database_url, "retention", "purge", "--days", "0")
    assert code == 0 and "would purge: 1 calls, 1 transcript turns" in out
    code, out, _ = await _intake(database_url, "retention", "purge", "--days", "0", "--apply")
    assert code == 0 and any(line.startswith("purged: 1 calls") for line in out.splitlines())
    code, out, _ = await _intake(database_url, "retention", "purge", "--days", "0")
    assert "would purge: 0 calls" in out


async def test_a_call_restored_after_redis_lost_it_is_never_listed_without_its_lease(
        live: RedisLiveState) -> None:
    # Redis restarted empty mid-call: the recorder puts the call back; no watcher may find it
    # live and unleased in between (it would send a second agent into the call)
    recorder = RedisCallRecorder(live, settings=RecorderSettings(heartbeat_interval=0,
                                                                 heartbeat_ttl_ms=5_000))
    info = new_call(worker="worker-a")
    await recorder.open(info)
    assert await find_orphaned_calls(live) == []  # leased from the moment it is listed
    await live.client.flushdb()
    await live.open_call(info.call_id, {"status": "active", "worker": "worker-a"},
                         lease=("worker-a", 5_000))
    assert await find_orphaned_calls(live) == []
    assert not await claim_orphaned_call(live, info.call_id, "worker-b")
    await recorder.aclose()


async def test_a_record_is_read_as_one_snapshot(live: RedisLiveState, store: PostgresRecordStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The hang-up's events and the outcome land in one commit; a read that straddles that
    commit must see both or neither (the eval once scored a call from its outcome without the
    hang-up event stored with it)."""
    from state.record_sql import GET_OUTCOME

    recorder = RedisCallRecorder(live, settings=QUIET)
    info = new_call()
    await recorder.open(info)
    await recorder.record(TURN, {"role": "caller", "text": "My sink is leaking."})
    await RecordWriter(live, store).drain_all()
    await recorder.record("status", {"status": "hung_up", "reason": "idle"})
    await recorder.finish({"fields": {}, "missing_fields": ["problem"],
                           "escalation_reason": None, "recommended_next_action": "human_review"})
    await recorder.aclose()

    original = asyncpg.connection.Connection.fetchrow
    landed = False

    async def commit_the_last_batch_first(self: Any, query: str, *args: Any,
                                          **kwargs: Any) -> Any:
        nonlocal landed
        if query == GET_OUTCOME and not landed:
            landed = True  # between the events' read and the outcome's
            await RecordWriter(live, store).drain_all()
        return await original(self, query, *args, **kwargs)

    monkeypatch.setattr(asyncpg.connection.Connection, "fetchrow", commit_the_last_batch_first)
    record = await store.get_call(info.call_id)
    monkeypatch.undo()
    assert landed and record is not None
    hung_up = any(e["payload"].get("status") == "hung_up" for e in record["events"])
    assert (record["outcome"] is not None) == hung_up
    after = await store.get_call(info.call_id)
    assert after is not None and after["outcome"] is not None
    assert any(e["payload"].get("status") == "hung_up" for e in after["events"])
