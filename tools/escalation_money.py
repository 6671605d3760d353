"""Pricing words in another sense, and an urgent one asked a price for, set aside after a playbook
phrase matched (tools/escalation.py):

- `device_charging`: a device being charged ("sorry my phone needs a charge", "my mobility
  scooter charges in the hall", "my laptop's charging upstairs", "the last bloke charged his
  phone off our socket"); "what do you charge to fit a car charger" still asks a price.
- `how_much_to_do`: "how much" asking how far to do something ("how much do I turn the valve",
  "how much should I top the boiler pressure up to", "how much do I need to clear out of the
  cupboard", "how much do you need me there for"); "how much do I need to budget", "how much do
  I owe you" and "how much would I be looking at" still ask a price.
- `price_of_the_repair`: an urgent match that is the job a price is asked for ("how much to fix
  a leaking roof", "the price for flushing out a water heater"); the guard sets it aside only
  when nothing says it is happening now, so the pricing cue fires instead.
"""

from __future__ import annotations

from collections.abc import Sequence

CHARGE_WORDS = frozenset({"charge", "charges", "charged", "charging"})
DEVICES = frozenset({"phone", "phones", "mobile", "laptop", "laptops", "tablet", "tablets",
                     "ipad", "ipads", "scooter", "scooters", "battery", "batteries", "ebike",
                     "ebikes", "toothbrush", "torch", "drill", "drills", "wheelchair",
                     "wheelchairs"})
# between a device and its charge: "my phone needs a charge", "the laptop is charging"
DEVICE_BEFORE = frozenset({"needs", "need", "a", "is", "was", "its", "s", "on", "has", "wants"})
DEVICE_BEFORE_REACH = 3
# between a charge and the device: "charged his phone", "charging my laptop"
DEVICE_AFTER = frozenset({"his", "her", "my", "the", "their", "our", "up", "a"})
DEVICE_AFTER_REACH = 2

ASKERS = frozenset({"do", "does", "should", "can", "could", "would", "will"})
DOERS = frozenset({"i", "we"})
# verbs of money: "how much do I pay / owe / need to budget"
MONEY_VERBS = frozenset({"pay", "owe", "spend", "budget", "expect", "give", "charge", "save",
                         "allow", "set", "be", "get", "tip", "leave", "put", "transfer", "send",
                         "bring", "have", "want", "look", "looking", "borrow", "finance"})
NEED_VERBS = frozenset({"need", "have", "want"})
# "how much do you need me there for": the caller's time, not a fee
NEEDED_THERE = frozenset({"there", "here", "in", "for", "around", "home"})


def device_charging(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """A pricing "charge" that is a device being charged."""
    first, last = span
    if first != last or tokens[first] not in CHARGE_WORDS:
        return False
    for at in range(first - 1, max(-1, first - 1 - DEVICE_BEFORE_REACH), -1):
        if tokens[at] in DEVICES:
            return True
        if tokens[at] not in DEVICE_BEFORE:
            break
    for at in range(first + 1, min(len(tokens), first + 2 + DEVICE_AFTER_REACH)):
        if tokens[at] in DEVICES:
            return True
        if tokens[at] not in DEVICE_AFTER:
            break
    return False


def how_much_to_do(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """A "how much" asking how far to do something, not what it costs."""
    first, last = span
    if tokens[first:last + 1] != ["how", "much"]:
        return False
    asker, doer, verb = [*tokens[last + 1:last + 4], "", "", ""][:3]
    if asker not in ASKERS:
        return False
    if doer == "you" and verb == "need":
        return tokens[last + 4:last + 5] == ["me"] and tokens[last + 5:last + 6] != [] and (
            tokens[last + 5] in NEEDED_THERE)
    if doer not in DOERS or not verb or verb in MONEY_VERBS - NEED_VERBS:
        return False
    if verb in NEED_VERBS:
        if tokens[last + 4:last + 5] != ["to"]:
            return False
        verb = tokens[last + 5] if last + 5 < len(tokens) else ""
        return bool(verb) and verb not in MONEY_VERBS
    return True


# "how much to fix a leaking roof", "what's the price for flushing out a water heater": the
# urgent words are the job a price is asked for
REPAIR_VERBS = frozenset({"fix", "fixing", "repair", "repairing", "replace", "replacing", "mend",
                          "mending", "patch", "patching", "flush", "flushing", "sort", "sorting"})
PRICE_OPENERS = frozenset({"much", "price", "cost", "quote", "charge", "estimate"})
REPAIR_REACH = 4
PRICE_REACH = 4


def price_of_the_repair(tokens: Sequence[str], clauses: Sequence[int],
                        span: tuple[int, int]) -> bool:
    """An urgent match that is the job of a price question in its clause."""
    first = span[0]
    for at in range(first - 1, max(-1, first - 1 - REPAIR_REACH), -1):
        if clauses[at] != clauses[first]:
            return False
        if tokens[at] in REPAIR_VERBS:
            opening = tokens[max(0, at - PRICE_REACH):at]
            return any(word in PRICE_OPENERS and clauses[at - len(opening) + i] == clauses[at]
                       for i, word in enumerate(opening))
    return False
