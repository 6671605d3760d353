"""Detectors named in an urgent match: the device is not the hazard it detects, and one asking for
a battery, or to be put in, swapped or moved, is work to book (tools/escalation_context.py
reads these as stale), unless it is sounding or reading high now.
"""

from __future__ import annotations

from collections.abc import Sequence

# a detector asking for a battery is maintenance, not an alarm
MAINTENANCE_WORDS = frozenset({"battery", "batteries", "chirp", "chirps", "chirping",
                               "chirped", "chirpy", "expiry", "expired", "expires",
                               "expiration", "life", "date"})  # "out of date"
# the trigger's words and the one after it ("smoke" + "alarm")
DETECTOR_WORDS = frozenset({"alarm", "alarms", "detector", "detectors", "monitor", "monitors",
                            "sensor", "sensors"})
# hazards that also name a detector: "the smoke alarm" is no smoke, "the flood sensor" no flood
DETECTOR_NAMES = frozenset({"smoke", "fire", "flood"})
# a detector to be put in or swapped is work to book ("install a co detector") ...
FITTING_WORDS = frozenset({"install", "installed", "installing", "replace", "replaced",
                           "replacing", "add", "adding", "new", "old", "upgrade", "upgrading",
                           "inspect", "inspected", "hardwired", "hardwire", "mount", "put",
                           "more", "extra", "additional", "fitted", "fit", "fitting", "wired",
                           "check", "checked", "test", "tested", "testing", "move", "moving",
                           "asked"})
# ... unless it is sounding or reading high now
SOUNDING_WORDS = frozenset({"off", "going", "sounding", "blaring", "screaming", "ringing",
                            "reads", "reading", "says", "high", "levels"})


def names_a_detector(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """"Smoke", "fire" or "flood" in "the smoke alarm", "a fire detector", "the flood sensor":
    the device, not the hazard."""
    first, last = span
    return (first == last and tokens[first] in DETECTOR_NAMES and last + 1 < len(tokens)
            and tokens[last + 1] in DETECTOR_WORDS)


def detector_wants_battery(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """"The smoke alarm chirps", "the co detector needs a battery": maintenance."""
    return bool(DETECTOR_WORDS.intersection(tokens[span[0]:span[1] + 2])
                and MAINTENANCE_WORDS.intersection(tokens))


def detector_being_fitted(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """"Can you install a co detector", "the smoke alarm needs replacing": work to book."""
    return bool(DETECTOR_WORDS.intersection(tokens[span[0]:span[1] + 2])
                and FITTING_WORDS.intersection(tokens) and not SOUNDING_WORDS.intersection(tokens))
