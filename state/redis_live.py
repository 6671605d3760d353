"""Live call state in Redis: per-call hash, slot checklist, event stream, heartbeat, indexes.

Keys (all of one call share the `call:<id>` prefix and expire together once the call is in
Postgres):

- `call:<id>`          hash: status, room, worker, heartbeat (unix ms), supervisor,
                       caller_number, playbook, metadata (JSON), started_at, ended_at, epoch,
                       persisted_id / persisted_seq (how far the writer has reached)
- `call:<id>:slots`    hash: slot name -> JSON {value, confirmed, source_turn, ...}
- `call:<id>:events`   stream, append-only; entries in `CallEventSerializer`'s format
- `call:<id>:seq`      the per-call sequence counter
- `call:<id>:ops`      hash: recorder operation token -> seq, so a retried append is applied once
- `call:<id>:hb`       heartbeat lease: value is the worker id, expires after the TTL
- `call:<id>:writer`   short lease a writer holds while it moves this call's events
- `calls:live`         set of call ids not yet ended and persisted
- `calls:dirty`        set of call ids with stream entries the writer has not persisted
- `calls:deadletter`   stream of entries the writer could not store, with the reason

The multi-key scripts assume a single Redis (not Cluster), which is what the stack runs.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

LIVE_INDEX = "calls:live"
DIRTY_INDEX = "calls:dirty"
DEADLETTER = "calls:deadletter"
DEADLETTER_MAXLEN = 10_000

# Redis errors that mean "the server is not reachable now", as opposed to a bad command.
REDIS_UNAVAILABLE: tuple[type[BaseException], ...] = (
    aioredis.ConnectionError,
    aioredis.TimeoutError,
    ConnectionError,
    TimeoutError,
    OSError,
)


def call_key(call_id: str) -> str:
    return f"call:{call_id}"


def slots_key(call_id: str) -> str:
    return f"call:{call_id}:slots"


def events_key(call_id: str) -> str:
    return f"call:{call_id}:events"


def seq_key(call_id: str) -> str:
    return f"call:{call_id}:seq"


def ops_key(call_id: str) -> str:
    return f"call:{call_id}:ops"


def heartbeat_key(call_id: str) -> str:
    return f"call:{call_id}:hb"


def writer_lease_key(call_id: str) -> str:
    return f"call:{call_id}:writer"


def all_call_keys(call_id: str) -> list[str]:
    return [call_key(call_id), slots_key(call_id), events_key(call_id), seq_key(call_id),
            ops_key(call_id), heartbeat_key(call_id), writer_lease_key(call_id)]


def now_ms() -> int:
    return int(time.time() * 1000)


def connect_redis(url: str, *, timeout: float = 0.5) -> aioredis.Redis:
    """A client as this package expects it: bytes responses (a corrupt entry must not break a
    whole read) and short timeouts (the hot path must not hang on a dead server)."""
    client: aioredis.Redis = aioredis.Redis.from_url(
        url, decode_responses=False, socket_timeout=timeout, socket_connect_timeout=timeout,
        health_check_interval=0,
        # one immediate retry covers a pooled connection that died with a restarted server;
        # appends carry a token, so a retried append is applied once
        retry=Retry(NoBackoff(), 1),
    )
    return client


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _opt_text(value: Any) -> str | None:
    return None if value is None else _text(value)


# KEYS: events, seq, ops, dirty   ARGV: call_id, token, desired_seq, mode, v, kind, at, payload
# mode "next": seq = max(counter + 1, desired); the desired floor keeps seqs monotonic even if
# Redis lost the counter (restart without persistence) while the recorder remembers it.
# mode "fixed": re-append an entry whose seq was assigned before (replay after data loss).
# KEYS[5]: the call hash; ARGV[9]: the writing worker (empty: unfenced). Returns -1, writing
# nothing, when the call's worker is another one: a job that froze past its lease and was
# replaced must not add to the call it no longer holds.
_APPEND_LUA = """
if ARGV[9] ~= '' then
  local holder = redis.call('HGET', KEYS[5], 'worker')
  if holder and holder ~= ARGV[9] then return -1 end
end
local token = ARGV[2]
if token ~= '' then
  local done = redis.call('HGET', KEYS[3], token)
  if done then return tonumber(done) end
end
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local desired = tonumber(ARGV[3])
local seq
if ARGV[4] == 'fixed' then
  seq = desired
  if desired > cur then redis.call('SET', KEYS[2], desired) end
else
  seq = math.max(cur + 1, desired)
  redis.call('SET', KEYS[2], seq)
end
redis.call('XADD', KEYS[1], '*', 'v', ARGV[5], 'seq', seq, 'kind', ARGV[6], 'at', ARGV[7],
           'payload', ARGV[8])
if token ~= '' then redis.call('HSET', KEYS[3], token, seq) end
redis.call('SADD', KEYS[4], ARGV[1])
return seq
"""

# KEYS: call hash, target hash   ARGV: writing worker, then field, value pairs. Returns 0,
# writing nothing, when the call's worker is another one (see _APPEND_LUA), else 1.
_FENCED_HSET_LUA = """
local holder = redis.call('HGET', KEYS[1], 'worker')
if holder and holder ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: hb, call hash   ARGV: worker, ttl_ms, now_ms
# Returns {-1, 0} when the call hash is gone (Redis lost its data: the recorder restores it),
# {0, 0} when another worker has claimed the call (the caller must stop acting for it), else
# {1, persisted_seq}.
_HEARTBEAT_LUA = """
if redis.call('EXISTS', KEYS[2]) == 0 then return {-1, 0} end
local owner = redis.call('GET', KEYS[1])
if owner and owner ~= ARGV[1] then return {0, 0} end
local holder = redis.call('HGET', KEYS[2], 'worker')
if holder and holder ~= ARGV[1] then return {0, 0} end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'heartbeat', ARGV[3])
return {1, tonumber(redis.call('HGET', KEYS[2], 'persisted_seq') or '0')}
"""

# KEYS: hb, call hash, live   ARGV: new worker, ttl_ms, now_ms, call_id
# The heartbeat key is the lease: whoever sets it while it is absent owns the call.
_CLAIM_LUA = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SISMEMBER', KEYS[3], ARGV[4]) == 0 then return 0 end
if redis.call('HGET', KEYS[2], 'status') == 'ended' then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('HSET', KEYS[2], 'worker', ARGV[1], 'status', 'resuming', 'heartbeat', ARGV[3])
return redis.call('HINCRBY', KEYS[2], 'epoch', 1)
"""

# KEYS: call hash, events, dirty, live, then every key of the call (for expiry)
# ARGV: call_id, last persisted entry id, last persisted seq, expire seconds
# Returns 0 (more to do), 1 (caught up), 2 (caught up and the call ended: keys now expire).
_ACK_LUA = """
local function newer(a, b)
  if not b then return true end
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if not bm then return true end
  am = tonumber(am); bm = tonumber(bm)
  if am ~= bm then return am > bm end
  return tonumber(as) > tonumber(bs)
end
local prev = redis.call('HGET', KEYS[1], 'persisted_id')
local cursor = prev
if ARGV[2] ~= '' and newer(ARGV[2], prev) then
  redis.call('HSET', KEYS[1], 'persisted_id', ARGV[2])
  cursor = ARGV[2]
end
local prev_seq = tonumber(redis.call('HGET', KEYS[1], 'persisted_seq') or '0')
if tonumber(ARGV[3]) > prev_seq then redis.call('HSET', KEYS[1], 'persisted_seq', ARGV[3]) end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 and last[1][1] ~= cursor then return 0 end
redis.call('SREM', KEYS[3], ARGV[1])
if redis.call('HGET', KEYS[1], 'status') == 'ended' then
  redis.call('SREM', KEYS[4], ARGV[1])
  for i = 5, #KEYS do redis.call('EXPIRE', KEYS[i], tonumber(ARGV[4])) end
  return 2
end
return 1
"""

# KEYS: lease   ARGV: owner
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class RawEntry:
    """A stream entry as read, before decoding (which may fail)."""

    entry_id: str
    fields: dict[Any, Any]


class RedisLiveState:
    """Every Redis command this project sends, built from one client (see `connect_redis`)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._append = client.register_script(_APPEND_LUA)
        self._fenced_hset_script = client.register_script(_FENCED_HSET_LUA)
        self._heartbeat = client.register_script(_HEARTBEAT_LUA)
        self._claim = client.register_script(_CLAIM_LUA)
        self._ack = client.register_script(_ACK_LUA)
        self._release = client.register_script(_RELEASE_LUA)

    # --- call hash --------------------------------------------------------------------------

    async def open_call(self, call_id: str, fields: Mapping[str, str],
                        lease: tuple[str, int] | None = None) -> tuple[bool, int]:
        """Create or re-open the call; returns (existed before, current seq counter).

        `lease` (owner, ttl ms) takes the heartbeat lease in the same transaction, unless
        someone holds it: a call listed as live without a lease would look orphaned to every
        worker's watcher until the owner's next heartbeat.
        """
        pipe = self.client.pipeline(transaction=True)
        pipe.exists(call_key(call_id))
        if lease is not None:
            pipe.set(heartbeat_key(call_id), lease[0], px=lease[1], nx=True)
        pipe.hsetnx(call_key(call_id), "started_at", fields.get("started_at", ""))
        # empty values never overwrite: a resuming agent may know less than the first one did
        pipe.hset(call_key(call_id), mapping={k: v for k, v in fields.items()
                                                if k != "started_at" and v != ""})
        pipe.sadd(LIVE_INDEX, call_id)
        pipe.get(seq_key(call_id))
        results = await pipe.execute()
        existed, seq = results[0], results[-1]
        return bool(existed), int(seq or 0)

    async def set_fields(self, call_id: str, fields: Mapping[str, str], *,
                         owner: str = "") -> bool:
        """False, writing nothing, when `owner` is given and the call has another worker."""
        if not fields:
            return True
        if owner:
            return await self._fenced_hset(call_key(call_id), call_key(call_id), owner,
                                           dict(fields))
        mapping: dict[Any, Any] = dict(fields)
        await self.client.hset(call_key(call_id), mapping=mapping)
        return True

    async def _fenced_hset(self, call_hash: str, target: str, owner: str,
                           mapping: Mapping[str, str]) -> bool:
        args: list[str] = [owner]
        for key, value in mapping.items():
            args += [key, value]
        return bool(await self._fenced_hset_script(keys=[call_hash, target], args=args))

    async def get_call(self, call_id: str) -> dict[str, str]:
        raw = await self.client.hgetall(call_key(call_id))
        return {_text(k): _text(v) for k, v in raw.items()}

    async def call_exists(self, call_id: str) -> bool:
        return bool(await self.client.exists(call_key(call_id)))

    async def seq(self, call_id: str) -> int:
        return int(await self.client.get(seq_key(call_id)) or 0)

    async def add_live(self, call_id: str) -> None:
        await self.client.sadd(LIVE_INDEX, call_id)

    async def live_calls(self) -> list[str]:
        return sorted(_text(m) for m in await self.client.smembers(LIVE_INDEX))

    # --- slots --------------------------------------------------------------------------------

    async def save_slots(self, call_id: str, slots: Mapping[str, Mapping[str, Any]], *,
                         owner: str = "") -> bool:
        """False, writing nothing, when `owner` is given and the call has another worker."""
        if not slots:
            return True
        encoded = {name: json.dumps(dict(slot), separators=(",", ":"))
                   for name, slot in slots.items()}
        if owner:
            return await self._fenced_hset(call_key(call_id), slots_key(call_id), owner, encoded)
        mapping: dict[Any, Any] = dict(encoded)
        await self.client.hset(slots_key(call_id), mapping=mapping)
        return True

    async def load_slots(self, call_id: str) -> dict[str, dict[str, Any]]:
        raw = await self.client.hgetall(slots_key(call_id))
        slots: dict[str, dict[str, Any]] = {}
        for name, value in raw.items():
            try:
                decoded = json.loads(value)
            except ValueError:
                continue  # a slot written by hand; the checklist treats it as unfilled
            if isinstance(decoded, dict):
                slots[_text(name)] = decoded
        return slots

    # --- events -------------------------------------------------------------------------------

    async def append(self, call_id: str, fields: Mapping[str, str], *, desired_seq: int,
                     token: str = "", fixed: bool = False, owner: str = "") -> int:
        """Append one encoded event (fields without `seq`); returns the seq Redis assigned,
        or -1 (nothing written) when `owner` is given and the call has another worker."""
        seq = await self._append(
            keys=[events_key(call_id), seq_key(call_id), ops_key(call_id), DIRTY_INDEX,
                  call_key(call_id)],
            args=[call_id, token, desired_seq, "fixed" if fixed else "next", fields["v"],
                  fields["kind"], fields["at"], fields["payload"], owner],
        )
        return int(seq)

    async def read_after(self, call_id: str, after_id: str | None, count: int) -> list[RawEntry]:
        start = f"({after_id}" if after_id else "-"
        raw = await self.client.xrange(events_key(call_id), min=start, max="+", count=count)
        return [RawEntry(_text(entry_id), dict(fields or {})) for entry_id, fields in raw or []]

    async def read_latest(self, call_id: str, count: int) -> list[RawEntry]:
        raw = await self.client.xrevrange(events_key(call_id), max="+", min="-", count=count)
        return [RawEntry(_text(entry_id), dict(fields or {}))
                for entry_id, fields in reversed(raw or [])]

    async def dirty_calls(self, limit: int) -> list[str]:
        members = await self.client.srandmember(DIRTY_INDEX, limit)
        return [_text(m) for m in members or []]

    async def mark_dirty(self, call_id: str) -> None:
        await self.client.sadd(DIRTY_INDEX, call_id)

    async def ack(self, call_id: str, last_entry_id: str | None, last_seq: int,
                  expire_seconds: int) -> int:
        result = await self._ack(
            keys=[call_key(call_id), events_key(call_id), DIRTY_INDEX, LIVE_INDEX,
                  *all_call_keys(call_id)],
            args=[call_id, last_entry_id or "", last_seq, expire_seconds],
        )
        return int(result)

    async def dead_letter(self, call_id: str, entry: RawEntry, reason: str) -> None:
        fields: dict[Any, Any] = {"call_id": call_id, "entry_id": entry.entry_id,
                                          "reason": reason, "at_ms": str(now_ms())}
        # keep the raw entry for an operator to inspect, bounded in size
        raw = json.dumps({_text_lossy(k): _text_lossy(v)[:4096] for k, v in entry.fields.items()})
        fields["raw"] = raw[:16384]
        await self.client.xadd(DEADLETTER, fields, maxlen=DEADLETTER_MAXLEN, approximate=True)

    # --- heartbeat and ownership --------------------------------------------------------------

    async def heartbeat(self, call_id: str, worker_id: str, ttl_ms: int) -> tuple[int, int]:
        """Renew the call's lease: (state, persisted_seq), state -1 lost data, 0 superseded,
        1 renewed."""
        state, persisted = await self._heartbeat(
            keys=[heartbeat_key(call_id), call_key(call_id)], args=[worker_id, ttl_ms, now_ms()])
        return int(state), int(persisted)

    async def claim(self, call_id: str, worker_id: str, ttl_ms: int) -> int:
        """Take over an orphaned call; returns the new epoch, or 0 if someone else holds it."""
        epoch = await self._claim(keys=[heartbeat_key(call_id), call_key(call_id), LIVE_INDEX],
                                  args=[worker_id, ttl_ms, now_ms(), call_id])
        return int(epoch)

    async def heartbeat_alive(self, call_ids: Sequence[str]) -> list[bool]:
        if not call_ids:
            return []
        pipe = self.client.pipeline(transaction=False)
        for call_id in call_ids:
            pipe.exists(heartbeat_key(call_id))
        return [bool(v) for v in await pipe.execute()]

    async def take_writer_lease(self, call_id: str, owner: str, ttl_ms: int) -> bool:
        return bool(await self.client.set(writer_lease_key(call_id), owner, px=ttl_ms, nx=True))

    async def release_writer_lease(self, call_id: str, owner: str) -> None:
        await self._release(keys=[writer_lease_key(call_id)], args=[owner])


def _text_lossy(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)
