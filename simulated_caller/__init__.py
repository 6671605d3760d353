"""A simulated caller: a LiveKit participant that speaks a scenario and times the agent."""

from __future__ import annotations

from simulated_caller.caller import AgentNotHeardError, CallerLine, SimulatedCaller
from simulated_caller.report import AgentSpeechSegment, CallerReport, CallerTurnResult

__all__ = [
    "AgentNotHeardError",
    "AgentSpeechSegment",
    "CallerLine",
    "CallerReport",
    "CallerTurnResult",
    "SimulatedCaller",
]
