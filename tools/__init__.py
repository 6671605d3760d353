"""Function tools for phone intake, and the playbook, checklist and guard they validate against."""

from __future__ import annotations

from tools.booking import BookingBackend, HttpBookingBackend, LocalBookingBackend
from tools.checklist import SlotChecklist
from tools.context import EscalationRequest, IntakeUserdata
from tools.escalation import EscalationGuard
from tools.guard_reply import on_caller_turn
from tools.intake_tools import INTAKE_TOOLS
from tools.playbook import Playbook, PlaybookError, load_playbook

__all__ = [
    "INTAKE_TOOLS",
    "BookingBackend",
    "EscalationGuard",
    "EscalationRequest",
    "HttpBookingBackend",
    "IntakeUserdata",
    "LocalBookingBackend",
    "Playbook",
    "PlaybookError",
    "SlotChecklist",
    "load_playbook",
    "on_caller_turn",
]
