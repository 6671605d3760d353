"""What a simulated caller heard and when: stretches of agent speech, its own turns, and the
call's timestamps (`time.monotonic()` in the caller's process)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AgentSpeechSegment:
    started_at: float
    ended_at: float | None = None
    speaker: str = ""  # the agent participant's identity
    track: str = ""  # the name of the agent's track it came from


@dataclass
class CallerTurnResult:
    index: int
    text: str
    speech_started_at: float
    speech_ended_at: float
    barged_in: bool
    agent_reply_started_at: float | None = None
    # the reply's first sound (its first word's quiet onset), at or before agent_reply_started_at
    agent_reply_sound_at: float | None = None
    agent_stopped_at: float | None = None


@dataclass
class CallerReport:
    agent_subscribed_at: float | None = None
    agent_track_subscribed_at: float | None = None
    first_agent_audio_at: float | None = None
    # the first agent sound over ONSET_RMS, before any loud frame
    first_agent_sound_at: float | None = None
    # where each stretch of agent sound (over ONSET_RMS, after SEGMENT_GAP_S without) began
    sound_onsets: list[float] = field(default_factory=list)
    turns: list[CallerTurnResult] = field(default_factory=list)
    segments: list[AgentSpeechSegment] = field(default_factory=list)
    # seconds of agent audio above the speech threshold: what a pause or a skip leaves out
    agent_audio_heard_s: float = 0.0
    transcript: list[tuple[str, str]] = field(default_factory=list)
    hung_up_at: float | None = None
    # the agent hung up on us (the room went away), after a `wait_for_hangup` line
    disconnected_at: float | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def greeting_ms(self) -> float | None:
        return self._since_subscribed(self.first_agent_audio_at)

    @property
    def greeting_onset_ms(self) -> float | None:
        """As `greeting_ms`, to the first agent sound rather than the first loud frame."""
        return self._since_subscribed(self.first_agent_sound_at)

    def _since_subscribed(self, heard_at: float | None) -> float | None:
        start = self.agent_subscribed_at or self.agent_track_subscribed_at
        if start is None or heard_at is None:
            return None
        return (heard_at - start) * 1000
