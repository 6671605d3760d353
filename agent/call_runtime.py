"""One call's shared state: what the coordinator and its parts (events, handoff, DTMF, timers,
ending) all see. Every background task of the call is spawned here, so one owner cancels it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from livekit.agents import AgentSession, JobContext
from livekit.agents.voice import SpeechHandle

from agent.assets import Closer, PrewarmedAssets
from agent.call_limits import CallTimers
from agent.call_recording import CallRecording
from agent.turn_taking import TurnTaking
from agent.warm_transfer import WarmTransfer
from sip.call_control import SipCallControl
from state.events import InvalidEventError
from state.protocols import CallRecorder
from tools.context import EscalationRequest, IntakeUserdata
from tools.playbook import Playbook

logger = logging.getLogger("intake.call")

RECORD_TASK_PREFIX = "intake-record"


class EscalationBoard(Protocol):
    """The supervisors' board (`agent.supervision`): rings before any phone does."""

    async def supervisors_waiting(self) -> bool: ...

    async def ring(self, request: EscalationRequest) -> str | None:
        """Ring for the playbook's ring time; the account that took the call over, or None."""
        ...


class CallRuntime:
    def __init__(self, ctx: JobContext, assets: PrewarmedAssets, call_id: str,
                 metadata: dict[str, Any]) -> None:
        self.ctx = ctx
        self.assets = assets
        self.call_id = call_id
        self.metadata = metadata
        self.recorder: CallRecorder | None = None
        self.call_audio: CallRecording | None = None  # the stereo recording, when on
        self.close_recorder: Closer | None = None
        self.session: AgentSession[IntakeUserdata] | None = None
        self.timers: CallTimers | None = None
        self.caller_identity = ""
        self.caller_is_sip = False
        # warm transfer: the caller holds (the AI neither listens nor times out), then the call
        # is handed over and the AI session is gone
        self.on_hold = False
        self.handed_over = False
        # another worker took the call over (this job froze past its lease): say nothing more,
        # write nothing more, leave the room to the replacement
        self.superseded = False
        self.warm_transfer: WarmTransfer | None = None
        self.finished = False
        # a supervisor's account while they have taken the call over: the AI stays silent
        self.supervised_by: str | None = None
        self.board: EscalationBoard | None = None
        # the model's turn detection: who answers, and the silence that ends a caller's turn
        self.turn_taking: TurnTaking | None = None
        # told of every event handed to `record` (the board derives its flags from them)
        self.record_observers: list[Callable[[str, Mapping[str, Any]], None]] = []
        # every speech the session created, with when (monotonic): a transfer waits for the
        # handoff line itself, not for whatever the agent happened to be saying
        self.speeches: list[tuple[float, SpeechHandle]] = []
        self.tasks: set[asyncio.Task[Any]] = set()
        self._sip: SipCallControl | None = None

    @property
    def playbook(self) -> Playbook:
        return self.assets.playbook

    @property
    def log(self) -> dict[str, str]:
        return {"call_id": self.call_id}

    @property
    def sip(self) -> SipCallControl:
        if self._sip is None:
            self._sip = self.assets.sip_control(self.ctx.api)
        return self._sip

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    def mark(self, stage: str) -> None:
        """Wall-clock marks of the call's set-up, for latency analysis (debug level)."""
        logger.debug("call stage", extra={**self.log, "stage": stage, "at": time.time()})

    def record(self, kind: str, payload: dict[str, Any]) -> None:
        """Append an event to the record without blocking the caller's audio path."""
        recorder = self.recorder
        if recorder is None or self.finished:
            return
        for observer in self.record_observers:
            observer(kind, payload)
        self.spawn(self._record_safely(recorder, kind, payload),
                   f"{RECORD_TASK_PREFIX}-{kind}")

    async def _record_safely(self, recorder: CallRecorder, kind: str,
                             payload: dict[str, Any]) -> None:
        try:
            await recorder.record(kind, payload)
        except InvalidEventError as exc:
            logger.warning("event rejected", extra={**self.log, "kind": kind,
                                                    "reason": exc.reason})
        except Exception:
            logger.exception("event not recorded", extra={**self.log, "kind": kind})

    async def flush_records(self, timeout: float = 2.0) -> None:
        """Let events already handed to `record` reach the recorder (bounded)."""
        for task in list(self.tasks):
            if task.get_name().startswith(RECORD_TASK_PREFIX):
                # a failed write logs itself
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(task), timeout)

    async def cancel_tasks(self, timeout: float = 2.0, *,
                           keep: asyncio.Task[Any] | None = None) -> list[str]:
        """Cancel every task but the caller's (and `keep`); returns the names of those that
        would not end."""
        current = asyncio.current_task()
        pending = [t for t in list(self.tasks) if t is not current and t is not keep]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=timeout)
        return [t.get_name() for t in pending if not t.done()]
