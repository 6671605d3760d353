"""Urgent cues about a person in danger, matched in word order (tools/escalation.py asks them
after tools/escalation_harm.py's when no urgent phrase matched, and reads the words around them
as it reads a phrase's: past, what-if, someone else's):

- `someone_trapped`: a person, or a hand or leg, trapped or stuck in, under or behind something:
  "my son's trapped in the loft", "his hand is stuck in the waste disposal", "someone's stuck in
  the lift", "the stairlift's stuck with her on it"; not "the window's stuck", "she's stuck in
  traffic" or "we're stuck with the old boiler".
- `fumes_and_faint`: someone drowsy, dizzy or fainted beside a gas appliance or fumes (signs of
  carbon monoxide): "she's really drowsy next to the gas fire", "my wife's fainted and the gas
  heater's been on all morning"; not "I nearly fainted at the quote for the boiler".
- `fumes_indoors`: fumes getting into the house, or a gas smell getting worse, when gas, a flue
  or a boiler is in the turn: "the flue's come loose and fumes are going into the loft", "the
  gas bloke says it's not his side and the smell's getting worse"; not "the paint fumes are
  going into the hall" nor "the drain smell is getting worse".
- `no_cooling_and_unwell`: the air conditioning gone in a heatwave with someone unwell or frail:
  "our air con died in this heatwave and my dad's got heart problems"; not "the air con died
  in the heatwave last year".
- `someone_smokes` (a set-aside): a person's habit, "my husband smokes out in the garden", is
  no fire; "the socket smokes" still is.
- `fall_and_hurt`: someone hanging off an edge, or a fall with a blow to the head: "he's slipped
  and he's hanging off the edge", "he fell off the ladder and hit his head"; not "the gutter's
  hanging off" or "the picture fell off the wall and hit the floor".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

TRAPPED_RULE = "someone trapped"
FUMES_RULE = "someone faint beside gas"
FALL_RULE = "someone fallen and hurt"
FUMES_INDOORS_RULE = "fumes or a gas smell getting in"
COOLING_RULE = "someone unwell without cooling in a heatwave"

PEOPLE = frozenset({
    "son", "sons", "daughter", "daughters", "kid", "kids", "child", "childs", "children",
    "baby", "babys", "someone", "someones", "somebody", "somebodys", "husband", "husbands",
    "wife", "wifes", "mum", "mums", "mom", "moms", "dad", "dads", "gran", "grans", "nan", "nans",
    "grandma", "grandad", "brother", "brothers", "sister", "sisters", "he", "hes", "she",
    "shes", "they", "theyre", "toddler", "boy", "girl", "man", "woman", "person", "dog", "cat",
    "hand", "hands", "arm", "arms", "leg", "legs", "foot", "feet", "finger", "fingers", "head"})
TRAPPED = frozenset({"trapped", "stuck", "wedged", "jammed"})
# between the person and "trapped": "my son's trapped", "his hand is stuck", "she's got stuck"
BE_WORDS = frozenset({"is", "are", "s", "got", "gotten", "been", "has", "have", "now", "still",
                      "completely", "all", "properly", "totally", "was", "just"})
BE_REACH = 3
# where the person is stuck: "in the loft", "under the beam", "halfway up"
WHERE = frozenset({"in", "under", "inside", "behind", "between", "halfway", "up", "down",
                   "on", "at"})
# "stuck in traffic", "stuck at work", "stuck in his ways": not the house
NOT_DANGER = frozenset({"traffic", "work", "ways", "way", "meeting", "meetings", "queue",
                        "office", "job", "school", "abroad", "bed", "hospital", "a", "an",
                        "with", "for", "on", "home", "indoors", "inside", "doors", "town",
                        "london", "there", "here"})
# "stuck halfway with her on it"
ON_IT_PEOPLE = frozenset({"him", "her", "them", "me", "us", "someone", "somebody"})
ON_IT_REACH = 5

FAINT = frozenset({"drowsy", "fainted", "dizzy", "woozy", "unconscious", "unresponsive",
                   "faint", "fainting", "drowsier", "collapsed"})
NEARLY = frozenset({"nearly", "almost", "practically"})
GAS_SIGNS = frozenset({"gas", "fumes", "flue", "boiler", "monoxide", "co"})

HANGING = frozenset({"hanging", "dangling"})
HANGING_FROM = frozenset({"off", "from", "onto"})
FELL = frozenset({"fell", "fallen", "slipped", "tripped", "fall"})
HIT_HEAD = frozenset({"dazed", "concussed", "concussion", "unconscious"})
FALL_REACH = 12


def someone_trapped(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of "my son's trapped in the loft", or None."""
    for index, word in enumerate(tokens):
        if word not in TRAPPED:
            continue
        after = tokens[index + 1:index + 3]
        # "trapped under a shelf" (not "stuck on a call": "a" is no danger only for "stuck")
        somewhere = bool(after) and after[0] in WHERE and (
            not NOT_DANGER.intersection(after[1:])
            or (word == "trapped" and after[1:] in (["a"], ["an"])))
        closes = index + 1 == len(tokens) or clauses[index + 1] != clauses[index]
        if somewhere or (word == "trapped" and closes):
            for at in range(index - 1, max(-1, index - 1 - BE_REACH), -1):
                if tokens[at] in PEOPLE and clauses[at] == clauses[index]:
                    return at, index
                if tokens[at] not in BE_WORDS:
                    break
        for at in range(index + 1, min(len(tokens) - 2, index + 1 + ON_IT_REACH)):
            if (tokens[at] == "with" and tokens[at + 1] in ON_IT_PEOPLE
                    and tokens[at + 2] in {"on", "in"}):
                return index, at + 2
    return None


def fumes_and_faint(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of someone drowsy or fainted when gas or fumes are in the turn, or None."""
    if not GAS_SIGNS.intersection(tokens):
        return None
    for index, word in enumerate(tokens):
        if word in FAINT and not NEARLY.intersection(tokens[max(0, index - 2):index]):
            return index, index
        if word == "passed" and tokens[index + 1:index + 2] == ["out"]:
            return index, index + 1
    return None


def fall_and_hurt(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of "he's hanging off the edge" or "fell ... hit his head", or None."""
    for index, word in enumerate(tokens[1:-1], start=1):
        if (word in HANGING and tokens[index + 1] in HANGING_FROM
                and tokens[index - 1] in PEOPLE):
            return index - 1, index + 1
    for index, word in enumerate(tokens):
        if word not in FELL:
            continue
        for at in range(index + 1, min(len(tokens), index + FALL_REACH)):
            if tokens[at] in HIT_HEAD:
                return index, at
            if (tokens[at] == "hit" and tokens[at + 1:at + 2] != []
                    and tokens[at + 1] in {"his", "her", "their", "my"}
                    and tokens[at + 2:at + 3] == ["head"]):
                return index, at + 2
    return None


FUMES = frozenset({"fumes", "fume", "exhaust"})
GETTING = frozenset({"going", "coming", "getting", "pouring", "leaking", "seeping", "blowing",
                     "filling"})
INTO = frozenset({"into", "in", "through", "inside", "indoors"})
FLUE_SIGNS = frozenset({"gas", "flue", "boiler", "boilers", "flues", "heater", "monoxide"})
SMELLS = frozenset({"smell", "smells", "whiff", "stink", "stench", "odour", "odor"})
WORSE = frozenset({"worse", "stronger"})
SMELL_REACH = 4


def fumes_indoors(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of fumes getting in, or a smell getting worse, beside gas or a flue."""
    if not FLUE_SIGNS.intersection(tokens):
        return None
    for index, word in enumerate(tokens):
        if word in FUMES:
            following = [at for at in range(index + 1, min(len(tokens), index + 4))
                         if tokens[at] not in BE_WORDS]
            if following[1:2] and tokens[following[0]] in GETTING and (
                    tokens[following[1]] in INTO):
                return index, following[1]
        if word in SMELLS:
            for at in range(index + 1, min(len(tokens), index + 1 + SMELL_REACH)):
                if clauses[at] != clauses[index]:
                    break
                if tokens[at] in WORSE:
                    return index, at
    return None


COOLING = (("air", "con"), ("air", "cons"), ("aircon",), ("aircons",), ("ac",),
           ("air", "conditioning"), ("air", "conditioner"))
COOLING_GONE = frozenset({"died", "dead", "broken", "broke", "packed", "gone", "stopped",
                          "failed", "bust", "conked"})
HEAT_WAVE = frozenset({"heatwave", "heatwaves", "scorching", "sweltering", "roasting"})
UNWELL = frozenset({"heart", "unwell", "poorly", "elderly", "frail", "baby", "newborn",
                    "asthma", "ill", "sick"})


def no_cooling_and_unwell(tokens: Sequence[str], clauses: Sequence[int],
                          ) -> tuple[int, int] | None:
    """(first, last) of the air conditioning gone, in a heatwave, with someone unwell."""
    not_well = any(pair == ("not", "well") for pair in pairwise(tokens))
    if not HEAT_WAVE.intersection(tokens) or not (UNWELL.intersection(tokens) or not_well):
        return None
    for index in range(len(tokens)):
        for words in COOLING:
            end = index + len(words)
            if tuple(tokens[index:end]) == words and COOLING_GONE.intersection(
                    tokens[end:end + 3]):
                return index, end
    return None


SMOKERS = frozenset({"husband", "husbands", "wife", "wifes", "he", "she", "dad", "mum", "son",
                     "daughter", "partner", "lodger", "tenant", "neighbour", "neighbor", "i",
                     "brother", "sister", "they", "everyone", "staff"})


def someone_smokes(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """A "smokes" that is a person's habit: "my husband smokes out in the garden"."""
    first, last = span
    return (first == last and tokens[first] in {"smokes", "smoked"} and first > 0
            and tokens[first - 1] in SMOKERS)
