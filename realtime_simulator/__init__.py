"""A local server speaking the OpenAI Realtime WebSocket protocol, scripted by a scenario, so
the real livekit-plugins-openai code runs unchanged against it (tests, demo, offline eval)."""

from __future__ import annotations

from .records import ToolCallRecord, TurnTiming, WireEvent
from .scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from .server import RealtimeSimulator
from .speech import synthesize_pcm16

__all__ = [
    "RealtimeSimulator",
    "Scenario",
    "ScenarioError",
    "ToolCallRecord",
    "TurnTiming",
    "WireEvent",
    "load_scenario",
    "parse_scenario",
    "synthesize_pcm16",
]
