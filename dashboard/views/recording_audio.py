"""A call's recording, served to the call page's player: `GET /calls/{id}/recording/{part}`.

Audio comes only through this server, for a signed-in user who may view calls. The part's
URI is taken from the call's record, never from the request, and the store checks it is
inside its folder or bucket, so no request names a file. An S3 object is read in ranged
chunks and streamed on; the browser never gets a URL of the bucket.

HTTP ranges (one `bytes=` range) let the browser seek: 206 with Content-Range, 416 with
`bytes */size` for a range outside the part or one we do not parse.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from dashboard.permissions import Permission, require
from dashboard.services import services
from recording.store import CALL_ID, CONTENT_TYPE, RecordingStore, RecordingStoreError
from state.redispatch import FINAL_STATUSES

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SIZE_CACHE_ENTRIES = 512
_GONE = "No recording with that number for this call."


class RangeNotSatisfiable(ValueError):
    pass


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """[start, end] inclusive of one `bytes=` range; None for no header (the whole part).
    Several ranges, other units and ranges outside the part are refused."""
    if header is None:
        return None
    match = RANGE.match(header.strip())
    if match is None or size <= 0:
        raise RangeNotSatisfiable(header)
    first, last = match.groups()
    if not first and not last:
        raise RangeNotSatisfiable(header)
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(header)
        return max(0, size - length), size - 1
    start = int(first)
    end = size - 1 if not last else min(int(last), size - 1)
    if start >= size or start > end:
        raise RangeNotSatisfiable(header)
    return start, end


# --- what the record says about the call's recording ----------------------------------------


@dataclass(frozen=True)
class PlayerPart:
    part: int
    uri: str
    started_at: datetime


@dataclass(frozen=True)
class TurnTime:
    """Where a turn is heard: its part and seconds into it. A turn's `at` is when it ended, so
    a turn is heard from the end of the turn before it."""

    part: int
    start_s: float
    end_s: float


@dataclass
class Player:
    parts: list[PlayerPart] = field(default_factory=list)
    turns: dict[int, TurnTime] = field(default_factory=dict)


def _parts(record: dict[str, Any]) -> list[PlayerPart]:
    found: dict[int, PlayerPart] = {}
    for event in record.get("events") or []:
        payload = event.get("payload") or {}
        if event.get("kind") != "recording" or payload.get("stage") != "started":
            continue
        try:
            part = int(payload["part"])
            found[part] = PlayerPart(part, str(payload["uri"]),
                                     datetime.fromisoformat(str(payload["started_at"])))
        except (KeyError, TypeError, ValueError):
            continue  # a malformed event is not a part we can play
    return [found[p] for p in sorted(found)]


def player_for(record: dict[str, Any]) -> Player:
    """The parts of the call's recording and each turn's place in them."""
    parts = _parts(record)
    player = Player(parts=parts)
    if not parts or record["call"].get("purged_at"):
        return Player()
    previous_end: datetime | None = None
    for turn in record.get("turns") or []:
        at = datetime.fromisoformat(str(turn["at"]))
        # the last part that had started by the time the turn ended
        home = next((p for p in reversed(parts) if p.started_at <= at), parts[0])
        begin = previous_end if previous_end is not None and previous_end >= home.started_at \
            else home.started_at
        player.turns[int(turn["seq"])] = TurnTime(
            home.part, round(max(0.0, (begin - home.started_at).total_seconds()), 2),
            round(max(0.0, (at - home.started_at).total_seconds()), 2))
        previous_end = at
    return player


# --- serving a part ---------------------------------------------------------------------------


def recordings(request: Request) -> RecordingStore:
    store: RecordingStore = request.app.state.recordings
    return store


class _PartSizes:
    """Sizes of parts that can no longer grow (the call has ended). The store's Protocol has
    no size query, so the first request for a part reads it whole once."""

    def __init__(self) -> None:
        self._sizes: OrderedDict[str, int] = OrderedDict()

    async def size(self, store: RecordingStore, uri: str, *, final: bool) -> int:
        if uri in self._sizes:
            self._sizes.move_to_end(uri)
            return self._sizes[uri]
        size = len(await store.read(uri))
        if final:
            self._sizes[uri] = size
            while len(self._sizes) > _SIZE_CACHE_ENTRIES:
                self._sizes.popitem(last=False)
        return size


_sizes = _PartSizes()


async def _chunks(store: RecordingStore, uri: str, start: int, end: int,
                  call_id: str) -> AsyncIterator[bytes]:
    position = start
    while position <= end:
        last = min(end, position + CHUNK_BYTES - 1)
        try:
            data = await store.read(uri, position, last)
        except RecordingStoreError:
            # the status line is sent already: end the body short, the browser retries
            logger.warning("console: recording read failed mid-stream",
                           extra={"call_id": call_id})
            return
        if not data:
            return
        yield data
        position += len(data)


async def recording_part(request: Request) -> Response:
    require(request, Permission.VIEW_CALLS)
    call_id = request.path_params["call_id"]
    if not CALL_ID.match(call_id):
        raise HTTPException(404, _GONE)
    record = await services(request).store.get_call(call_id)
    if record is None:
        raise HTTPException(404, _GONE)
    wanted = request.path_params["part"]
    parts = player_for(record).parts
    part = next((p for p in parts if p.part == wanted), None)
    if part is None:
        raise HTTPException(404, _GONE)
    store = recordings(request)
    # only the last part of a call still going can grow
    final = record["call"].get("status") in FINAL_STATUSES or part is not parts[-1]
    try:
        size = await _sizes.size(store, part.uri, final=final)
    except RecordingStoreError:
        logger.warning("console: recording not readable", extra={"call_id": call_id,
                                                                "part": part.part})
        raise HTTPException(404, _GONE) from None
    headers = {"accept-ranges": "bytes", "content-disposition": "inline"}
    try:
        span = parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable:
        return Response("Range not satisfiable.", status_code=416, media_type="text/plain",
                        headers={**headers, "content-range": f"bytes */{size}"})
    start, end = span if span is not None else (0, size - 1)
    headers["content-length"] = str(max(0, end - start + 1))
    status = 200
    if span is not None:
        status = 206
        headers["content-range"] = f"bytes {start}-{end}/{size}"
    return StreamingResponse(_chunks(store, part.uri, start, end, call_id),
                             status_code=status, media_type=CONTENT_TYPE, headers=headers)


routes = [
    Route("/calls/{call_id}/recording/{part:int}", recording_part, methods=["GET"],
          name="call_recording"),
]
