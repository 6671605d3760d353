"""Where call recordings live: one `Protocol`, a local folder (default) and S3 (production).

A call's audio is one or more parts: part 1 from the agent that answered, part 2 from a
replacement agent after a worker died, and so on. Each part is an Ogg file written to a
local path as the call goes; the store makes it durable (`sync`) and final (`close`).
Keys are `<prefix><call_id>/part-NNN.ogg`; a call id is never a path (checked).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

CALL_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
PART_NAME = re.compile(r"^part-(\d{3})\.ogg$")
CONTENT_TYPE = "audio/ogg"


class RecordingStoreError(RuntimeError):
    """The store refused or could not be reached; the message names no caller data."""


def check_call_id(call_id: str) -> str:
    if not CALL_ID.match(call_id):
        raise ValueError("a call id for a recording is 1-64 letters, digits, '-' or '_'")
    return call_id


def part_name(part: int) -> str:
    return f"part-{part:03d}.ogg"


class RecordingPart(Protocol):
    uri: str
    part: int
    path: Path
    """The local file the writer appends to."""

    async def sync(self) -> None:
        """Make what is in `path` so far durable in the store."""
        ...

    async def close(self) -> None:
        """The part is complete: store it in full (and drop any local spool)."""
        ...


class RecordingStore(Protocol):
    async def open_part(self, call_id: str) -> RecordingPart:
        """The call's next part (1 for a new call)."""
        ...

    async def parts(self, call_id: str) -> list[str]:
        """URIs of the call's parts, in order."""
        ...

    async def read(self, uri: str, start: int | None = None, end: int | None = None) -> bytes:
        """The bytes of a part, or of [start, end] inclusive (an HTTP range)."""
        ...

    async def delete_call(self, call_id: str) -> int:
        """Delete every part of the call; returns how many were deleted."""
        ...

    async def aclose(self) -> None: ...


# --- a local folder -----------------------------------------------------------------------------


@dataclass
class _LocalPart:
    uri: str
    part: int
    path: Path

    async def sync(self) -> None:
        await asyncio.to_thread(_fsync, self.path)

    async def close(self) -> None:
        await asyncio.to_thread(_fsync, self.path)


def _fsync(path: Path) -> None:
    if path.exists():
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class LocalFolderStore:
    """`<root>/<call_id>/part-NNN.ogg`, written in place (the writer appends to the final
    file, so a killed worker leaves a playable file there). URIs are `file://` paths."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _call_dir(self, call_id: str) -> Path:
        return self.root / check_call_id(call_id)

    async def open_part(self, call_id: str) -> RecordingPart:
        folder = self._call_dir(call_id)
        await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
        part = len(await self.parts(call_id)) + 1
        while True:
            path = folder / part_name(part)
            try:
                # O_EXCL: two agents on one call never write the same part
                os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
            except FileExistsError:
                part += 1
                continue
            return _LocalPart(uri=path.as_uri(), part=part, path=path)

    async def parts(self, call_id: str) -> list[str]:
        folder = self._call_dir(call_id)
        if not folder.is_dir():
            return []
        names = sorted(p.name for p in folder.iterdir() if PART_NAME.match(p.name))
        return [(folder / n).as_uri() for n in names]

    def _path_of(self, uri: str) -> Path:
        if not uri.startswith("file://"):
            raise RecordingStoreError("not a file:// recording URI")
        path = Path(uri.removeprefix("file://")).resolve()
        if self.root not in path.parents:
            raise RecordingStoreError("recording URI outside the recording folder")
        return path

    async def read(self, uri: str, start: int | None = None, end: int | None = None) -> bytes:
        path = self._path_of(uri)

        def read() -> bytes:
            with path.open("rb") as fh:
                fh.seek(start or 0)
                size = -1 if end is None else end - (start or 0) + 1
                return fh.read(size)

        try:
            return await asyncio.to_thread(read)
        except FileNotFoundError:
            raise RecordingStoreError("no such recording") from None

    async def delete_call(self, call_id: str) -> int:
        folder = self._call_dir(call_id)
        count = len(await self.parts(call_id))
        await asyncio.to_thread(shutil.rmtree, folder, True)
        return count

    async def aclose(self) -> None:
        return None
