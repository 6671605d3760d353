"""Trigger words that are part of a name: a place ("we're on Lawyer Road", "the fire station") or
a person ("her name is Sue", "my neighbour Bill said you were good", "ask for Sue", "Dr Price",
"Sue's my surname"). The guard sets such a match aside (tools/escalation.py)."""

from __future__ import annotations

from collections.abc import Sequence

from tools.escalation_context import OTHER_PEOPLE

# a trigger word inside a place's name: "Court Street", "the fire station", "Sparks Avenue"
PLACE_NOUNS = frozenset({"street", "st", "road", "rd", "avenue", "ave", "lane", "ln", "drive",
                         "boulevard", "blvd", "parkway", "highway", "circle", "terrace", "station",
                         "hall", "department", "shop", "shops", "store", "stores", "channel",
                         "plaza", "mall", "center", "centre", "district"})
NAME_CUES = frozenset({"named", "called", "names", "name"})
# "the Price family at number nine"
FAMILY = frozenset({"family", "familys"})
# "your company's legal department" is the company's lawyers, not a place's name
NOT_A_PLACE = frozenset({"legal"})
# "Sue next door has a key", "Sue said": "sue" as a name, followed by what she does
NAME_SUE_FOLLOWERS = frozenset({"next", "has", "is", "said", "says", "from", "lives", "was",
                                "knows", "does", "did", "told", "gave", "will", "can",
                                "upstairs", "downstairs"})
# "my neighbour Bill said", not "a bill from you" or "the bill is high"
NAME_WORDS = {"sue": NAME_SUE_FOLLOWERS,
              "bill": frozenset({"said", "says", "told", "recommended", "gave", "knows", "next",
                                 "lives", "upstairs", "downstairs"})}
# "Price is my last name"
NAME_AFTER = (("is", "my", "name"), ("is", "my", "last", "name"), ("is", "my", "surname"),
              ("is", "the", "name"), ("my", "surname"), ("my", "last", "name"))
# "Dr Price at number four": a title before the word makes it a surname
TITLES = frozenset({"mr", "mrs", "ms", "miss", "mister", "missus", "dr"})


def _a_first_name(tokens: Sequence[str], at: int) -> bool:
    """"Sue next door has a key", "my friend Sue", "ask for Sue", "my neighbour Bill said"."""
    if tokens[at] not in NAME_WORDS or (at and tokens[at - 1] == "to"):
        return False  # "intent to sue is in the post": the verb
    if tokens[at + 1:at + 2] and tokens[at + 1] in NAME_WORDS[tokens[at]]:
        return True
    return at > 0 and (tokens[at - 1] in OTHER_PEOPLE or tokens[at - 2:at] == ["ask", "for"])


def part_of_a_name(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """The matched words name a place or a person ("we're on Lawyer Road", "her name is Sue"),
    not what the caller is asking for or going through."""
    first, last = span
    if "like" in tokens[max(0, first - 2):last]:
        return False  # "it smells like a gas station"
    if last + 1 < len(tokens) and (tokens[last + 1] in FAMILY or (
            tokens[last + 1] in PLACE_NOUNS and tokens[last] not in NOT_A_PLACE)):
        return True
    if first > 0 and tokens[first - 1] in TITLES:
        return True
    following = tuple(tokens[last + 1:last + 5])
    if any(following[:len(cue)] == cue for cue in NAME_AFTER):
        return True
    if any(_a_first_name(tokens, at) for at in range(first, last + 1)):
        return True
    # "her name is Sue", "my name's Bill Price"
    return (first > 0 and tokens[first - 1] in NAME_CUES) or (
        first > 1 and tokens[first - 2] in NAME_CUES and tokens[first - 1] == "is") or (
        first > 1 and tokens[first - 2] == "names")
