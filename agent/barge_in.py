"""Barge-in: pause first, decide after.

The caller's speech onset over the agent (local Silero VAD) pauses agent playout at once, before
the model is involved; an earlier cue (`agent.speech_onset`, a rise in energy Silero has not yet
called speech: a fricative "s") pauses it too, and playout resumes unless Silero confirms speech
within `ONSET_CONFIRM_S`. Then the sound is judged: longer than `BACKCHANNEL_MAX_S` it is an
interruption (the paused speech is interrupted, so the plugin cancels the response and truncates
the model's item at the playout position); shorter, its transcript decides: a backchannel
("mm-hm", "okay") or no transcript at all (a cough, a door) resumes playout where it paused, and
the reply the server makes to a backchannel is dropped; anything else interrupts.

livekit-agents' own false-interruption resume needs client-side turn detection and has no
transcript for a realtime model before the turn is committed; here the server keeps turn
detection, never cancels on speech itself (`interrupt_response` off) and this class decides.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

logger = logging.getLogger("intake.barge_in")

# caller speech over the agent longer than this is an interruption whatever it says (a drawn-out
# "mm-hm" runs 0.7 s; espeak's does)
BACKCHANNEL_MAX_S = 1.0
# after a short sound, how long its transcript may take (server VAD silence + transcription)
TRANSCRIPT_WAIT_S = 1.5
DEFAULT_BACKCHANNELS: tuple[str, ...] = (
    "mm-hm", "mhm", "mm", "hmm", "uh-huh", "uh huh", "yeah", "yes", "yep", "yup", "okay", "ok",
    "right", "sure", "got it", "i see", "alright", "all right", "uh", "um", "oh",
)

# the early cue's pause lasts at most this long without Silero hearing speech (it hears "Stop."
# about 140 ms after the cue)
ONSET_CONFIRM_S = 0.3
# this many unconfirmed cues in a row (a noisy line, a TV) turn the cue off for a while
UNCONFIRMED_CUES_BEFORE_MUTE = 2
CUE_MUTE_S = 20.0

Decision = Literal["interrupted", "resumed", "unconfirmed"]


class Interruptible(Protocol):
    """A speech the session plays (livekit's `SpeechHandle`)."""

    def interrupt(self, *, force: bool = False) -> object: ...


class Playout(Protocol):
    """The session's audio output (livekit's `AudioOutput`)."""

    def pause(self) -> None: ...

    def resume(self) -> None: ...


def _normalized(text: str) -> str:
    text = text.lower().replace("-", " ")
    return " ".join(re.sub(r"[^a-z' ]+", " ", text).split())


def is_backchannel(transcript: str, phrases: Iterable[str]) -> bool:
    """True when the transcript is only acknowledgement ("Mm-hm.", "Okay, okay.", "Yeah right").

    Phrases match whole words, so "okay so my address is" is not one."""
    words = _normalized(transcript)
    if not words:
        return True  # a sound the transcriber heard as nothing
    known = sorted({_normalized(p) for p in phrases if _normalized(p)}, key=len, reverse=True)
    rest = words
    while rest:
        for phrase in known:
            if rest == phrase or rest.startswith(phrase + " "):
                rest = rest[len(phrase):].strip()
                break
        else:
            return False
    return True


class BargeInController:
    """One call's barge-in decisions. Callbacks come from session events on the call's loop."""

    def __init__(self, playout: Callable[[], Playout | None], backchannels: Iterable[str], *,
                 on_decision: Callable[[Decision], None] | None = None,
                 backchannel_max_s: float = BACKCHANNEL_MAX_S,
                 vad_silence_s: float = 0.0,
                 transcript_wait_s: float = TRANSCRIPT_WAIT_S,
                 onset_confirm_s: float = ONSET_CONFIRM_S) -> None:
        self._playout = playout
        self._backchannels = tuple(backchannels)
        self._on_decision = on_decision
        self._backchannel_max_s = backchannel_max_s
        # the VAD reports the end of speech this long after it happened
        self._vad_silence_s = vad_silence_s
        self._transcript_wait_s = transcript_wait_s
        self._onset_confirm_s = onset_confirm_s
        self._paused: Interruptible | None = None
        self._confirmed = False  # Silero heard the speech that paused us (not only the cue)
        self._unconfirmed_cues = 0
        self._cue_muted_until = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._started_at = 0.0
        self._caller_speaking = False
        # replies the server made (or will make) to a backchannel, dropped when they come
        self._drop_next_reply = False
        self._held_replies: list[Interruptible] = []

    @property
    def deciding(self) -> bool:
        return self._paused is not None

    def caller_onset(self, speech: Interruptible | None) -> None:
        """The early cue: maybe speech, before Silero can tell. Pause, and wait for Silero."""
        if self._paused is not None or speech is None:
            return
        if asyncio.get_running_loop().time() < self._cue_muted_until:
            return
        if self._pause(speech, confirmed=False):
            self._arm(self._onset_confirm_s, self._unconfirmed)

    def caller_started(self, speech: Interruptible | None) -> None:
        """Local VAD: the caller started talking. `speech` is what the agent is playing."""
        self._caller_speaking = True
        self._drop_next_reply = False
        if self._paused is not None:
            if not self._confirmed:
                self._confirmed = True
                self._unconfirmed_cues = 0
            # talking again before we decided ("Sorry, ... can I stop you"): the speech is
            # timed from its first onset, so a pause inside it cannot make it a backchannel
            since_onset = asyncio.get_running_loop().time() - self._started_at
            self._arm(max(0.0, self._backchannel_max_s + self._vad_silence_s - since_onset),
                      self._interrupt)
            return
        if speech is not None and self._pause(speech, confirmed=True):
            # still speaking this long after the onset means the speech outlasted the maximum
            self._arm(self._backchannel_max_s + self._vad_silence_s, self._interrupt)

    def _pause(self, speech: Interruptible, *, confirmed: bool) -> bool:
        playout = self._playout()
        if playout is None:
            return False
        playout.pause()
        self._paused = speech
        self._confirmed = confirmed
        self._started_at = asyncio.get_running_loop().time()
        return True

    def caller_stopped(self) -> None:
        """Local VAD: the caller stopped talking (reported `vad_silence_s` late)."""
        self._caller_speaking = False
        if self._paused is None:
            return
        spoken = asyncio.get_running_loop().time() - self._vad_silence_s - self._started_at
        if spoken >= self._backchannel_max_s:
            self._interrupt()
            return
        # short: wait for what it was; no transcript in time means a noise
        self._arm(self._transcript_wait_s, self._resume)

    def caller_transcript(self, transcript: str) -> None:
        """The caller's final transcript of the sound that paused us."""
        if self._paused is None or not self._confirmed:
            return  # (a transcript during the cue's pause is of an earlier turn)
        if self._caller_speaking:
            return  # still talking: the duration decides
        if is_backchannel(transcript, self._backchannels):
            self._resume()
        else:
            self._interrupt()

    def reply_created(self, reply: Interruptible) -> None:
        """The server started a reply of its own (to the caller's latest turn)."""
        if self._drop_next_reply:
            self._drop_next_reply = False
            _interrupt(reply)
        elif self._paused is not None:
            self._held_replies.append(reply)

    def close(self) -> None:
        self._cancel_timer()
        self._paused = None
        self._held_replies.clear()

    def _arm(self, delay: float, then: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = asyncio.get_running_loop().call_later(delay, then)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _interrupt(self) -> None:
        paused = self._paused
        self.close()
        if paused is None:
            return
        # only the paused speech is cut, the reply to this turn plays next; playout stays
        # paused until the session has dropped the cut speech's audio and starts the next one
        _interrupt(paused)
        self._decided("interrupted")

    def _unconfirmed(self) -> None:
        """The cue was no speech Silero heard (a click, a breath, a car): play on."""
        paused = self._paused
        self.close()
        if paused is None:
            return
        self._unconfirmed_cues += 1
        if self._unconfirmed_cues >= UNCONFIRMED_CUES_BEFORE_MUTE:
            self._unconfirmed_cues = 0
            self._cue_muted_until = asyncio.get_running_loop().time() + CUE_MUTE_S
        playout = self._playout()
        if playout is not None:
            playout.resume()
        self._decided("unconfirmed")

    def _resume(self) -> None:
        paused, held = self._paused, list(self._held_replies)
        self.close()
        if paused is None:
            return
        for reply in held:
            _interrupt(reply)
        # a reply to the backchannel not made yet is dropped when it comes
        self._drop_next_reply = not held
        playout = self._playout()
        if playout is not None:
            playout.resume()
        self._decided("resumed")

    def _decided(self, decision: Decision) -> None:
        logger.debug("barge-in decided", extra={"decision": decision})
        if self._on_decision is not None:
            self._on_decision(decision)


def _interrupt(speech: Interruptible) -> None:
    # a speech that disallows interruptions (the handoff line) plays on
    with contextlib.suppress(RuntimeError):
        speech.interrupt()


def heard_prefix(text: str, played_s: float, generated_s: float) -> str:
    """The words of `text` the caller heard: cut where playout stopped, in proportion to the
    audio generated for it (speech runs at a near-even rate of words)."""
    words = text.split()
    if generated_s <= 0 or played_s >= generated_s:
        return text
    count = round(len(words) * max(played_s, 0.0) / generated_s)
    return " ".join(words[:count])


class PlayoutMeter:
    """How much audio the agent's current speech had, and where its playout was cut, so an
    interrupted turn is recorded as heard."""

    def __init__(self) -> None:
        self.generated_s = 0.0
        self.cut_at_s: float | None = None

    def segment_started(self) -> None:
        self.generated_s = 0.0
        self.cut_at_s = None

    def add(self, duration_s: float) -> None:
        self.generated_s += duration_s

    def playback_finished(self, position_s: float, interrupted: bool) -> None:
        self.cut_at_s = position_s if interrupted else None

    def heard(self, text: str) -> str:
        if self.cut_at_s is None:
            return text
        return heard_prefix(text, self.cut_at_s, self.generated_s)
