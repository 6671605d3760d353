"""Urgent matches the caller's own words take back: the sign had a harmless cause, it is slight,
or the "heat off" is something the caller does. The guard sets such a match aside
(tools/escalation.py) after a playbook phrase matched, so the business's triggers stay plain
phrases.

- `explained_away`: after the sign, what it turned out to be: "the smell of gas turned out to be
  the bins", "we smelled smoke but it was the neighbours' bonfire", "a bit of smoke from the
  toaster, nothing to do with the wiring", "but that's just crumbs", "false alarm", "it was
  nothing", "I know what an emergency looks like and this isn't one". Only words after the
  match's first word count: "it turned out to be a gas leak" still fires.
- `played_down`: a sign that is not a hazard and is slight: "the porch roof is sagging a bit",
  "a small leak". "A bit of smoke" is still smoke, unless explained.
- `not_an_outage`: a heating match that is the caller's own switch ("should I turn the heating
  off beforehand"), a power source ("we run the patio heater off a gas bottle") or where a flue
  goes ("the boiler flue goes out the side wall").
- `asked_and_denied`: the sign repeated as asked, then denied: "fire? no, it's the sunset on
  the window"; not "smoke, no flames yet" (the no opens a clause that goes on).
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.escalation_context import (
    ACTIVE_WORDS,
    HAZARD_WORDS,
    NEGATIONS,
    NOT_VERBS,
    PRESENT_STATES,
    RESOLVED_VERBS,
)

# "nothing to do with the wiring": said before the sign, or after it
NOT_ABOUT = ("nothing", "to", "do", "with")
# what the sign turned out to be, said after it
EXPLAINED = (("turned", "out"), ("false", "alarm"), ("was", "nothing"),
             ("was", "just", "the"), ("was", "just", "a"), ("was", "only", "the"),
             ("was", "only", "a"), NOT_ABOUT, ("but", "it", "was", "the"),
             ("but", "it", "was", "just"), ("but", "thats", "just"), ("not", "the", "electrics"),
             ("not", "the", "wiring"),
             ("no", "problem", "with"), ("nothing", "wrong", "with"), ("ours", "isnt"),
             ("ours", "wasnt"), ("its", "come", "back", "on"), ("came", "back", "on"),
             ("working", "again"), ("still", "works"),
             # "I know what a gas leak smells like, and this isn't one"
             ("this", "isnt", "one"), ("this", "is", "not", "one"),
             # "it's mild out so we're ok for now", "nothing's wrong right now"
             ("ok", "for", "now"), ("okay", "for", "now"), ("fine", "for", "now"),
             ("its", "stopped", "now"), ("nothings", "wrong"),
             # "the smoke was my cooking", "but that was the old board"
             ("was", "my", "cooking"), ("was", "the", "cooking"), ("was", "my", "toast"),
             ("was", "the", "toast"), ("that", "was", "the", "old"))
# "the roof, not leaking or anything": the match's last word negated in a clause of its own
NEGATED_INSIDE = frozenset({"not", "no", "isnt", "wasnt", "never"})
# "I burnt the dinner, that's the smoke alarm": a detector sounding at the kitchen
DETECTORS = frozenset({"alarm", "alarms", "detector", "detectors"})
KITCHEN_CAUSES = frozenset({"toast", "dinner", "cooking", "cooked", "straighteners", "bacon",
                            "frying", "background", "testing", "steam"})
# "sagging a bit", "leaking a little"
SLIGHT_AFTER = (("a", "bit"), ("a", "little"), ("a", "tad"), ("slightly",), ("a", "touch"))
SLIGHT_AFTER_REACH = 2
# "a small leak", "a tiny drip"
SLIGHT_BEFORE = frozenset({"small", "tiny", "slight", "little", "minor"})
# "turn the heating off", "switched the boiler off": the caller's own hand
SWITCHES = frozenset({"turn", "turned", "turning", "switch", "switched", "switching", "shut",
                      "shutting", "put", "leave", "left"})
SWITCH_REACH = 3
# "run the patio heater off a gas bottle": what it runs on
RUNS_ON = frozenset({"run", "runs", "running", "powered", "power", "works"})
# "the boiler flue goes out the side wall": where it goes
FLUE_WORDS = frozenset({"flue", "flues", "vent", "vents", "exhaust", "duct", "ducts",
                        "chimney"})
HEATING_WORDS = frozenset({"heat", "heating", "heater", "heaters", "furnace", "boiler"})
# "find out the boiler's old": "out" as a verb's particle
OUT_PARTICLE_VERBS = frozenset({"find", "found", "finding", "figure", "figured", "work", "worked",
                                "sort", "sorted", "check", "checked", "point", "pointed"})
LOSING = frozenset({"lose", "losing", "lost", "loses"})
# "... but the reset button sorted it": put right since, the match's trouble is over
PUT_RIGHT = RESOLVED_VERBS | {"fixed", "sorted", "solved", "cured", "mopped"}
# "we mopped it up", "cleared it up"
PUT_RIGHT_PARTICLES = frozenset({"up", "out"})
# "... but a tile's come loose": what comes after "but"/"and" is the next thing told
PUT_RIGHT_CLOSERS = frozenset({"but", "and"})
# the caller's own "-ing" after it is no trouble going on: "I'm just calling to book"
CALLERS_ING = frozenset({"calling", "ringing", "phoning", "wondering", "hoping", "booking"})
PUT_RIGHT_OBJECTS = frozenset({"it", "them", "that"})
PUT_RIGHT_OPENERS = frozenset({"but", "and"})
NOT_YET = NEGATIONS | {"nobody", "hasnt", "havent", "cant", "couldnt", "still", "yet", "who"}
# after it, what says the trouble is on: "but it's pouring through", "water's everywhere"
STILL_ON = ACTIVE_WORDS | HAZARD_WORDS | PRESENT_STATES


def taken_back(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]) -> bool:
    """The caller's own words take the urgent match back (any of the rules above)."""
    return (explained_away(tokens, clauses, span) or played_down(tokens, clauses, span)
            or not_an_outage(tokens, span) or put_right_since(tokens, clauses, span)
            or asked_and_denied(tokens, clauses, span))


# "fire? no, it's the sunset": the caller repeats the word asked about, then says no
DENIALS = frozenset({"no", "nope", "nah", "not"})


def asked_and_denied(tokens: Sequence[str], clauses: Sequence[int],
                     span: tuple[int, int]) -> bool:
    """"Fire? No, it's the sunset on the window": the match is a clause of its own opening the
    turn, and the next clause is a no."""
    first, last = span
    after = last + 1
    # the no is a clause of its own too: "smoke, no flames yet" is still smoke
    return (first == 0 and after < len(tokens) and clauses[after] != clauses[last]
            and tokens[after] in DENIALS
            and (after + 1 == len(tokens) or clauses[after + 1] != clauses[after]))


def put_right_since(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]) -> bool:
    """"The heating went off last night but the reset button sorted it": after the match, in a
    later clause or after "but"/"and", something "sorted it" / "fixed it" closing its clause,
    with nothing after it saying the trouble is on. Not "nobody has fixed it", "the plumber who
    fixed it last year", "we patched it, but it's pouring through the ceiling"."""
    last = span[1]
    for index in range(last + 1, len(tokens) - 1):
        if tokens[index] not in PUT_RIGHT or tokens[index + 1] not in PUT_RIGHT_OBJECTS:
            continue
        after = index + 2
        if after < len(tokens) and tokens[after] in PUT_RIGHT_PARTICLES:
            after += 1
        closes = after == len(tokens) or clauses[after] != clauses[index] or (
            tokens[after] in PUT_RIGHT_CLOSERS)
        opened = clauses[index] != clauses[last] or PUT_RIGHT_OPENERS.intersection(
            tokens[last + 1:index])
        if (closes and opened and not NOT_YET.intersection(tokens[max(0, index - 4):index])
                and not STILL_ON.intersection(tokens[after:])
                and not any(word.endswith("ing") and word not in CALLERS_ING | NOT_VERBS
                            for word in tokens[after:])):
            return True
    return False


def _cue_at(tokens: Sequence[str], index: int, cues: Sequence[tuple[str, ...]]) -> bool:
    return any(tuple(tokens[index:index + len(cue)]) == cue for cue in cues)


def explained_away(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]) -> bool:
    first, last = span
    if (last > first and tokens[last - 1] in NEGATED_INSIDE
            and clauses[last - 1] != clauses[first]):
        return True
    if DETECTORS.intersection(tokens[first:last + 2]) and KITCHEN_CAUSES.intersection(tokens):
        return True
    if any(_cue_at(tokens, index, EXPLAINED) for index in range(first + 1, len(tokens))):
        return True
    # "nothing to do with the wiring, just burnt bread"
    return any(_cue_at(tokens, at, (NOT_ABOUT,))
               for at in range(max(0, first - len(NOT_ABOUT) - 1), first))


def played_down(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]) -> bool:
    first, last = span
    if HAZARD_WORDS.intersection(tokens[first:last + 1]):
        return False
    for index in range(last + 1, min(len(tokens), last + 1 + SLIGHT_AFTER_REACH)):
        if clauses[index] != clauses[last]:
            break
        if _cue_at(tokens, index, SLIGHT_AFTER):
            return True
    return bool(SLIGHT_BEFORE.intersection(tokens[max(0, first - 2):first]))


def not_an_outage(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    first, last = span
    matched = tokens[first:last + 1]
    if not HEATING_WORDS.intersection(matched):
        return False
    if FLUE_WORDS.intersection(matched):
        return True
    for index in range(first, last + 1):
        if tokens[index] == "out" and index and tokens[index - 1] in OUT_PARTICLE_VERBS:
            return True
        if tokens[index] in LOSING and tokens[index + 1:index + 2] == ["pressure"]:
            return True  # "the boiler keeps losing pressure"
    before = tokens[max(0, first - SWITCH_REACH):first]
    if "off" in matched and SWITCHES.intersection([*before, *matched]):
        return True
    return "off" in matched and bool(RUNS_ON.intersection(before))
