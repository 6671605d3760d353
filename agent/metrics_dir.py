"""The worker's prometheus_client multiprocess folder, chosen before prometheus_client loads.

prometheus_client decides at import time whether it writes samples to files, and livekit-agents
imports it, so this runs in `intake dev|start` before anything imports livekit. Each worker
gets a folder of its own (two workers on one machine must not sum each other's calls) unless
the operator set `PROMETHEUS_MULTIPROC_DIR`; job processes inherit it from the environment.
"""

from __future__ import annotations

import os
import shutil
import tempfile

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_metrics_dir() -> str | None:
    """Set the folder; returns it when this process created it (and so must remove it)."""
    if os.environ.get(MULTIPROC_ENV, "").strip():
        os.makedirs(os.environ[MULTIPROC_ENV], exist_ok=True)
        return None
    folder = tempfile.mkdtemp(prefix="intake-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def remove_metrics_dir(folder: str | None) -> None:
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
