"""The parts of a call, each built alone: resume, escalation routing, DTMF, limits, ending."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from livekit import rtc

from agent.assets import PrewarmedAssets
from agent.call_ending import CallEnding
from agent.call_metrics import MeteredCallRecorder
from agent.call_runtime import CallRuntime
from agent.composition import recorder_factory
from agent.config import booking_backend_for, load_settings
from agent.dtmf_input import DtmfInput
from agent.handoff import HandoffRouter
from agent.limit_actions import start_call_timers
from agent.resume import restore_call, resume_line, unfinished_transfer
from sip.call_control import Answered, DialError, TransferRequest
from state.protocols import ESCALATION, STATUS, TURN, CallEvent, CallInfo
from state.recorder import InMemoryCallRecorder
from tests.unit.test_tools_fakes import example_playbook
from tools.booking import HttpBookingBackend, LocalBookingBackend
from tools.checklist import SlotChecklist
from tools.context import EscalationRequest
from tools.normalize import Normalized
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit

SIP = rtc.ParticipantKind.PARTICIPANT_KIND_SIP


class FakeSipControl:
    def __init__(self, *, trunk: bool = True, transfer_ok: bool = True) -> None:
        self.trunk = trunk
        self.transfer_ok = transfer_ok
        self.transfers: list[str] = []

    async def outbound_trunk(self) -> str:
        if not self.trunk:
            raise DialError("no_trunk")
        return "ST_1"

    async def dial(self, *, room: str, number: str, trunk_id: str, identity: str,
                   ring_timeout_s: float, name: str = "",
                   attributes: dict[str, str] | None = None) -> Answered:
        raise DialError("no_answer")

    async def cold_transfer(self, room: rtc.Room, request: TransferRequest) -> bool:
        self.transfers.append(request.transfer_number)
        return self.transfer_ok

    async def move_participant(self, *, room: str, identity: str, destination: str) -> None:
        return None


class FakeSession:
    def __init__(self) -> None:
        self.replies: list[str] = []
        self.agent_state = "listening"
        self.interrupted = 0

    def generate_reply(self, *, instructions: str) -> None:
        self.replies.append(instructions)

    def interrupt(self, force: bool = False) -> Any:
        self.interrupted += 1
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def make_runtime(sip: FakeSipControl | None = None, *, mode: str = "cold",
                 recorder: InMemoryCallRecorder | None = None) -> CallRuntime:
    base = example_playbook()
    playbook = base.model_copy(update={
        "transfer": base.transfer.model_copy(update={"mode": mode})})
    sip = sip or FakeSipControl()
    assets = SimpleNamespace(playbook=playbook, sip_control=lambda lk: sip,
                             settings=SimpleNamespace(livekit_url="ws://x", livekit_api_key="k",
                                                      livekit_api_secret="s",
                                                      supervisor_transcription_model=""))
    shutdowns: list[str] = []

    async def delete_room() -> None:
        return None

    ctx = SimpleNamespace(api=object(), room=SimpleNamespace(name="call-c1"),
                          delete_room=delete_room, shutdown=lambda reason: shutdowns.append(reason),
                          shutdowns=shutdowns)
    runtime = CallRuntime(ctx, assets, "c1", {})  # type: ignore[arg-type]
    runtime.recorder = recorder
    return runtime


def request(action: str = "transfer") -> EscalationRequest:
    return EscalationRequest(category="human_request", action=action,  # type: ignore[arg-type]
                             transfer_number="+15125550199", source="guard", say="One moment.")


async def open_recorder() -> InMemoryCallRecorder:
    recorder = InMemoryCallRecorder()
    await recorder.open(CallInfo(call_id="c1", room="call-c1", worker_id="w"))
    return recorder


# ---------------------------------------------------------------- resume

async def test_a_replacement_agent_restores_slots_and_turns_and_says_where_we_were() -> None:
    recorder = await open_recorder()
    playbook = example_playbook()
    first = SlotChecklist(playbook)
    await first.record("problem", "leak", Normalized("leaking water heater", "leak"), turn=1)
    await recorder.save_slot("problem", first.snapshot()["slots"]["problem"])
    await recorder.record(TURN, {"role": "caller", "text": "my water heater leaks"})
    await recorder.record(TURN, {"role": "agent", "text": "Where are you located?"})
    # a supervisor's words are not the agent's: they are not replayed as its own
    await recorder.record(TURN, {"role": "supervisor", "text": "Dana here.", "by": "dana"})
    restored = await restore_call(recorder, playbook)
    checklist, line, chat_ctx = restored.checklist, restored.resume_line, restored.chat_ctx
    assert restored.unfinished_transfer is None
    assert checklist.slot("problem").value == "leaking water heater"
    assert [m.text_content for m in chat_ctx.messages()] == [
        "my water heater leaks", "Where are you located?"]
    assert line == resume_line(checklist)
    assert line.startswith("Sorry, I lost you for a second. We were on your ")
    assert "problem" not in line  # already collected: the next missing field is named


def _events(*items: tuple[str, dict[str, object]]) -> list[CallEvent]:
    return [CallEvent(kind, payload) for kind, payload in items]


def test_a_hold_with_no_end_recorded_is_an_unfinished_transfer() -> None:
    hold = (ESCALATION, {"category": "human_request", "stage": "hold"})
    assert unfinished_transfer(_events((TURN, {"role": "caller", "text": "a person please"}),
                                       hold)) == "human_request"
    # relayed to the person: the relay died with the agent
    relayed = (ESCALATION, {"category": "urgent", "stage": "warm_transfer",
                            "transferred": True, "via": "relay"})
    assert unfinished_transfer(_events(hold, relayed)) == "urgent"


def test_a_transfer_that_ended_or_never_connected_is_not_unfinished() -> None:
    hold = (ESCALATION, {"category": "human_request", "stage": "hold"})
    no_answer = (ESCALATION, {"category": "human_request", "stage": "warm_transfer",
                              "transferred": False, "reason": "no_answer"})
    relayed = (ESCALATION, {"category": "human_request", "stage": "warm_transfer",
                            "transferred": True, "via": "relay"})
    ended = (STATUS, {"status": "transfer_ended"})
    assert unfinished_transfer(_events(hold, no_answer)) is None
    assert unfinished_transfer(_events(hold, relayed, ended)) is None
    assert unfinished_transfer(_events((ESCALATION, {"category": "pricing",
                                                     "stage": "handoff"}))) is None
    assert unfinished_transfer([]) is None


# ---------------------------------------------------------------- handoff routing

async def test_a_follow_up_escalation_is_recorded_and_nobody_is_transferred() -> None:
    recorder = await open_recorder()
    sip = FakeSipControl()
    runtime = make_runtime(sip, recorder=recorder)
    router = HandoffRouter(runtime, CallEnding(runtime))
    assert await router.on_escalate(request("follow_up")) is False
    await runtime.flush_records()
    assert sip.transfers == []
    escalations = [e.payload for _, e in recorder.events if e.kind == "escalation"]
    assert escalations[-1]["stage"] == "handoff"


async def test_a_cold_transfer_waits_for_a_sip_caller() -> None:
    runtime = make_runtime(FakeSipControl())
    router = HandoffRouter(runtime, CallEnding(runtime))
    runtime.caller_is_sip = False  # a WebRTC caller cannot be REFERred
    assert await router.on_escalate(request()) is False
    runtime.caller_is_sip = True
    assert await router.on_escalate(request()) is True
    await runtime.cancel_tasks()


async def test_warm_mode_without_an_outbound_trunk_falls_back_to_cold() -> None:
    sip = FakeSipControl(trunk=False)
    runtime = make_runtime(sip, mode="warm")
    runtime.caller_is_sip = True
    router = HandoffRouter(runtime, CallEnding(runtime))
    assert await router.on_escalate(request()) is True
    assert runtime.warm_transfer is None
    assert [t.get_name() for t in runtime.tasks] == ["intake-transfer"]
    await runtime.cancel_tasks()


# ---------------------------------------------------------------- DTMF

async def test_keypad_digits_from_the_caller_reach_the_model_and_others_are_ignored() -> None:
    runtime = make_runtime()
    session = FakeSession()
    runtime.session = session  # type: ignore[assignment]
    runtime.caller_identity = "sip_caller"
    dtmf = DtmfInput(runtime)
    someone_else = SimpleNamespace(identity="supervisor")
    caller = SimpleNamespace(identity="sip_caller")
    for digit in "512#":
        dtmf.on_dtmf(SimpleNamespace(digit=digit, participant=someone_else))  # type: ignore[arg-type]
    assert session.replies == []
    for digit in "512#":
        dtmf.on_dtmf(SimpleNamespace(digit=digit, participant=caller))  # type: ignore[arg-type]
    assert len(session.replies) == 1 and "5 1 2" in session.replies[0]


# ---------------------------------------------------------------- limits and ending

async def test_limit_timers_stand_still_while_the_caller_is_on_hold() -> None:
    runtime = make_runtime()
    session = FakeSession()
    runtime.session = session  # type: ignore[assignment]
    timers = start_call_timers(runtime, CallEnding(runtime))
    assert runtime.timers is timers
    runtime.on_hold = True
    await timers._on_idle_prompt()
    assert session.replies == []
    runtime.on_hold = False
    await timers._on_idle_prompt()
    assert session.replies == [
        f"Say exactly this and nothing else: {runtime.playbook.call_limits.idle_prompt}"]
    await timers.aclose()


async def test_the_outcome_is_stored_once_however_often_the_call_ends() -> None:
    recorder = await open_recorder()
    runtime = make_runtime(recorder=recorder)
    ending = CallEnding(runtime)
    await ending.hang_up("caller_hangup")
    await ending.finish("job_shutdown")
    outcomes = [e for _, e in recorder.events if e.kind == "outcome"]
    assert len(outcomes) == 1 and recorder.closed
    statuses = [e.payload.get("status") for _, e in recorder.events if e.kind == "status"]
    assert statuses[-1] == "hung_up"
    assert runtime.ctx.shutdowns == ["caller_hangup"]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- composition root

async def test_the_composition_root_picks_implementations_from_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "devkey",
                       "LIVEKIT_API_SECRET": "a-dev-secret-that-is-long-enough-for-jwt",
                       "OPENAI_API_KEY": "sk-test"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BUSINESS_API_BASE", raising=False)
    monkeypatch.delenv("INTAKE_REDIS_URL", raising=False)
    settings = load_settings(production=False)
    playbook = load_playbook(settings.playbook_path)
    assert isinstance(booking_backend_for(settings, playbook), LocalBookingBackend)
    recorder, close = await recorder_factory(settings)()
    # every recorder is metered (agent.call_metrics), the one inside picked by settings
    assert isinstance(recorder, MeteredCallRecorder)
    assert isinstance(recorder.inner, InMemoryCallRecorder)
    await close()
    monkeypatch.setenv("BUSINESS_API_BASE", "http://127.0.0.1:9")
    backend = booking_backend_for(load_settings(production=False), playbook)
    assert isinstance(backend, HttpBookingBackend)
    await backend.aclose()


def test_prewarmed_assets_carry_factories_not_connections() -> None:
    fields = set(PrewarmedAssets.__dataclass_fields__)
    assert {"open_recorder", "sip_control", "booking"} <= fields


async def test_a_second_finish_waits_for_the_outcome_the_first_is_storing() -> None:
    recorder = await open_recorder()
    stored = asyncio.Event()
    real_finish = recorder.finish

    async def slow_finish(outcome: Any) -> None:
        await asyncio.sleep(0.2)  # a store that takes a moment (Postgres, the recording)
        await real_finish(outcome)
        stored.set()

    recorder.finish = slow_finish  # type: ignore[method-assign]
    runtime = make_runtime(recorder=recorder)
    ending = CallEnding(runtime)
    first = asyncio.create_task(ending.finish("hung_up"))
    await asyncio.sleep(0)
    await ending.finish("job_shutdown")  # the job's shutdown callback, while the first runs
    assert stored.is_set()
    await first
    assert len([e for _, e in recorder.events if e.kind == "outcome"]) == 1


class FakeEndingSession(FakeSession):
    """What CallEnding uses of a session: its state and its events, `say` and its playout."""

    def __init__(self, agent_state: str) -> None:
        super().__init__()
        self.agent_state = agent_state
        self.said: list[str] = []
        self.playout: asyncio.Future[None] | None = None
        self._handlers: list[Any] = []

    def on(self, _event: str, handler: Any) -> None:
        self._handlers.append(handler)

    def off(self, _event: str, handler: Any) -> None:
        self._handlers.remove(handler)

    def set_state(self, state: str) -> None:
        self.agent_state = state
        for handler in list(self._handlers):
            handler(SimpleNamespace(new_state=state))

    def say(self, text: str, **_kwargs: Any) -> Any:
        self.said.append(text)
        self.playout = asyncio.get_running_loop().create_future()
        playout = self.playout
        return SimpleNamespace(wait_for_playout=lambda: asyncio.shield(playout))


def ending_runtime(session: FakeEndingSession, *, goodbye_frames: list[Any]) -> CallRuntime:
    runtime = make_runtime()
    runtime.assets.goodbye_frames = goodbye_frames  # type: ignore[misc]
    runtime.session = session  # type: ignore[assignment]
    return runtime


async def _hung_up(runtime: CallRuntime) -> bool:
    for _ in range(100):
        if runtime.ctx.shutdowns:  # type: ignore[attr-defined]
            return True
        await asyncio.sleep(0.01)
    return False


async def test_end_call_plays_the_playbooks_goodbye_then_hangs_up() -> None:
    session = FakeEndingSession("thinking")
    runtime = ending_runtime(session, goodbye_frames=[object()])
    assert await CallEnding(runtime).end_call("caller_request") is True
    assert session.said == [runtime.playbook.call_limits.goodbye]
    assert session.replies == []  # the model was not asked to say it
    await asyncio.sleep(0.05)
    assert runtime.ctx.shutdowns == []  # type: ignore[attr-defined]  # still playing
    assert session.playout is not None
    session.playout.set_result(None)
    assert await _hung_up(runtime)


async def test_a_closing_the_model_is_speaking_is_the_goodbye() -> None:
    session = FakeEndingSession("speaking")
    runtime = ending_runtime(session, goodbye_frames=[object()])
    assert await CallEnding(runtime).end_call("intake_complete") is True
    assert session.said == [] and session.replies == []
    await asyncio.sleep(0.05)
    assert runtime.ctx.shutdowns == []  # type: ignore[attr-defined]
    session.set_state("listening")  # the closing played out
    assert await _hung_up(runtime)


async def test_without_a_prerendered_goodbye_the_model_is_asked_for_one() -> None:
    session = FakeEndingSession("thinking")
    runtime = ending_runtime(session, goodbye_frames=[])
    assert await CallEnding(runtime).end_call("caller_request") is False
    assert session.said == []
    # the hang-up waits for the model's goodbye to start and end
    session.set_state("speaking")
    await asyncio.sleep(0.05)
    assert runtime.ctx.shutdowns == []  # type: ignore[attr-defined]
    session.set_state("listening")
    assert await _hung_up(runtime)
