"""What a worker process does besides running calls: keep the record flowing to Postgres and
pick up calls whose agent died.

Self-hosted LiveKit does not re-dispatch a job whose worker died; the caller would hear
silence. Every worker watches the heartbeat leases in Redis; for a lapsed one, exactly one
worker wins the atomic claim and dispatches a fresh agent into the room with `resume: true`.
Several workers may run these duties at once: the claim is atomic and Postgres writes are
idempotent on (call id, sequence).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
import uuid
from typing import Any

from livekit import api

from agent.config import WorkerSettings
from agent.orphan_outcome import store_orphan_outcome
from state.migrations import apply_migrations
from state.postgres_record import PostgresRecordStore, create_pool
from state.protocols import LiveCallState
from state.redis_live import RedisLiveState, connect_redis
from state.redispatch import claim_orphaned_call, find_orphaned_calls
from state.writer import RecordWriter

logger = logging.getLogger("intake.worker_duties")

ORPHAN_SCAN_INTERVAL_S = 0.5


def duty_owner_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class WorkerDuties:
    """Runs in its own thread and event loop beside LiveKit's worker loop."""

    def __init__(self, settings: WorkerSettings) -> None:
        self._settings = settings
        self._owner = duty_owner_id()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def start(self) -> None:
        if not (self._settings.redis_url and self._settings.database_url):
            logger.warning("Redis or Postgres not configured: no record writer, no call pickup")
            return
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stop = asyncio.Event()
            ready.set()
            loop.run_until_complete(self._run())
            loop.close()

        self._thread = threading.Thread(target=run, name="intake-worker-duties", daemon=True)
        self._thread.start()
        ready.wait(5)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    async def _run(self) -> None:
        assert self._stop is not None
        settings = self._settings
        assert settings.redis_url and settings.database_url
        try:
            await apply_migrations(settings.database_url)
        except Exception:
            logger.exception("migrations failed; the record writer will retry the database")
        client = connect_redis(settings.redis_url, timeout=2.0)
        live = RedisLiveState(client)
        pool = None
        writer: RecordWriter | None = None
        while pool is None and not self._stop.is_set():
            try:
                pool = await create_pool(settings.database_url)
            except Exception:
                logger.warning("Postgres unreachable; events wait in Redis")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), 2.0)
        if pool is not None:
            writer = RecordWriter(live, PostgresRecordStore(pool), writer_id=self._owner)
            writer.start()
        watcher = asyncio.create_task(self._watch_orphans(live), name="intake-orphan-watch")
        try:
            await self._stop.wait()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            if writer is not None:
                await writer.drain_all()
                await writer.aclose()
            if pool is not None:
                await pool.close()
            await client.aclose()

    async def _watch_orphans(self, live: LiveCallState) -> None:
        settings = self._settings
        async with api.LiveKitAPI(settings.livekit_url, settings.livekit_api_key,
                                  settings.livekit_api_secret) as lkapi:
            while True:
                try:
                    for orphan in await find_orphaned_calls(live):
                        if orphan.room:
                            await self._pick_up(live, lkapi, orphan.call_id, orphan.room)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.exception("orphaned-call scan failed")
                await asyncio.sleep(ORPHAN_SCAN_INTERVAL_S)

    async def _pick_up(self, live: LiveCallState, lkapi: api.LiveKitAPI, call_id: str,
                       room: str) -> None:
        """A lapsed lease is not a dead agent: a job starved of CPU (a long GC pause, a
        frozen process) heartbeats late but is still connected to the room. Only a room with
        no agent in it gets a new one; a frozen agent that wakes renews its own lease."""
        callers, agents = await room_presence(lkapi, room)
        if agents:
            logger.debug("lapsed lease, but the agent is still in the room",
                         extra={"call_id": call_id, "agents": agents})
            return
        if not callers:
            # the job died and the caller left: nobody else will store this call's outcome
            await store_orphan_outcome(live, call_id, f"{self._owner}-outcome",
                                       self._settings.playbook_path)
            return
        # the replacement job heartbeats under this same owner id, so the lease taken here is
        # renewed seamlessly instead of lapsing into another claim
        lease_owner = f"{self._owner}-{uuid.uuid4().hex[:8]}"
        if not await claim_orphaned_call(live, call_id, lease_owner):
            return
        metadata = redispatch_metadata(await live.get_call(call_id), call_id, lease_owner)
        await lkapi.agent_dispatch.create_dispatch(api.CreateAgentDispatchRequest(
            agent_name=self._settings.agent_name, room=room, metadata=json.dumps(metadata)))
        logger.info("re-dispatched an agent into an orphaned call", extra={"call_id": call_id})


def redispatch_metadata(call_fields: dict[str, str], call_id: str,
                        lease_owner: str) -> dict[str, Any]:
    """The replacement's job metadata: what the first job was dispatched with (an outbound
    call stays outbound; the number is not in it), marked as a resume under the new lease."""
    try:
        original = json.loads(call_fields.get("metadata") or "{}")
    except ValueError:
        original = {}
    metadata: dict[str, Any] = original if isinstance(original, dict) else {}
    metadata.pop("dial_to", None)  # never dial again: the lead is on the line
    metadata.update({"call_id": call_id, "resume": True, "lease_owner": lease_owner})
    return metadata


async def room_presence(lkapi: api.LiveKitAPI, room: str) -> tuple[int, int]:
    """(callers, agents) connected to `room` now, as livekit-server sees them; a room the
    server already closed (it was empty past its timeout) has nobody."""
    try:
        participants = await lkapi.room.list_participants(
            api.ListParticipantsRequest(room=room))
    except api.TwirpError as exc:
        if exc.code == api.TwirpErrorCode.NOT_FOUND:
            return 0, 0
        raise
    agents = sum(p.kind == api.ParticipantInfo.Kind.AGENT for p in participants.participants)
    return len(participants.participants) - agents, agents


