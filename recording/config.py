"""The recording store from the environment (the worker's and the CLI's composition roots).

INTAKE_RECORDING_STORE  folder (default) or s3
INTAKE_RECORDING_DIR    the folder store's root (default: $XDG_DATA_HOME or ~/.local/share,
                        then phone-intake-agent/recordings)
INTAKE_S3_BUCKET, INTAKE_S3_ENDPOINT_URL (empty: AWS), INTAKE_S3_REGION (us-east-1),
INTAKE_S3_PREFIX, INTAKE_S3_ACCESS_KEY_ID, INTAKE_S3_SECRET_ACCESS_KEY
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from recording.store import LocalFolderStore, RecordingStore


class RecordingConfigError(ValueError):
    """A missing or bad setting; the message names the variable, never its value."""


def default_recording_dir(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "phone-intake-agent" / "recordings"


def recording_store(env: Mapping[str, str] | None = None) -> RecordingStore:
    env = os.environ if env is None else env
    kind = (env.get("INTAKE_RECORDING_STORE") or "folder").strip().lower()
    if kind == "folder":
        root = env.get("INTAKE_RECORDING_DIR") or str(default_recording_dir(env))
        return LocalFolderStore(Path(root))
    if kind == "s3":
        from recording.s3_store import S3RecordingStore, S3Settings

        missing = [name for name in ("INTAKE_S3_BUCKET", "INTAKE_S3_ACCESS_KEY_ID",
                                     "INTAKE_S3_SECRET_ACCESS_KEY") if not env.get(name)]
        if missing:
            raise RecordingConfigError(f"INTAKE_RECORDING_STORE=s3 needs {', '.join(missing)}")
        prefix = env.get("INTAKE_S3_PREFIX", "")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3RecordingStore(S3Settings(
            bucket=env["INTAKE_S3_BUCKET"], endpoint_url=env.get("INTAKE_S3_ENDPOINT_URL") or None,
            region=env.get("INTAKE_S3_REGION") or "us-east-1",
            access_key_id=env["INTAKE_S3_ACCESS_KEY_ID"],
            secret_access_key=env["INTAKE_S3_SECRET_ACCESS_KEY"], prefix=prefix))
    raise RecordingConfigError("INTAKE_RECORDING_STORE must be 'folder' or 's3'")
