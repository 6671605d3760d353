"""An urgent cue: someone who cannot look after themselves locked in, matched in word order
(tools/escalation.py asks it with the other urgent word-order cues when no urgent phrase
matched, and reads the words around it as it reads a phrase's: past, what-if):

- `someone_locked_in`: a lock the caller cannot get past ("locked in", "locked herself in",
  "locked out ... inside", "the door's locked") with a small child, an elderly person or
  someone fallen or unwell in the turn: "I'm locked out and my two year old is inside", "my
  gran's locked in and she's not well", "she's fallen inside and the door's locked"; not "I'm
  locked out, can you send a locksmith" nor "my son locked the shed".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

LOCKED_IN_RULE = "someone vulnerable locked in"

LOCKED = frozenset({"locked"})
# after "locked": "locked in", "locked herself in the bathroom", "locked out ... inside"
INSIDE = frozenset({"in", "inside"})
SELF = frozenset({"herself", "himself", "themselves", "themself", "itself"})
DOORS = frozenset({"door", "doors", "gate"})
# who cannot get out, or cannot wait: a small child, someone old, fallen or unwell
VULNERABLE = frozenset({
    "baby", "babys", "babies", "toddler", "toddlers", "infant", "newborn", "elderly", "frail",
    "grandmother", "grandmothers", "grandfather", "grandfathers", "gran", "grans", "nan",
    "nans", "grandma", "grandmas", "grandad", "grandads", "granny", "grannys", "fallen",
    "collapsed", "unconscious", "insulin", "unwell", "disabled", "dementia", "seizure"})
# "two year old", "3 year old": small children
YOUNG = frozenset({"one", "two", "three", "four", "five", "1", "2", "3", "4", "5"})
# "she's only two"
ONLY_AGE = frozenset({"two", "three", "four", "1", "2", "3", "4"})


def someone_locked_in(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of a lock keeping a vulnerable person in, or None."""
    del clauses  # the person and the lock are often told in different clauses
    if not LOCKED.intersection(tokens) or not _vulnerable(tokens):
        return None  # most turns have no lock: the cheap test first
    for index, word in enumerate(tokens):
        if word not in LOCKED:
            continue
        after = tokens[index + 1:index + 3]
        locked_in = bool(after) and (after[0] in INSIDE
                                     or (after[0] in SELF and after[1:] == ["in"]))
        locked_out = after[:1] == ["out"] and "inside" in tokens[index + 2:]
        door_locked = index > 0 and tokens[index - 1] in DOORS
        if locked_in or locked_out:
            return index, index + 1
        if door_locked:
            return index - 1, index
    return None


def _vulnerable(tokens: Sequence[str]) -> bool:
    if VULNERABLE.intersection(tokens):
        return True
    for index, word in enumerate(tokens):
        if word in YOUNG and tokens[index + 1:index + 3] in (["year", "old"], ["years", "old"]):
            return True
        if word == "only" and tokens[index + 1:index + 2] and tokens[index + 1] in ONLY_AGE:
            return True
    return any(word == "not" and after == "well" for word, after in pairwise(tokens))
