"""Call recordings: a stereo Opus/Ogg file per call part (caller left, what the caller heard
right), written as the call goes, kept in a `RecordingStore` (a folder, or S3)."""

from __future__ import annotations

from recording.recorder import CallAudioRecorder
from recording.store import LocalFolderStore, RecordingPart, RecordingStore, RecordingStoreError

__all__ = ["CallAudioRecorder", "LocalFolderStore", "RecordingPart", "RecordingStore",
           "RecordingStoreError"]
