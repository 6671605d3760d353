"""A phone that our side dials, played by sipp: the person a call is transferred to, or a lead.

`SippPhone` listens on `port` (the outbound trunk's address in tests) for one INVITE. With
`ANSWERS` it rings for `ring_ms`, answers, says `audio_text` once and stays on the line until the
other side hangs up; with `NEVER_ANSWERS` it rings until the caller gives up (CANCEL). As with
`SippCall`, give `rtp_sink_port` to hear what is said to this phone.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from testbed.sipp import SCENARIO_DIR, SippCall, _tool, synthesize_ulaw

ANSWERS = SCENARIO_DIR / "uas_answer.xml"
NEVER_ANSWERS = SCENARIO_DIR / "uas_no_answer.xml"
ANSWER_AUDIO_FILE = "answer.ulaw"


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class SippPhone(SippCall):
    """sipp waiting for one call on `port`; `hold_ms` is how long it rings before answering."""

    target: str = ""
    called_number: str = ""
    caller_number: str = ""
    port: int = 0
    scenario: Path = ANSWERS
    hold_ms: int = 500
    audio_text: str = "Hi, this is Dana from the service team."
    audio_lead_s: float = 0.3

    def argv(self) -> list[str]:
        if not self.port:
            raise ValueError("SippPhone needs the UDP port it answers on")
        return [
            _tool("sipp"),
            "-sf", str(self.scenario),
            "-key", "sdp_audio_port", str(self.sdp_audio_port),
            "-m", "1", "-l", "1",
            "-d", str(self.hold_ms),
            "-i", self.local_ip, "-mi", self.local_ip, "-p", str(self.port),
            *(["-mp", str(self.media_port)] if self.media_port else []),
            "-timeout", f"{self.timeout_s}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self.messages_path),
            "-trace_err", "-error_file", str(self.errors_path),
            "-nostdin",
        ]

    def prepare_audio(self) -> None:
        audio = self.workdir / ANSWER_AUDIO_FILE
        if not audio.exists():
            # the scenario loops the file: by default the line is said once, then silence that
            # outlasts the call; a short `audio_trail_s` makes the person repeat it
            synthesize_ulaw(self.audio_text, audio, lead_s=self.audio_lead_s,
                            trail_s=self.audio_trail_s or self.timeout_s + 10)

    def answered(self) -> bool:
        """sipp sent its 200 OK to the INVITE."""
        return "SIP/2.0 200 OK" in self.messages() and bool(self.requests_received("ACK"))

    def hung_up_on(self) -> bool:
        """The other side ended the call: a BYE (answered) or a CANCEL (still ringing)."""
        return bool(self.requests_received("BYE") or self.requests_received("CANCEL"))


__all__ = ["ANSWERS", "NEVER_ANSWERS", "SippPhone", "free_udp_port"]
