"""How the playbook bounds a call (length, idle hang-up) and hands it to a person."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from tools.playbook_types import PlaybookModel, Text


class CallLimits(PlaybookModel):
    max_call_seconds: int = Field(ge=60, le=7200)
    wrap_up_warning_seconds: int = Field(ge=10, le=600)  # lead time before max_call_seconds
    idle_hangup_seconds: int = Field(ge=5, le=300)
    wrap_up_say: Text = "We're nearly out of time, so let me make sure I have what I need."
    idle_prompt: Text = "Are you still there?"  # said once before an idle hang-up
    goodbye: Text = "Thanks for calling. Goodbye!"

    @model_validator(mode="after")
    def _warning_fits(self) -> CallLimits:
        if self.wrap_up_warning_seconds >= self.max_call_seconds:
            raise ValueError("wrap_up_warning_seconds must be less than max_call_seconds")
        return self


class TransferSettings(PlaybookModel):
    """How a call is handed to a person at `transfer_number`."""

    # warm: the caller holds while the agent dials the person, briefs them, then connects them;
    # cold: a SIP REFER hands the caller's line over at once (no briefing, no way back)
    mode: Literal["warm", "cold"] = "warm"
    answer_timeout_seconds: int = Field(default=25, ge=5, le=120)
    # a supervisor signed in on the board gets this long to accept before any phone rings
    board_ring_seconds: int = Field(default=15, ge=3, le=120)
    hold_message: Text = "Please hold for a moment while I get someone on the line."
    # said to the caller when nobody answered; a callback is requested through the booking
    # backend right after
    no_answer_say: Text = ("I'm sorry, nobody from the team could pick up right now. I've asked "
                           "for someone to call you back as soon as possible.")
