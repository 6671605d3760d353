"""Cold transfer against a fake LiveKit API: which participant, which request, what is logged."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from livekit import api, rtc

from sip.transfer import cold_transfer, refer_target, sip_participant
from tools.context import EscalationRequest

pytestmark = pytest.mark.unit

CALLER = "+15550170042"
HUMAN = "+15550190007"


@dataclass
class FakeSip:
    """Stands in for `LiveKitAPI.sip`: records requests, returns or raises what it is given."""

    outcome: Any = field(default_factory=api.TransferSIPParticipantResponse)
    requests: list[tuple[api.TransferSIPParticipantRequest, float | None]] = field(
        default_factory=list)

    async def transfer_sip_participant(self, request: api.TransferSIPParticipantRequest, *,
                                       timeout: float | None = None,
                                       ) -> api.TransferSIPParticipantResponse:
        self.requests.append((request, timeout))
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        assert isinstance(self.outcome, api.TransferSIPParticipantResponse)
        return self.outcome


def _participant(identity: str, kind: int) -> SimpleNamespace:
    return SimpleNamespace(identity=identity, kind=kind, attributes={})


def _ctx(*participants: SimpleNamespace, sip: FakeSip | None = None) -> Any:
    room = SimpleNamespace(name="call-abc123",
                           remote_participants={p.identity: p for p in participants})
    return SimpleNamespace(room=room, api=SimpleNamespace(sip=sip or FakeSip()))


def _request(number: str = HUMAN) -> EscalationRequest:
    return EscalationRequest(category="pricing", action="transfer", transfer_number=number,
                             source="tool", say="Let me connect you with our team.")


SIP = rtc.ParticipantKind.PARTICIPANT_KIND_SIP
STANDARD = rtc.ParticipantKind.PARTICIPANT_KIND_STANDARD
AGENT = rtc.ParticipantKind.PARTICIPANT_KIND_AGENT


def _no_numbers(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert CALLER not in text and HUMAN not in text and "sip_" not in text


async def test_refers_the_sip_participant_to_the_transfer_number(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeSip()
    ctx = _ctx(_participant("supervisor-1", STANDARD), _participant(f"sip_{CALLER}", SIP),
               _participant("agent-xyz", AGENT), sip=fake)
    with caplog.at_level(logging.INFO, logger="intake.sip.transfer"):
        assert await cold_transfer(ctx.room, ctx.api, _request()) is True
    [(request, timeout)] = fake.requests
    assert request.room_name == "call-abc123"
    assert request.participant_identity == f"sip_{CALLER}"
    assert request.transfer_to == f"tel:{HUMAN}"
    assert request.play_dialtone is False
    assert timeout is not None and timeout > 0
    assert [r.getMessage() for r in caplog.records] == ["cold transfer completed"]
    assert caplog.records[0].category == "pricing"  # type: ignore[attr-defined]
    _no_numbers(caplog)


async def test_without_a_sip_participant_nothing_is_sent(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeSip()
    ctx = _ctx(_participant("caller", STANDARD), sip=fake)
    with caplog.at_level(logging.INFO, logger="intake.sip.transfer"):
        assert await cold_transfer(ctx.room, ctx.api, _request()) is False
    assert fake.requests == []
    assert [r.getMessage() for r in caplog.records] == [
        "cold transfer skipped: no SIP participant in the room"]


async def test_without_a_transfer_number_nothing_is_sent() -> None:
    fake = FakeSip()
    ctx = _ctx(_participant("sip_x", SIP), sip=fake)
    assert await cold_transfer(ctx.room, ctx.api, _request("  ")) is False
    assert fake.requests == []


@pytest.mark.parametrize("error", [
    api.TwirpError("failed_precondition", f"can't transfer to tel:{HUMAN}", status=412),
    api.SipCallError("unavailable", f"call transfer failed: 486 Busy Here for tel:{HUMAN}",
                     status=503, metadata={"sip_status_code": "486"}),
    aiohttp.ClientConnectionError(f"cannot reach tel:{HUMAN}"),
    TimeoutError(),
], ids=["twirp", "sip-status", "unreachable", "timeout"])
async def test_a_failed_transfer_returns_false_and_logs_no_numbers(
        error: BaseException, caplog: pytest.LogCaptureFixture) -> None:
    ctx = _ctx(_participant(f"sip_{CALLER}", SIP), sip=FakeSip(outcome=error))
    with caplog.at_level(logging.INFO, logger="intake.sip.transfer"):
        assert await cold_transfer(ctx.room, ctx.api, _request()) is False
    assert len(caplog.records) == 1 and caplog.records[0].levelno == logging.WARNING
    assert caplog.records[0].getMessage().startswith("cold transfer ")
    _no_numbers(caplog)


async def test_a_transfer_the_server_reports_failed_returns_false() -> None:
    failed = api.TransferSIPParticipantResponse(
        status=api.SIPTransferStatus.STS_TRANSFER_FAILED)
    ctx = _ctx(_participant("sip_x", SIP), sip=FakeSip(outcome=failed))
    assert await cold_transfer(ctx.room, ctx.api, _request()) is False


async def test_an_unexpected_error_propagates() -> None:
    # the session's TransferFn caller logs and falls back to a callback on any exception
    ctx = _ctx(_participant("sip_x", SIP), sip=FakeSip(outcome=RuntimeError("bug")))
    with pytest.raises(RuntimeError):
        await cold_transfer(ctx.room, ctx.api, _request())


def test_refer_target() -> None:
    assert refer_target(" +15550190007 ") == "tel:+15550190007"
    assert refer_target("sip:desk@pbx.example.com") == "sip:desk@pbx.example.com"
    assert refer_target("tel:+15550190007") == "tel:+15550190007"


def test_sip_participant_is_the_first_sip_participant() -> None:
    room: Any = SimpleNamespace(remote_participants={
        "a": _participant("a", STANDARD), "b": _participant("b", SIP),
        "c": _participant("c", SIP)})
    found = sip_participant(room)
    assert found is not None and found.identity == "b"
    assert sip_participant(SimpleNamespace(remote_participants={})) is None  # type: ignore[arg-type]
