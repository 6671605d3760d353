"""Retention for audio: a call's recording goes when its transcript goes.

The audio is deleted before the database purge, so a store that fails leaves the calls in
scope (and their recording_uri) for the next run instead of orphaning audio.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from recording.store import RecordingStore


class _RetentionScope(Protocol):
    async def retention_call_ids(self, now: datetime, days: int | None,
                                 default_days: int) -> list[str]: ...


async def delete_expired_recordings(record_store: _RetentionScope, recordings: RecordingStore,
                                    now: datetime, days: int | None, default_days: int) -> int:
    """Delete every part of every call the purge will reach; returns the parts deleted.
    Raises RecordingStoreError at the first failure (nothing is purged then)."""
    deleted = 0
    for call_id in await record_store.retention_call_ids(now, days, default_days):
        deleted += await recordings.delete_call(call_id)
    return deleted
