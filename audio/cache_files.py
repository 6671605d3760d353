"""The user's cache folder (rendered speech, the guard's learned weights): no livekit import,
so the tools package can use it too."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(kind: str) -> Path:
    """The user's cache folder for one kind of cached file ("speech", "voice", "guard-model")."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phone-intake-agent" / kind


def write_cache_file(path: Path, data: bytes) -> None:
    """Write a cache entry so a reader in another process never sees half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
