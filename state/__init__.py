"""state: live call state (Redis), the system of record (Postgres), and the recorder between.

The agent and tools depend on `CallRecorder` only; the worker builds the implementations.
"""

from __future__ import annotations

from state.protocols import CallEvent, CallInfo, CallRecorder

__all__ = ["CallEvent", "CallInfo", "CallRecorder"]
