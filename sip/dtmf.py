"""Keypad input from a phone caller: digits for a numeric field, and 0 for a person.

`DtmfCollector` is pure (no I/O, no clock): feed it each key from the room's `sip_dtmf_received`
event (`rtc.SipDTMF.digit`) and act on what `press` returns:

- digits accumulate into one entry; `#` submits it (`DigitsSubmitted`), `*` clears it (`Cleared`);
- `0` pressed when nothing has been typed yet means "give me a human" (`HumanRequested`); a 0 after
  other digits is an ordinary digit, so "10" or "2004" can be typed but an entry can't start with 0;
- anything else (A-D, repeats past `max_digits`, `#` with nothing typed) is ignored (None).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_DIGITS = 20
DIGITS = frozenset("0123456789")
HUMAN_KEY = "0"
SUBMIT_KEY = "#"
CLEAR_KEY = "*"


@dataclass(frozen=True)
class DigitsSubmitted:
    """The caller typed `digits` and pressed #."""

    digits: str


@dataclass(frozen=True)
class HumanRequested:
    """The caller pressed 0 before typing anything."""


@dataclass(frozen=True)
class Cleared:
    """The caller pressed * and the entry so far (`discarded`, possibly empty) was dropped."""

    discarded: str


DtmfAction = DigitsSubmitted | HumanRequested | Cleared


class DtmfCollector:
    """One caller's keypad entry in progress."""

    def __init__(self, max_digits: int = DEFAULT_MAX_DIGITS) -> None:
        if max_digits < 1:
            raise ValueError("max_digits must be at least 1")
        self.max_digits = max_digits
        self._buffer = ""

    @property
    def pending(self) -> str:
        """Digits typed since the last submit or clear."""
        return self._buffer

    def press(self, key: str) -> DtmfAction | None:
        """One key (as `rtc.SipDTMF.digit` gives it); returns what the caller asked for, if
        anything."""
        key = key.strip()
        if key == SUBMIT_KEY:
            if not self._buffer:
                return None
            digits, self._buffer = self._buffer, ""
            return DigitsSubmitted(digits)
        if key == CLEAR_KEY:
            discarded, self._buffer = self._buffer, ""
            return Cleared(discarded)
        if key == HUMAN_KEY and not self._buffer:
            return HumanRequested()
        if key in DIGITS and len(key) == 1 and len(self._buffer) < self.max_digits:
            self._buffer += key
        return None

    def reset(self) -> None:
        """Drop the entry in progress (for example when the agent moves to another field)."""
        self._buffer = ""
