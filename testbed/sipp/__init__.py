"""Place real SIP calls with sipp (Debian's sip-tester) for tests, demos and benchmarks.

`uac_ulaw.xml` is a caller: INVITE with a G.711 mu-law offer, RTP from synthesized speech once
answered, BYE after `hold_ms`. `SippCall` runs one such call as a child process in its own process
group and reads back the SIP messages sipp traced. sipp cannot record the audio it receives: give
`rtp_sink_port` (an `RtpSink`'s port, testbed.sipp.rtp_sink) and the offer asks the far end to send
its audio there instead.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from testbed.sipp.dtmf_pcap import write_keys_pcap

SCENARIO_DIR = Path(__file__).resolve().parent
CALLER_SCENARIO = SCENARIO_DIR / "uac_ulaw.xml"
# a caller who accepts a REFER (cold transfer), reports it done and hangs up
TRANSFEREE_SCENARIO = SCENARIO_DIR / "uac_refer.xml"
# a caller whose side refuses the REFER (603 Decline), then hangs up
TRANSFER_DECLINED_SCENARIO = SCENARIO_DIR / "uac_refer_decline.xml"
# a caller who presses keys (RFC 4733 telephone-events) and then copes with a REFER or a BYE
DTMF_CALLER_SCENARIO = SCENARIO_DIR / "uac_dtmf.xml"
# uac_dtmf.xml plays this pcap of telephone-events from sipp's working directory
KEYS_FILE_NAME = "keys.pcap"
# the scenario streams this file from sipp's working directory
AUDIO_FILE_NAME = "caller.ulaw"

# sipp's media port when -mp is not given
SIPP_DEFAULT_MEDIA_PORT = 6000

# sipp's message trace: a dashed line with a timestamp, "... message sent|received ...", the text
_TRACE_SEPARATOR = re.compile(r"^-{20,} .*$", re.MULTILINE)
_STATUS_LINE = re.compile(r"^SIP/2\.0 (\d{3})", re.MULTILINE)


class SippMissingError(RuntimeError):
    """sipp, espeak-ng or sox is not installed; run scripts/bootstrap."""


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SippMissingError(f"{name} not found; run scripts/bootstrap first")
    return path


def synthesize_ulaw(text: str, path: Path, *, lead_s: float = 0.0,
                    trail_s: float = 0.0) -> Path:
    """Speech for `text` as raw 8 kHz mono G.711 mu-law (espeak-ng, resampled by sox), with
    `lead_s` seconds of silence before it and `trail_s` after it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wav = path.with_suffix(".wav")
    subprocess.run([_tool("espeak-ng"), "-w", str(wav), text], check=True,
                   capture_output=True)
    pad = ["pad", f"{lead_s:g}", f"{trail_s:g}"] if lead_s > 0 or trail_s > 0 else []
    subprocess.run([_tool("sox"), str(wav), "-t", "raw", "-r", "8000", "-c", "1",
                    "-e", "mu-law", str(path), *pad], check=True, capture_output=True)
    wav.unlink(missing_ok=True)
    return path


@dataclass
class SippCall:
    """One outbound call from sipp to `target` ("host:port"), calling `called_number`."""

    target: str
    called_number: str
    caller_number: str
    local_ip: str = "127.0.0.1"
    hold_ms: int = 4000
    timeout_s: int = 30
    audio_text: str = "Hello, I am calling about a leaking pipe in my kitchen."
    # the scenario loops the audio file for the whole call: silence around the speech makes the
    # caller say it once (trailing silence longer than the hold) and keeps RTP flowing meanwhile
    audio_lead_s: float = 0.0
    audio_trail_s: float = 0.0
    # where the SDP offer asks the far end to send audio; 0: sipp's own media port
    rtp_sink_port: int = 0
    scenario: Path = CALLER_SCENARIO
    local_port: int = 0
    media_port: int = 0
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="intake-sipp-")))
    _process: subprocess.Popen[bytes] | None = None

    def argv(self) -> list[str]:
        return [
            _tool("sipp"), self.target,
            "-sf", str(self.scenario),
            "-s", self.called_number,
            "-key", "caller_number", self.caller_number,
            "-key", "sdp_audio_port", str(self.sdp_audio_port),
            "-m", "1", "-l", "1",
            "-d", str(self.hold_ms),
            "-i", self.local_ip, "-mi", self.local_ip,
            *(["-p", str(self.local_port)] if self.local_port else []),
            *(["-mp", str(self.media_port)] if self.media_port else []),
            "-timeout", f"{self.timeout_s}s", "-timeout_error",
            "-trace_msg", "-message_file", str(self.messages_path),
            "-trace_err", "-error_file", str(self.errors_path),
            "-nostdin",
        ]

    @property
    def sdp_audio_port(self) -> int:
        return self.rtp_sink_port or self.media_port or SIPP_DEFAULT_MEDIA_PORT

    @property
    def messages_path(self) -> Path:
        return self.workdir / "messages.log"

    @property
    def errors_path(self) -> Path:
        return self.workdir / "errors.log"

    def start(self) -> None:
        self.prepare_audio()
        self.spawn()

    def prepare_audio(self) -> None:
        """The file the scenario streams, in sipp's working directory."""
        audio = self.workdir / AUDIO_FILE_NAME
        if not audio.exists():
            synthesize_ulaw(self.audio_text, audio, lead_s=self.audio_lead_s,
                            trail_s=self.audio_trail_s)

    def spawn(self) -> None:
        log = (self.workdir / "sipp.out").open("wb")
        try:
            self._process = subprocess.Popen(
                self.argv(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()

    def wait(self, timeout: float) -> int:
        """sipp's exit code: 0 when the whole scenario (answer, audio, BYE) succeeded."""
        if self._process is None:
            raise RuntimeError("sipp call not started")
        return self._process.wait(timeout)

    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(5)

    def messages(self) -> str:
        try:
            return self.messages_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def requests_received(self, method: str) -> list[str]:
        """The SIP requests of `method` that sipp received, as traced text."""
        found = []
        for block in _TRACE_SEPARATOR.split(self.messages()):
            direction, _, message = block.strip().partition("\n")
            message = message.strip()
            if "message received" in direction and message.startswith(f"{method} "):
                found.append(message)
        return found

    def response_codes(self) -> list[int]:
        """Status codes of every SIP response sipp received or sent, in order."""
        return [int(code) for code in _STATUS_LINE.findall(self.messages())]


def write_silence_ulaw(path: Path, seconds: float) -> Path:
    """`seconds` of G.711 mu-law silence (code 0xFF), raw 8 kHz mono."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff" * max(160, round(seconds * 8000)))
    return path


@dataclass
class DtmfCall(SippCall):
    """A caller who presses `keys` on the keypad (uac_dtmf.xml): `hold_ms` after the answer,
    RFC 4733 telephone-events (payload type 101, testbed.sipp.dtmf_pcap) go to the far end's media
    address alongside the audio. Then it waits up to `after_keys_ms` for a REFER (accepted, as
    `TRANSFEREE_SCENARIO`) or the far end's BYE, and hangs up itself if neither comes.

    With `audio_text` empty the caller is silent: the audio stream carries silence only.
    """

    keys: str = "0"
    after_keys_ms: int = 30_000
    audio_text: str = ""
    scenario: Path = DTMF_CALLER_SCENARIO

    def argv(self) -> list[str]:
        # sipp 3.6 takes no -key value in a recv's timeout: the global receive timeout is the
        # wait after the keys (every other receive in the scenario sets its own)
        return [*super().argv(), "-recv_timeout", str(self.after_keys_ms)]

    def prepare_audio(self) -> None:
        write_keys_pcap(self.workdir / KEYS_FILE_NAME, self.keys)
        audio = self.workdir / AUDIO_FILE_NAME
        if not self.audio_text and not audio.exists():
            write_silence_ulaw(audio, max(self.audio_lead_s + self.audio_trail_s, 1.0))
        super().prepare_audio()
