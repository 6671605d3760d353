"""The intake Agent: objective-first instructions, the intake tools, a pre-rendered greeting."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from typing import cast

from livekit import rtc
from livekit.agents import Agent, ModelSettings, llm

from agent.barge_in import PlayoutMeter
from agent.instructions import build_instructions, checklist_status_message
from agent.supervision_prompts import supervisor_section
from tools import INTAKE_TOOLS
from tools.checklist import SlotChecklist
from tools.playbook import Playbook

logger = logging.getLogger("intake.agent")


class IntakeAgent(Agent):
    def __init__(
        self,
        *,
        playbook: Playbook,
        checklist: SlotChecklist,
        greeting_text: str | None,
        greeting_frames: Sequence[rtc.AudioFrame],
        resume_line: str | None = None,
        resume_frames: Sequence[rtc.AudioFrame] | None = None,
        chat_ctx: llm.ChatContext | None = None,
    ) -> None:
        super().__init__(
            instructions=build_instructions(playbook, checklist),
            tools=cast(list[llm.Tool | llm.Toolset], list(INTAKE_TOOLS)),
            chat_ctx=chat_ctx,
        )
        self._resume_frames = list(resume_frames or [])
        self._playbook = playbook
        self._checklist = checklist
        self._greeting_text = greeting_text
        self._greeting_frames = list(greeting_frames)
        self._resume_line = resume_line
        self.playout_meter = PlayoutMeter()
        # guidance and hand-back notes from a supervisor, kept after the playbook's rules
        self._supervisor_notes: list[str] = []

    async def _frames(self, frames: Sequence[rtc.AudioFrame]) -> AsyncIterator[rtc.AudioFrame]:
        self.playout_meter.segment_started()
        for frame in frames:
            self.playout_meter.add(frame.duration)
            yield frame

    async def realtime_audio_output_node(
        self, audio: AsyncIterable[rtc.AudioFrame], model_settings: ModelSettings
    ) -> AsyncIterator[rtc.AudioFrame]:
        # the model's audio passes through unchanged; its length is what a cut is measured on
        self.playout_meter.segment_started()
        async for frame in audio:
            self.playout_meter.add(frame.duration)
            yield frame

    async def on_enter(self) -> None:
        # the call session greets once the caller's audio is subscribed (see `greet`)
        return None

    def greet(self) -> None:
        """Speak the pre-rendered opening (or, for a replacement agent, the resume line)."""
        if self._resume_line is not None:
            # a replacement agent: no second greeting, pick up where the call was
            self.session.say(self._resume_line, audio=self._frames(self._resume_frames))
            return
        if self._greeting_text:
            self.session.say(self._greeting_text, audio=self._frames(self._greeting_frames))

    async def refresh_checklist(self) -> None:
        """Tell the model what is still missing; called after every tool call and turn."""
        instructions = build_instructions(self._playbook, self._checklist)
        status = checklist_status_message(self._checklist)
        text = f"{instructions}\n\n{status}"
        if self._supervisor_notes:
            text = f"{text}\n\n{supervisor_section(self._supervisor_notes)}"
        if text == self.instructions:
            # a turn that changed nothing: livekit-agents would still send the whole text in a
            # `session.update` and keep another copy of it in the chat context, every turn
            return
        await self.update_instructions(text)

    async def add_supervisor_note(self, note: str) -> None:
        """A supervisor's whisper or hand-back note: in the instructions from now on."""
        self._supervisor_notes.append(note)
        await self.refresh_checklist()
