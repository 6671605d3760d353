"""Start and stop the local stack: livekit-server, livekit-sip, Redis and Postgres.

Used by `intake demo`, the benchmarks, the bootstrap script and the test session fixtures,
so every one of them runs the same real servers the same way.
"""

from __future__ import annotations

from devstack.paths import TOOLS_BIN, project_root
from devstack.processes import ManagedProcess, free_port, wait_for_port
from devstack.services import (
    LiveKitServer,
    PostgresServer,
    RedisServer,
    ToolMissingError,
)

__all__ = [
    "TOOLS_BIN",
    "LiveKitServer",
    "ManagedProcess",
    "PostgresServer",
    "RedisServer",
    "ToolMissingError",
    "free_port",
    "project_root",
    "wait_for_port",
]
