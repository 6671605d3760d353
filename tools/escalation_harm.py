"""Urgent cues that are English-language rules rather than playbook phrases, because a phrase
ignores word order: "ceiling came down" would also match "can someone come down and look at the
ceiling". The guard asks them when the urgent category's phrases found nothing
(tools/escalation.py), and reads the words around them as it reads a phrase's (past, what-if,
someone else's).

- `gave_way`: part of the building, then in the same clause a verb of it coming down: "the
  ceiling in the nursery has just come down", "half the chimney stack's fallen", "the wall's
  caved in", "a tree came down on the house" (a tree only onto or through something); only
  "has", "just" and the like, or one place ("in the nursery"), between them, so "the roof man
  is coming down on friday" is no collapse. ("Split" is left out: "the old wall's split".)
- `cannot_get_up`: a person who can't get up, move a limb or breathe: "he can't get up", "she
  can't move her leg", not "I can't move the fridge" or "he can't get up to the loft".
- `cold_and_vulnerable`: no heating, or a freezing house, with someone frail in it: "ninety
  four year old gran, no heating", "the boiler's not firing and she's got pneumonia", "my
  granny's nae heating". The guard reads it as happening now: the learned model does not
  overrule it. Someone frail alone ("my mum's elderly, mornings are best") is no cue, nor is
  someone else's ("my friend's nan was without heat").
- `under_water`: a room "under water" ("the kitchen's under water"), not "water under the sink".
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.escalation_context import OTHER_PEOPLE

GAVE_WAY_RULE = "part of the building came down"
HURT_RULE = "someone can't get up"
COLD_RULE = "someone frail without heating"
UNDER_WATER_RULE = "a room under water"

STRUCTURES = frozenset({"ceiling", "ceilings", "roof", "roofs", "chimney", "chimneys", "stack",
                        "stacks", "wall", "walls", "tree", "trees", "lintel", "lintels", "beam",
                        "beams", "breast"})
# one word: "fallen", "collapsed", "the lintel's dropped", "the wall's moving"; or a verb then
# "down"/"in": "came down", "fell in"
CAME_DOWN = frozenset({"fallen", "collapsed", "caved", "dropped", "moving", "leaning"})
CAME = frozenset({"came", "come", "coming", "fell", "falling", "crashed", "crashing"})
# "fell in", "crashed through"; but "damp coming through", "rain coming in" is a leak
FELL = frozenset({"fell", "falling", "crashed", "crashing"})
IN = frozenset({"in", "through"})
# between the structure and its verb only these ("the ceiling's just come down") and one place
# ("the ceiling in the nursery has come down"), so "the roof man is coming down" is no collapse
# and "a split in the wall" no split
BETWEEN = frozenset({"has", "have", "had", "is", "are", "was", "been", "just", "now", "all",
                     "completely", "partly", "partially", "literally", "actually", "suddenly",
                     "totally", "half", "finally"})
PLACE_PREPOSITIONS = frozenset({"in", "on", "of", "over", "above", "at"})
PLACE_WORDS = 3  # "in the nursery"
GAVE_WAY_REACH = 8
# a tree that came down is the caller's only when it hit something
TREE_ONTO = frozenset({"on", "onto", "through", "into"})

PEOPLE = frozenset({"he", "she", "they", "hes", "shes", "theyre", "mum", "mom", "dad", "nan",
                    "gran", "grandad", "grandpa", "grandma"})
CANNOT = frozenset({"cant", "cannot", "couldnt"})
BODY = frozenset({"leg", "legs", "arm", "arms", "neck", "back", "head", "hip", "side"})
POSSESSIVES = frozenset({"his", "her", "their", "my"})
# "he can't get up to the loft", "she can't get up the ladder": a place, not a fall
GET_UP_PLACES = frozenset({"to", "into", "the", "there", "here", "stairs", "in", "on", "onto",
                           "that", "those", "these"})


def gave_way(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of "the ceiling ... came down", or None."""
    for index, word in enumerate(tokens):
        if word not in STRUCTURES:
            continue
        for at in range(index + 1, min(len(tokens), index + 2 + GAVE_WAY_REACH)):
            if clauses[at] != clauses[index]:
                break
            end = at if tokens[at] in CAME_DOWN else None
            following = tokens[at + 1:at + 2]
            if tokens[at] in CAME and (following == ["down"] or (
                    tokens[at] in FELL and following and following[0] in IN)):
                end = at + 1
            if end is None:
                continue
            if not _only_a_place_between(tokens[index + 1:at]):
                break
            if word.startswith("tree") and not TREE_ONTO.intersection(tokens[end:end + 3]):
                break
            return index, end
    return None


def _only_a_place_between(between: Sequence[str]) -> bool:
    rest = [word for word in between if word not in BETWEEN]
    return not rest or (rest[0] in PLACE_PREPOSITIONS and len(rest) <= PLACE_WORDS)


def cannot_get_up(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of "he can't get up" / "she can't move her leg" / "he can't breathe"."""
    for index, word in enumerate(tokens[:-2]):
        if word not in PEOPLE or tokens[index + 1] not in CANNOT:
            continue
        verb = index + 2
        following = tokens[verb + 1:verb + 3]
        if tokens[verb] == "breathe":
            return index, verb
        if tokens[verb] == "move" and following[:1] and following[0] in POSSESSIVES and (
                following[1:] and following[1] in BODY):
            return index, verb + 2
        if tokens[verb] == "get" and following[:1] == ["up"]:
            after = verb + 2
            if after == len(tokens) or clauses[after] != clauses[verb] or (
                    tokens[after] not in GET_UP_PLACES):
                return index, verb + 1
    return None


# "the boiler's not firing" once apostrophes are gone: "boilers"
HEATING = frozenset({"heat", "heating", "heater", "boiler", "furnace", "heatings", "heaters",
                     "boilers", "furnaces"})
# "no heating", "nae heating", "without heat"
NO_HEAT = frozenset({"no", "nae", "without"})
# "the boiler's packed in", "the heating's gone off"
HEAT_GONE = frozenset({"out", "dead", "died", "packed", "gone", "off", "broken", "broke", "bust",
                       "busted", "failed", "stopped"})
HEAT_NOT = frozenset({"not", "isnt", "wont", "aint"})
HEAT_WORKING = frozenset({"firing", "working", "work", "come", "coming"})
HEAT_GONE_REACH = 4
COLD_HOUSE = frozenset({"freezing", "baltic", "icebox", "frozen"})
FRAIL = frozenset({"gran", "granny", "grans", "grannys", "grandma", "grandmas", "grandmother",
                   "grandmothers", "nan", "nans", "nana", "nanna", "grandad", "grandads",
                   "grandpa", "grandfather", "elderly", "baby", "babys", "babies", "newborn",
                   "toddler", "pneumonia", "chemo", "frail", "disabled", "poorly", "nineties",
                   "eighties", "ninety", "eighty"})
# "it's eighty degrees": a temperature, not an age
# what closes a room "under water": the clause's end or one of these
UNDER_WATER_AFTER = frozenset({"and", "now", "again", "everywhere", "already"})


def cold_and_vulnerable(tokens: Sequence[str]) -> tuple[int, int] | None:
    """(first, last) of the heating gone or the house freezing, when someone frail is in the
    turn ("ninety four year old gran, no heating"), or None."""
    # "it's eighty degrees" is no age; "my friend's nan" is another household's
    frail = any(word in FRAIL and tokens[at + 1:at + 2] not in (["degrees"], ["percent"])
                and not (at and tokens[at - 1] in OTHER_PEOPLE)
                for at, word in enumerate(tokens))
    if not frail:
        return None
    for index, word in enumerate(tokens):
        if word in COLD_HOUSE:
            return index, index
        if word not in HEATING:
            continue
        if index and tokens[index - 1] in NO_HEAT:
            return index - 1, index
        if tokens[max(0, index - 2):index] in (["hasnt", "had"], ["havent", "had"]):
            return index, index  # "my elderly aunt hasn't had heating for two days"
        following = tokens[index + 1:index + 1 + HEAT_GONE_REACH]
        for at, after in enumerate(following):
            if after in HEAT_GONE:
                return index, index + 1 + at
            if after in HEAT_NOT and following[at + 1:at + 2] and (
                    following[at + 1] in HEAT_WORKING):
                return index, index + 1 + at  # not "firing": that reads as a verb of fire
    return None


def under_water(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of "under water" closing what it tells ("the kitchen's under water and
    rising"), after a room or a "be" ("the kitchen's", "is"), or None."""
    for index, word in enumerate(tokens[1:-1], start=1):
        if word != "under" or tokens[index + 1] != "water":
            continue
        after = index + 2
        closes = after == len(tokens) or clauses[after] != clauses[index] or (
            tokens[after] in UNDER_WATER_AFTER)
        before = tokens[index - 1]
        if closes and (before.endswith("s") or before in {"all", "completely", "totally"}):
            return index, index + 1
    return None
