"""Keypad presses as RFC 4733 telephone-events, in a pcap file that sipp plays into a call.

sipp 3.6.1 has `<exec play_dtmf="...">`, but what it sends strays from RFC 4733 (seen on the
wire): the payload type is fixed at 96, 400 ms of payload-type-97 filler comes first, the
reserved bit is left uninitialised (set in some packets), timestamps count milliseconds instead of
8 kHz samples, and every play_dtmf starts again at the same timestamp, so a second play in one
call can repeat the previous event's timestamp (livekit-sip drops such an event as a repeat).
So `write_keys_pcap` builds the packets here and uac_dtmf.xml sends them with
`<exec play_pcap_audio="...">`: sipp keeps each packet's UDP payload and spacing and rewrites
only addresses and ports (3.6.1 sends them from a raw socket with source port 0; livekit-sip
takes RTP from any source).

Per key, as RFC 4733 section 2.5 describes a sender: one RTP timestamp (the tone's start) for all
its packets, the marker bit on the first, an update every `packet_ms` whose duration field grows
by one packet, and the last update (the end bit set, the full duration) sent three times. A
`gap_ms` pause separates tones; each tone has its own timestamp, which is how a receiver tells
two presses of the same key apart.
"""

from __future__ import annotations

import random
import struct
from dataclasses import dataclass
from pathlib import Path

# event codes of RFC 4733 section 3.2
EVENT_CODES = {**{str(d): d for d in range(10)}, "*": 10, "#": 11,
               "A": 12, "B": 13, "C": 14, "D": 15}
TELEPHONE_EVENT_PAYLOAD_TYPE = 101  # the dynamic type uac_dtmf.xml's offer names
CLOCK_RATE = 8000
END_REPEATS = 3

_PCAP_HEADER = struct.Struct("<IHHiIII")
_PCAP_RECORD = struct.Struct("<IIII")
_PCAP_MAGIC = 0xA1B2C3D4
_LINKTYPE_ETHERNET = 1
_ETHERTYPE_IPV4 = 0x0800
_IP_PROTO_UDP = 17
_RTP_HEADER = struct.Struct("!BBHII")
_EVENT = struct.Struct("!BBH")
# placeholders: sipp replaces the addresses and ports with the call's
_SRC = (bytes([127, 0, 0, 1]), 6000)
_DST = (bytes([127, 0, 0, 1]), 6000)


@dataclass(frozen=True)
class EventPacket:
    """One RTP packet of a telephone-event, `at` seconds after the first."""

    at: float
    key: str
    marker: bool
    end: bool
    duration: int  # in 8 kHz timestamp units, since the tone began
    sequence: int
    timestamp: int
    rtp: bytes


def telephone_events(keys: str, *, payload_type: int = TELEPHONE_EVENT_PAYLOAD_TYPE,
                     tone_ms: int = 100, gap_ms: int = 150, packet_ms: int = 20,
                     volume: int = 10, ssrc: int | None = None, first_sequence: int | None = None,
                     first_timestamp: int | None = None) -> list[EventPacket]:
    """The RTP packets for pressing `keys` (0-9, *, #, A-D) one after another."""
    if not keys:
        raise ValueError("no keys to press")
    unknown = sorted(set(keys) - EVENT_CODES.keys())
    if unknown:
        raise ValueError(f"not keypad keys: {''.join(unknown)}")
    if packet_ms <= 0 or tone_ms < packet_ms or gap_ms < END_REPEATS * packet_ms:
        # the end packet's repeats go out after the tone, before the next one starts
        raise ValueError("need 0 < packet_ms <= tone_ms and gap_ms >= 3 * packet_ms")
    if not 0 <= volume <= 63 or not 96 <= payload_type <= 127:
        raise ValueError("volume must be 0-63 and payload_type a dynamic type (96-127)")
    rng = random.SystemRandom()
    ssrc = rng.getrandbits(32) if ssrc is None else ssrc
    sequence = rng.getrandbits(16) if first_sequence is None else first_sequence
    # random starting points, as RFC 3550 asks; 30 bits keep the timestamps clear of wrapping
    base = rng.getrandbits(30) if first_timestamp is None else first_timestamp
    per_packet = CLOCK_RATE * packet_ms // 1000
    updates = tone_ms // packet_ms
    packets: list[EventPacket] = []
    for index, key in enumerate(keys):
        start_ms = index * (tone_ms + gap_ms)
        timestamp = (base + start_ms * CLOCK_RATE // 1000) & 0xFFFFFFFF
        sends = [(False, per_packet * (i + 1)) for i in range(updates)]
        # the last update is the end packet, sent three times in all
        sends[-1] = (True, sends[-1][1])
        sends += [sends[-1]] * (END_REPEATS - 1)
        for i, (end, duration) in enumerate(sends):
            marker = i == 0
            header = _RTP_HEADER.pack(0x80, (0x80 if marker else 0) | payload_type,
                                      sequence, timestamp, ssrc)
            body = _EVENT.pack(EVENT_CODES[key], (0x80 if end else 0) | volume,
                               min(duration, 0xFFFF))
            packets.append(EventPacket(at=(start_ms + i * packet_ms) / 1000, key=key,
                                       marker=marker, end=end, duration=duration,
                                       sequence=sequence, timestamp=timestamp,
                                       rtp=header + body))
            sequence = (sequence + 1) & 0xFFFF
    return packets


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(payload: bytes) -> bytes:
    """Ethernet + IPv4 + UDP around an RTP packet (sipp reads the UDP part)."""
    udp = struct.pack("!HHHH", _SRC[1], _DST[1], 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, _IP_PROTO_UDP, 0,
                     _SRC[0], _DST[0])
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = bytes(6) + bytes(6) + struct.pack("!H", _ETHERTYPE_IPV4)
    return ethernet + ip + udp


def write_pcap(path: Path, packets: list[EventPacket]) -> Path:
    """A classic (libpcap 2.4) capture of `packets`, timed by their `at`."""
    out = bytearray(_PCAP_HEADER.pack(_PCAP_MAGIC, 2, 4, 0, 0, 65535, _LINKTYPE_ETHERNET))
    for packet in packets:
        frame = _frame(packet.rtp)
        micros = round(packet.at * 1_000_000)
        out += _PCAP_RECORD.pack(micros // 1_000_000, micros % 1_000_000, len(frame), len(frame))
        out += frame
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(out))
    return path


def write_keys_pcap(path: Path, keys: str, **options: int) -> list[EventPacket]:
    """Write the pcap for pressing `keys` to `path`; returns its packets (see
    `telephone_events` for the options)."""
    packets = telephone_events(keys, **options)
    write_pcap(path, packets)
    return packets
