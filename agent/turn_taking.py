"""How long the caller's silence must last before their turn ends, chosen by what the agent
just asked.

One fixed window is wrong both ways on a phone line. A caller confirming a read-back says
"yes, that's right" and stops; every millisecond of window after that is dead air. A caller
dictating a number or an address stops between digit groups and while recalling ("it's, um...
forty-two Elm"); a window shorter than those pauses answers half a line. So the server-VAD
silence window follows the agent's last line: short after a read-back, long after a request
for digits, an address or a date, the default otherwise (any other yes/no question too: its
answer may be two sentences). The choice is a few regexes
over the agent's own words, deterministic and cheap, and it works the same with the real
Realtime API and the local simulator (both end a turn after `silence_duration_ms`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Literal

from openai.types.realtime.realtime_audio_input_turn_detection import ServerVad

logger = logging.getLogger("intake.call")

ExpectedAnswer = Literal["confirmation", "open", "dictation"]

# silence that ends the caller's turn, by the answer the agent's last line asks for
TURN_SILENCE_MS: dict[ExpectedAnswer, int] = {
    # a read-back's "yes" / "no, it's ...": short answers, said without planning
    "confirmation": 300,
    # the API's default: a description, a reason, a name
    "open": 500,
    # digit groups and recalled addresses or dates: callers pause 400-700 ms between groups,
    # and a word's quiet edges ("f", "s") add about 100 ms more to what a VAD hears as silence
    "dictation": 1000,
}
DEFAULT_ANSWER: ExpectedAnswer = "open"

# asking for something the caller reads out or recalls piece by piece
_ASKS = re.compile(
    r"\b(what|what's|which|where|when|may i have|can i have|could i (have|get)|"
    r"(can|could|would) you (give|tell|spell|read)|tell me|give me|read me|spell)\b",
    re.IGNORECASE)
_DICTATED = re.compile(
    r"\b(phone|number|digits|address|street|zip|postcode|postal code|e-?mail|date|day|"
    r"spell|spelling|reach you)\b", re.IGNORECASE)
_WHEN_NEEDED = re.compile(r"\b(when do you need|by when)\b", re.IGNORECASE)
# asking the caller to confirm what the agent read back
_READ_BACK = re.compile(
    r"\b(is that|was that|did i get|have i got|does that|would that)\b"
    r"|\b(right|correct)\s*\?\s*$", re.IGNORECASE)
_SPOKEN_DIGIT = re.compile(r"\b(zero|oh|one|two|three|four|five|six|seven|eight|nine|\d)\b",
                           re.IGNORECASE)
READ_BACK_MIN_DIGITS = 4
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def expected_answer(agent_line: str) -> ExpectedAnswer:
    """What the caller is about to say, judged from the last sentence of the agent's line."""
    sentences = [s for s in _SENTENCE_END.split(agent_line.strip()) if s]
    if not sentences:
        return DEFAULT_ANSWER
    last = sentences[-1].strip()
    asks_for_dictation = bool(
        (_ASKS.search(last) and _DICTATED.search(last)) or _WHEN_NEEDED.search(last))
    if not last.endswith("?"):
        # "please tell me your address." asks as much as a question does
        return "dictation" if asks_for_dictation else DEFAULT_ANSWER
    # a read-back ("five one two, five five five, zero one four two?") asks for a yes or a
    # correction, even when it names a number or a date
    if _READ_BACK.search(last) or len(_SPOKEN_DIGIT.findall(last)) >= READ_BACK_MIN_DIGITS:
        return "confirmation"
    # other yes/no questions keep the default: "anything else?" draws "No, that's all. Thanks,
    # goodbye.", whose full stop is a 300 ms pause (the latency benchmark's caller was answered
    # after "No, that's all." under the short window)
    return "dictation" if asks_for_dictation else DEFAULT_ANSWER


def server_vad(*, silence_ms: int, answering: bool) -> ServerVad:
    """The server ends the caller's turn after `silence_ms`. `answering=False` (a supervisor
    has the call): the model still hears and transcribes, but neither answers nor cancels."""
    return ServerVad(
        type="server_vad", threshold=0.5, prefix_padding_ms=300,
        silence_duration_ms=silence_ms, create_response=answering,
        # never: barge-in is ours (agent.barge_in), a backchannel must not cancel the reply
        interrupt_response=False,
    )


class TurnTaking:
    """The call's turn detection: who answers, and the silence window for the next turn.

    `apply` sends the settings to the model (the plugin's `update_options`, a `session.update`);
    it is only called when they change. `fixed_silence_ms` (INTAKE_TURN_SILENCE_MS) turns the
    adaptive window off.
    """

    def __init__(self, apply: Callable[[ServerVad], None], *,
                 fixed_silence_ms: int | None = None) -> None:
        self._apply = apply
        self._fixed = fixed_silence_ms
        self.answering = True
        self.expecting: ExpectedAnswer = DEFAULT_ANSWER

    @property
    def silence_ms(self) -> int:
        return self._fixed if self._fixed is not None else TURN_SILENCE_MS[self.expecting]

    def detection(self) -> ServerVad:
        return server_vad(silence_ms=self.silence_ms, answering=self.answering)

    def after_agent_line(self, text: str) -> None:
        """The agent finished a line: size the window for the caller's answer to it."""
        expecting = expected_answer(text)
        if expecting == self.expecting:
            return
        before = self.silence_ms
        self.expecting = expecting
        if self.silence_ms != before:
            logger.debug("turn window", extra={"expecting": expecting,
                                               "silence_ms": self.silence_ms})
            self._apply(self.detection())

    def set_answering(self, answering: bool) -> None:
        if answering != self.answering:
            self.answering = answering
            self._apply(self.detection())
