"""What the agent knows about SIP call control: this Protocol and its errors, nothing else.

The worker's set-up (`agent.composition`) picks the implementation; on LiveKit that is
`sip.livekit_call_control.LiveKitSipCallControl`. Tests inject fakes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from livekit import rtc

DialFailure = Literal["no_answer", "busy", "rejected", "unreachable", "no_trunk"]


class DialError(Exception):
    """An expected dial failure; the message never carries the number, so it can be logged."""

    def __init__(self, reason: DialFailure, detail: str = "") -> None:
        super().__init__(f"dial failed: {reason}" + (f" ({detail})" if detail else ""))
        self.reason: DialFailure = reason


class MoveFailedError(Exception):
    """The server could not move a participant (open-source livekit-server: not implemented)."""

    def __init__(self, code: str) -> None:
        super().__init__(f"move failed: {code}")
        self.code = code


@dataclass(frozen=True)
class Answered:
    participant_identity: str
    room: str


class TransferRequest(Protocol):
    """What a transfer needs from an escalation (tools.context.EscalationRequest fits)."""

    @property
    def transfer_number(self) -> str: ...

    @property
    def category(self) -> str: ...


class SipCallControl(Protocol):
    """Dialing out and handing calls over, for one job."""

    async def outbound_trunk(self) -> str:
        """The outbound trunk's id. Raises DialError (no_trunk, unreachable)."""
        ...

    async def dial(self, *, room: str, number: str, trunk_id: str, identity: str,
                   ring_timeout_s: float, name: str = "",
                   attributes: dict[str, str] | None = None) -> Answered:
        """Call `number` into `room` and wait until answered. Raises DialError."""
        ...

    async def cold_transfer(self, room: rtc.Room, request: TransferRequest) -> bool:
        """REFER the room's SIP caller to the request's number; False when it did not go."""
        ...

    async def move_participant(self, *, room: str, identity: str, destination: str) -> None:
        """Move a participant into another room. Raises MoveFailedError."""
        ...


__all__ = ["Answered", "DialError", "DialFailure", "MoveFailedError", "SipCallControl",
           "TransferRequest"]
