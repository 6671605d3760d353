"""An early cue of the caller's speech: a sudden rise in high-band energy over the line's noise.

Silero calls speech only once it hears a vowel: a line opening with "s", "f" or "sh" runs
100-160 ms before the stream starts speech (`intake bench vad`), and barge-in waits for that. The
energy of the first-differenced signal (a +6 dB/octave tilt, so the 2-4 kHz band where
fricatives live counts most) rising well over the tracked noise floor shows within 20 ms. The
cue only pauses the agent (`BargeInController.caller_onset`): Silero must confirm it soon, or
playout resumes where it paused.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

BLOCK_S = 0.01
# a block this far over the floor is loud; LOUD_BLOCKS loud blocks in a row are an onset
RISE_DB = 12.0
LOUD_BLOCKS = 2
# and never quieter than this (dBFS of the differenced signal, about 130 of int16): phone line
# hiss and digital silence stay under it
MIN_LEVEL_DB = -48.0
# the floor drops to a quieter block at once and rises this slowly, so speech does not lift it
# but a louder street does, within seconds
FLOOR_RISE_DB_PER_S = 3.0
# after an onset, this long near the floor before the next can fire
QUIET_BEFORE_NEXT_S = 0.1
SILENCE_DB = -100.0
# dB of int16 full scale, so levels are dBFS
FULL_SCALE_DB = 20.0 * math.log10(32768.0)


class OnsetDetector:
    """Fed every frame of one caller's audio (int16 mono at `rate`), in order."""

    def __init__(self, rate: int) -> None:
        self._block = max(1, int(rate * BLOCK_S))
        self._pending = np.empty(0, dtype=np.float32)
        self._last = 0.0  # the sample before the pending ones, so the difference has no seam
        self._floor_db: float | None = None
        self._floor_rise_db = FLOOR_RISE_DB_PER_S * BLOCK_S
        self._loud_run = 0
        self._quiet_needed = max(1, round(QUIET_BEFORE_NEXT_S / BLOCK_S))
        self._quiet_run = self._quiet_needed  # armed from the start

    def push(self, samples: npt.NDArray[np.int16]) -> bool:
        """True when an onset completes within these samples."""
        joined = np.concatenate((self._pending, samples.astype(np.float32)))
        whole = joined.size - joined.size % self._block
        self._pending = joined[whole:]
        if whole == 0:
            return False
        blocks = joined[:whole]
        differenced = np.diff(blocks, prepend=np.float32(self._last))
        self._last = float(blocks[-1])
        power = np.mean(np.square(differenced.reshape(-1, self._block)), axis=1)
        onset = False
        for block_power in power.tolist():
            onset = self._block_level(_level_db(block_power)) or onset
        return onset

    def _block_level(self, level: float) -> bool:
        floor = self._floor_db
        if floor is None or level < floor:
            self._floor_db = floor = level
        else:
            self._floor_db = floor = floor + min(level - floor, self._floor_rise_db)
        if level >= max(floor + RISE_DB, MIN_LEVEL_DB):
            self._loud_run += 1
            if self._loud_run == LOUD_BLOCKS and self._quiet_run >= self._quiet_needed:
                self._quiet_run = 0
                return True
            return False
        self._loud_run = 0
        if level < max(floor + RISE_DB / 2, MIN_LEVEL_DB):
            self._quiet_run += 1
        return False


def _level_db(power: float) -> float:
    if power <= 0.0:
        return SILENCE_DB
    return max(SILENCE_DB, 10.0 * math.log10(power) - FULL_SCALE_DB)
