"""Walks a Scenario: which caller line a speech segment is, and what the model says next."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .scenario import AgentStep, CallerTurn, SayStep, Scenario, ToolStep


@dataclass(frozen=True)
class ResponsePlan:
    """The output of one model response: an optional message, then an optional tool call."""

    source: Literal["turn", "greeting", "fallback", "empty", "out_of_band"]
    turn_index: int | None
    say_texts: tuple[str, ...]
    tool: ToolStep | None
    reply_delay_ms: int
    first_of_turn: bool

    @property
    def text(self) -> str:
        return " ".join(self.say_texts)


class ScriptCursor:
    """Scenario progress. One per simulator: it survives client reconnections, so one
    simulator serves one call."""

    def __init__(self, scenario: Scenario) -> None:
        self._scenario = scenario
        self._spoken: list[tuple[int, CallerTurn]] = [
            (i, t) for i, t in enumerate(scenario.turns) if t.caller is not None
        ]
        self._next_spoken = 0
        self._pending: list[AgentStep] = list(scenario.greeting)
        self._pending_source: Literal["turn", "greeting"] = "greeting"
        self._pending_turn: int | None = None
        self._fresh = False
        self.unscripted_segments = 0

    @property
    def current_turn(self) -> int | None:
        """Index into Scenario.turns of the caller line last heard."""
        return self._pending_turn

    @property
    def has_pending_steps(self) -> bool:
        return bool(self._pending)

    def on_caller_segment(self) -> tuple[int | None, str | None]:
        """A caller speech segment was committed: it is the next scripted caller line.

        Returns (turn index, caller text), or (None, None) past the end of the script.
        Steps left over from the previous turn are dropped, as a real model would answer the
        newest input.
        """
        if self._next_spoken < len(self._spoken):
            index, turn = self._spoken[self._next_spoken]
            self._next_spoken += 1
            self._pending = list(turn.agent)
            self._pending_source = "turn"
            self._pending_turn = index
            self._fresh = True
            return index, turn.caller
        self._pending = []
        self._pending_turn = None
        self._fresh = False
        self.unscripted_segments += 1
        return None, None

    def next_response(self) -> ResponsePlan:
        """Take the steps for one response: says up to and including the first tool."""
        first = self._fresh
        self._fresh = False
        delay = 0
        if first and self._pending_turn is not None:
            delay = self._scenario.turns[self._pending_turn].reply_delay_ms
        if not self._pending:
            fallback = self._scenario.fallback_reply
            return ResponsePlan(
                source="fallback" if fallback else "empty",
                turn_index=self._pending_turn,
                say_texts=(fallback,) if fallback else (),
                tool=None,
                reply_delay_ms=delay,
                first_of_turn=first,
            )
        says: list[str] = []
        tool: ToolStep | None = None
        while self._pending:
            step = self._pending.pop(0)
            if isinstance(step, SayStep):
                says.append(step.say)
            else:
                tool = step
                break
        return ResponsePlan(
            source=self._pending_source,
            turn_index=self._pending_turn,
            say_texts=tuple(says),
            tool=tool,
            reply_delay_ms=delay,
            first_of_turn=first,
        )
