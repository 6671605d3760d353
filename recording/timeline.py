"""Two channels of call audio placed on one clock, taken out in blocks for the encoder.

Frames arrive from live streams stamped with their arrival time. Consecutive frames of one
source are laid end to end (arrival jitter must not open gaps); a frame that arrives far from
where its source's last one ended starts a new run at its own time. Several sources on one
channel (agent speech, a pre-rendered line, hold audio) are summed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CALLER = 0  # left
HEARD = 1  # right: what the caller heard from our side
RESYNC_TOLERANCE_S = 0.1


@dataclass
class _Run:
    next_sample: int


class StereoTimeline:
    def __init__(self, sample_rate: int = 48000) -> None:
        self.sample_rate = sample_rate
        self._placed: tuple[list[tuple[int, np.ndarray]], list[tuple[int, np.ndarray]]] = ([], [])
        self._runs: dict[object, _Run] = {}
        self.cursor = 0  # samples already taken
        self.dropped_samples = 0
        self.placed_until = 0

    def place(self, channel: int, source: object, pcm16: bytes, ended_at_s: float) -> None:
        """Mono PCM16 at the timeline's rate whose last sample arrived `ended_at_s` seconds
        after the timeline's start."""
        samples = np.frombuffer(pcm16, dtype="<i2")
        if samples.size == 0:
            return
        start = round(ended_at_s * self.sample_rate) - samples.size
        run = self._runs.get(source)
        tolerance = RESYNC_TOLERANCE_S * self.sample_rate
        if run is not None and abs(start - run.next_sample) <= tolerance:
            start = run.next_sample
        start = max(start, 0)
        self._runs[source] = _Run(start + samples.size)
        if start + samples.size <= self.cursor:
            self.dropped_samples += samples.size
            return
        if start < self.cursor:  # partly late: keep what is still ahead of the cursor
            self.dropped_samples += self.cursor - start
            samples = samples[self.cursor - start:]
            start = self.cursor
        self._placed[channel].append((start, samples))
        self.placed_until = max(self.placed_until, start + samples.size)

    def forget(self, source: object) -> None:
        self._runs.pop(source, None)

    def take(self, end: int) -> np.ndarray:
        """Planar float32 stereo over [cursor, end), silent where nothing was placed."""
        end = max(end, self.cursor)
        block = np.zeros((2, end - self.cursor), dtype=np.float32)
        for channel in (CALLER, HEARD):
            keep: list[tuple[int, np.ndarray]] = []
            for pos, samples in self._placed[channel]:
                stop = pos + samples.size
                if pos >= end:
                    keep.append((pos, samples))
                    continue
                lo, hi = max(pos, self.cursor), min(stop, end)
                if hi > lo:
                    block[channel, lo - self.cursor: hi - self.cursor] += (
                        samples[lo - pos: hi - pos].astype(np.float32) / 32768.0)
                if stop > end:
                    keep.append((end, samples[end - pos:]))
            self._placed[channel][:] = keep
        np.clip(block, -1.0, 1.0, out=block)
        self.cursor = end
        return block
