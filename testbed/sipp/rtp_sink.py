"""Hear what the far end of a sipp call sends back: a UDP socket that decodes G.711 mu-law RTP.

sipp 3.6 cannot record the RTP it receives. Instead, the caller's SDP offer names this socket's
port (`SippCall(rtp_sink_port=sink.port)`), so livekit-sip, which sends to the address in the
offer, delivers the agent's audio here while sipp itself keeps streaming the caller's speech.
Each packet is decoded and scored; a packet louder than `voiced_rms` counts as speech.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

PCMU_PAYLOAD_TYPE = 0
_RTP_HEADER = struct.Struct("!BBHII")
# int16 RMS above which a 20 ms packet is speech rather than silence or line noise
DEFAULT_VOICED_RMS = 300.0


def _mulaw_table() -> npt.NDArray[np.int16]:
    """Linear 16-bit value of each of the 256 G.711 mu-law codes."""
    codes = np.arange(256, dtype=np.int32) ^ 0xFF  # code words are sent bit-inverted
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(codes & 0x80, -magnitude, magnitude).astype(np.int16)


MULAW_TO_LINEAR = _mulaw_table()


def decode_mulaw(payload: bytes) -> npt.NDArray[np.int16]:
    return MULAW_TO_LINEAR[np.frombuffer(payload, dtype=np.uint8)]


def rtp_payload(packet: bytes) -> tuple[int, bytes] | None:
    """(payload type, payload) of an RTP packet; None for anything that is not RTP v2."""
    if len(packet) < _RTP_HEADER.size:
        return None
    first, second, _seq, _ts, _ssrc = _RTP_HEADER.unpack_from(packet)
    if first >> 6 != 2:
        return None
    offset = _RTP_HEADER.size + 4 * (first & 0x0F)  # CSRC list
    if first & 0x10:  # header extension: 4-byte header, then `length` 32-bit words
        if len(packet) < offset + 4:
            return None
        (words,) = struct.unpack_from("!H", packet, offset + 2)
        offset += 4 + 4 * words
    end = len(packet)
    if first & 0x20 and end > offset:  # padding: the last byte says how much
        end -= packet[-1]
    if end < offset:
        return None
    return second & 0x7F, packet[offset:end]


@dataclass
class RtpStats:
    packets: int = 0
    pcmu_packets: int = 0
    voiced_packets: int = 0
    loudest_rms: float = 0.0
    # time.monotonic() of every voiced packet's arrival
    voiced_at: list[float] = field(default_factory=list)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, sink: RtpSink) -> None:
        self._sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str | bytes, int]) -> None:
        self._sink.feed(data, time.monotonic())


class RtpSink:
    """A loopback UDP port that scores incoming PCMU RTP; use as `async with RtpSink() as s`."""

    def __init__(self, host: str = "127.0.0.1", voiced_rms: float = DEFAULT_VOICED_RMS) -> None:
        self.host = host
        self.voiced_rms = voiced_rms
        self.stats = RtpStats()
        self._transport: asyncio.DatagramTransport | None = None
        self._voiced = asyncio.Event()

    @property
    def port(self) -> int:
        if self._transport is None:
            raise RuntimeError("RTP sink not started")
        return int(self._transport.get_extra_info("sockname")[1])

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.host, 0))

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    async def __aenter__(self) -> RtpSink:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def feed(self, packet: bytes, at: float) -> None:
        stats = self.stats
        stats.packets += 1
        parsed = rtp_payload(packet)
        if parsed is None or parsed[0] != PCMU_PAYLOAD_TYPE or not parsed[1]:
            return
        stats.pcmu_packets += 1
        samples = decode_mulaw(parsed[1]).astype(np.float64)
        rms = float(np.sqrt(np.mean(samples ** 2)))
        stats.loudest_rms = max(stats.loudest_rms, rms)
        if rms > self.voiced_rms:
            stats.voiced_packets += 1
            stats.voiced_at.append(at)
            self._voiced.set()

    async def wait_for_voice(self) -> None:
        """Return once any voiced packet has arrived (wrap in a timeout)."""
        await self._voiced.wait()

    def voiced_after(self, moment: float) -> int:
        """Voiced packets that arrived after `moment` (a time.monotonic() value)."""
        return sum(1 for at in self.stats.voiced_at if at > moment)
