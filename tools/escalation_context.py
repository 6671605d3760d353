"""What the words around a trigger say about it: English-language rules the guard applies after
a playbook phrase matched, so that a business's triggers stay plain phrases.

- An urgent match is *active* when the turn says the trouble is happening now: "now", "still",
  "keeps", "won't stop", "just" next to the trigger, a recent time ("this morning", "last
  night"), "emergency"/"urgent" un-negated and not past or a what-if ("it was an emergency last
  time", "in case of an emergency"), or a present progressive of one of the category's own
  words ("is leaking", "it's flooding") or a present state ("water is everywhere").
- It is *stale* when, with nothing active, the turn puts it in the past or says it was dealt
  with: "last week", "two months ago", "a while back", "in twenty nineteen", "was fixed", "it's
  fine now", "now it's fine", "dry since", "an old stain"; or frames it as a what-if: "if the
  pipe bursts", "in case it floods", "before they burst", or as a worry from the news; or it is
  a detector asking for a battery ("the smoke alarm chirps") or to be installed or replaced
  ("can you install a co detector"), not one sounding or reading high; or, unless it is a
  hazard (fire, smoke, sparks, gas, shock, injury) or called urgent, it comes and goes ("a drip
  now and then", "sometimes"): that is checked first, since "now and then" holds a "now".
  A symptom that stopped ("the furnace stopped making that noise") is no outage either.
  A stale match does not fire: "my pipe broke last month and I want it fixed" is an intake.
  Nor does a "now" that only introduces or closes the caller's wish ("it was fixed, now we need
  the drywall patched", "we want to finish it now"), trouble that has lasted "for years", or
  trouble someone else had ("my neighbor had a burst pipe so I want mine checked", "my sister's
  house flooded"), unless that is a hazard; nor a "now" that opens the next thing told once the
  trigger was put in the past ("the burst pipe was fixed last week, but now the tap splutters").
  "Where the tap used to be" is a place, not a past; "the rain's stopped" is past weather.
  "A few days ago" is not stale: a missed emergency costs more than a needless transfer.
- A hazard (fire, smoke, sparks, gas, shock, injury) that is neither is active.
- Otherwise it is *plain* ("your plumber broke my pipe"): it fires, unless the same turn carries
  a legal cue. Then the damage is what the legal question is about, and legal wins ("am I liable
  if the pipe bursts", "broke my pipe last week and my lawyer says"). The legal cues that are
  rules rather than playbook phrases live in tools/escalation_legal.py.
- `wants_a_visit`: a human-request match followed by what someone should come and do ("can you
  get me someone out here", "is there anybody who can come today"), or ending in a "here" that
  is not "on here" (the phone), asks for a technician's visit, an intake, unless the caller
  asked to talk ("talk to someone who can fix it").
- `talked_about`: a human-request match that ends in a past "talked"/"spoke" ("the plumber we
  spoke to said") is the caller's story, not a request.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from enum import Enum

from tools.escalation_detectors import detector_being_fitted, detector_wants_battery


class UrgentStanding(Enum):
    ACTIVE = "active"
    PLAIN = "plain"
    STALE = "stale"


ACTIVE_WORDS = frozenset({"now", "still", "currently", "keeps", "keep", "hurry", "asap",
                          "immediately", "tonight", "today", "again", "quick", "quickly"})
# "it's fine now": the "now" settles it
SETTLED = frozenset({"fine", "ok", "okay", "good", "dry", "better", "working", "done",
                     "finished", "sorted"})
EXPLICIT_URGENCY = frozenset({"emergency", "urgent", "urgently"})
# "it was an emergency last time", "in case of an emergency": not one now
URGENCY_NOT_NOW = frozenset({"was", "were", "if", "case"})
URGENCY_NOT_NOW_REACH = 4
RECENT_TIMES = frozenset({("this", "morning"), ("this", "afternoon"), ("this", "evening"),
                          ("last", "night"), ("right", "now"), ("wont", "stop"),
                          ("cant", "stop"), ("not", "stopping"), ("won", "stop")})
PRESENT_BE = frozenset({"is", "are", "its", "theres", "thats", "whats", "im", "keeps"})
# "the water is everywhere", "the heat is out": a state that holds now
PRESENT_STATES = frozenset({"everywhere", "broken", "busted", "flooded", "soaked", "out",
                            "dead", "gone", "underwater"})
NEGATIONS = frozenset({"not", "no", "isnt", "dont", "doesnt", "didnt", "wasnt", "never",
                       "nothing", "wont"})
# "in twenty nineteen", "in 2019": a dated past
YEAR_STARTS = frozenset({"nineteen", "twenty"})
YEAR_ENDS = frozenset({"ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                       "seventeen", "eighteen", "nineteen", "twenty", "hundred", "oh"})
# "last week" / "last year": a past older than a day or two
STALE_AFTER_LAST = frozenset({"week", "month", "year", "winter", "spring", "summer", "fall",
                              "autumn", "time", "weekend", "christmas", "season", "house",
                              "place", "home", "flat", "apartment"})
STALE_BEFORE_AGO = frozenset({"week", "weeks", "month", "months", "year", "years", "while", "ages",
                              "decade", "decades", "winters", "summers", "springs", "autumns"})
STALE_PAIRS = frozenset({("a", "while"), ("while", "back"), ("back", "in"), ("in", "past"),
                         ("used", "to"), ("years", "back"), ("months", "back"), ("ages", "back"),
                         ("fine", "now"), ("fine", "since"), ("been", "fine"), ("dry", "since"),
                         ("ok", "now"), ("okay", "now"), ("taken", "care"), ("all", "good"),
                         ("for", "years"), ("for", "months"), ("back", "then"),
                         ("nothing", "new"), ("since", "we"), ("old", "house"), ("old", "place"),
                         ("old", "home"), ("previous", "house"), ("previous", "place"),
                         ("previous", "home"), ("lived", "here"), ("for", "ages"),
                         ("been", "dry"), ("been", "like"), ("dried", "out"),
                         ("didnt", "reach"), ("rains", "stopped"), ("rain", "stopped"),
                         ("stopped", "raining"), ("the", "nineties"), ("the", "eighties"),
                         ("the", "seventies")})
# "an old water stain", "old water damage": marks left by trouble long gone
OLD_MARKS = frozenset({"stain", "stains", "staining", "stained", "damage", "leak"})
# "now we need the drywall patched": the "now" brings in a wish, not the trouble
WISHERS = frozenset({"i", "we", "id", "wed", "im", "were", "theyre"})
# "now we're selling": the caller's plan for the house is a wish too
WISHES = frozenset({"want", "wants", "need", "needs", "like", "wanna", "would", "thinking",
                    "planning", "looking", "selling", "moving", "buying"})
# "we just want to finish it now": a "now" that closes the caller's wish; a "like" this far back
# is mostly a filler ("it's like pouring now"); "we're redoing the floor now" is the work
WISHES_BEFORE_NOW = (WISHES - {"like"}) | {"redoing", "replacing", "renovating", "redecorating"}
WISH_BEFORE_NOW_REACH = 4
# "we'd like a proper repair now": "like" after these is a wish, not a filler
LIKE_AS_A_WISH = frozenset({"id", "wed", "would", "youd"})
# "it was fixed last week, but now the tap's spluttering": a "now" opening what comes next
NOW_OPENERS = frozenset({"and", "but", "so"})
# "-ing" words that are no verb: "is that something you check" is no "something burning";
# "I'm just being careful" is no "been electrocuted"
NOT_VERBS = frozenset({"something", "anything", "nothing", "everything", "ceiling", "being"})
# someone else's trouble: "my neighbor had a burst pipe"
OTHER_PEOPLE = frozenset({"neighbor", "neighbors", "neighbour", "neighbours", "friend",
                          "friends", "sister", "brother", "cousin", "coworker", "parents",
                          "aunt", "uncle", "sisters", "brothers", "cousins", "coworkers",
                          "colleague", "colleagues", "aunts", "uncles"})
OTHERS_HAD_REACH = 2
# "the lady across the road", "the people next door"
ACROSS_PLACES = frozenset({"road", "street", "way", "hall", "lane"})
# "the pub down the road", "the house across the street"
ACROSS_WORDS = frozenset({"across", "down", "up"})
OTHER_HOME_REACH = 8
FIRST_PERSON = frozenset({"our", "ours", "my", "mine", "we", "us", "i", "im", "ive", "weve"})
OTHERS_TROUBLE_VERBS = frozenset({"had", "has", "have", "got"})
# "my sister's house flooded": another household's home
HOMES = frozenset({"house", "home", "place", "basement", "apartment", "condo", "unit",
                   "building", "flat"})
# "previously fixed"; "saw on the news about gas leaks" is a worry, not an event
STALE_WORDS = frozenset({"previously", "relit", "resolved", "news"})
RESOLVED_VERBS = frozenset({"fixed", "repaired", "patched", "replaced", "sorted", "cleared"})
# "want it fixed", "to be fixed", "get it repaired": a wish, not a resolution
WISH_BEFORE_RESOLVED = frozenset({"it", "them", "that", "this", "to", "be", "get", "need",
                                  "needs", "want", "wants", "like", "getting", "have"})
DONE_BEFORE_OBJECT = frozenset({"got", "had", "already"})
HYPOTHETICAL = frozenset({"if", "case", "incase", "prevent", "avoid", "unless", "whether",
                          "before", "ever", "suppose", "supposing", "hypothetically", "event"})
HYPOTHETICAL_REACH = 4
# trouble that comes and goes: a repair, unless it is a hazard ("sparks now and then")
INTERMITTENT_WORDS = frozenset({"sometimes", "occasionally", "occasional", "intermittently",
                                "periodically"})
# first and third word: "now and then", "once in a while", "every so often", "time to time"
INTERMITTENT_PAIRS = frozenset({("now", "then"), ("in", "while"), ("every", "often"),
                                ("time", "time"), ("every", "while"), ("on", "off"),
                                ("in", "storms"), ("in", "rain"), ("all", "time")})
# "the gutter overflows when it rains": trouble the weather brings, not one happening now
WEATHER_WHEN = frozenset({"when", "whenever", "everytime"})
WEATHER = frozenset({"rains", "pours", "storms", "snows", "thaws", "lashes", "lashing",
                     "buckets", "pelts", "pelting"})
WEATHER_REACH = 3
HAZARD_WORDS = frozenset({"fire", "flames", "flame", "smoke", "smoking", "spark", "sparks",
                          "sparking", "gas", "shock", "shocked", "zapped", "burning", "burnt",
                          "electrocuted", "monoxide", "co", "hurt", "injured", "bleeding",
                          "flash"})
STOPPED = frozenset({"stopped", "stops", "quit", "quits"})
STILL_AN_OUTAGE = frozenset({"working", "running", "heating", "blowing", "firing", "igniting",
                             "lighting", "pumping", "draining"})

# after a human-request match: what someone should come and do
VISIT_WORDS = frozenset({"out", "over", "here", "come", "coming", "fix", "repair", "look",
                         "check", "install", "replace", "today", "tomorrow"})
# ... and what says the person is to be reached now ("is the owner available today")
TALK_WORDS = frozenset({"talk", "speak", "chat", "talking", "speaking", "transfer", "connect",
                        "phone", "line", "call", "human", "humans", "real", "live",
                        "available"})
VISIT_REACH = 3
# "the electrician we talked to said...": a person told about, not asked for
PAST_TALK = frozenset({"talked", "spoke", "spoken", "chatted"})
TALK_NOW = frozenset({"talk", "speak", "chat"})
# a talk with the AI told of is a complaint about it, still a request
ROBOT_WORDS = frozenset({"robot", "robots", "bot", "bots", "ai", "computer", "machine",
                         "automated"})
# inside a human-request match: "somebody out here", "someone over there"
VISIT_INSIDE = frozenset({"out", "over"})


def urgent_standing(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int],
                    category_keys: Collection[str], keys: Sequence[str]) -> UrgentStanding:
    """Whether an urgent match at `span` is happening now, is past or hypothetical, or plain."""
    first, last = span
    hazard = HAZARD_WORDS.intersection(tokens[first:last + 1])
    if _comes_and_goes(tokens) and not hazard and not EXPLICIT_URGENCY.intersection(tokens):
        return UrgentStanding.STALE
    if (detector_wants_battery(tokens, span) or detector_being_fitted(tokens, span)
            or _stopped_a_habit(tokens, last)):
        return UrgentStanding.STALE
    # a fire next door may spread to us; one it "had" is over
    if (not hazard or "had" in tokens[:span[0]]) and _another_households(tokens, clauses, span):
        return UrgentStanding.STALE
    if _is_active(tokens, clauses, span, category_keys, keys):
        return UrgentStanding.ACTIVE
    if (_is_stale(tokens) or _is_hypothetical(tokens, clauses, span)
            or _someone_elses(tokens, clauses, span, hazard=bool(hazard))):
        return UrgentStanding.STALE
    # a hazard described now is no subject for a legal question to outrank
    return UrgentStanding.ACTIVE if hazard else UrgentStanding.PLAIN


def _stopped_a_habit(tokens: Sequence[str], last: int) -> bool:
    """"The furnace stopped making that noise": it stopped a symptom, not its work."""
    following = tokens[last + 1] if last + 1 < len(tokens) else ""
    return (tokens[last] in STOPPED and following.endswith("ing")
            and following not in STILL_AN_OUTAGE)


def _is_active(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int],
               category_keys: Collection[str], keys: Sequence[str]) -> bool:
    for index, word in enumerate(tokens):
        before = tokens[max(0, index - 3):index]
        if word == "still" and tokens[index + 1:index + 2] in (["under"], ["covered"]):
            continue  # "it's still under warranty": the cover lasts, not the trouble
        if word == "again" and (HYPOTHETICAL | NEGATIONS).intersection(before):
            continue  # "before it happens again", "so it doesn't happen again"
        if word in ACTIVE_WORDS and not (word == "now" and (
                (index and tokens[index - 1] in SETTLED | RESOLVED_VERBS)
                or _brings_a_wish(tokens, index)
                or SETTLED.intersection(tokens[index + 1:index + 3])
                or tuple(tokens[max(0, index - 2):index]) in STALE_PAIRS  # "stopped raining now"
                or _after_a_past(tokens, clauses, span, index))):
            return True
        if word in EXPLICIT_URGENCY and not (NEGATIONS.intersection(before) or (
                URGENCY_NOT_NOW.intersection(tokens[max(0, index - URGENCY_NOT_NOW_REACH):index]))
                or _is_stale(tokens[index + 1:index + 4])):  # "for an emergency last year"
            return True
        if index and (tokens[index - 1], word) in RECENT_TIMES:
            return True
        if word == "just" and span[0] - 2 <= index <= span[1]:
            return True  # "the pipe just burst"; "I just want it fixed" is far from it
        # "are you going to honor it" is a future, not "the alarm is going off"
        progressive = (word.endswith("ing") and keys[index] in category_keys
                       and tokens[index + 1:index + 2] != ["to"] and word not in NOT_VERBS
                       and not (index and tokens[index - 1] in STOPPED))  # "stopped raining"
        if ((progressive or word in PRESENT_STATES)
                and PRESENT_BE.intersection(tokens[max(0, index - 2):index])):
            return True
    return False


def _after_a_past(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int],
                  now: int) -> bool:
    """"The burst pipe was fixed last week, but now the tap's spluttering": a "now" after the
    trigger, opening the next thing the caller tells, once the trigger was put in the past."""
    return now > span[1] and (clauses[now] != clauses[span[1]]
                              or tokens[now - 1] in NOW_OPENERS) and _is_stale(tokens[:now])


def _brings_a_wish(tokens: Sequence[str], index: int) -> bool:
    """"now we need ...", "now I'd like ...", "now want ...": the caller's plan, not the trouble."""
    following = [word for word in tokens[index + 1:index + 4] if word != "just"][:2]
    if following[:1] and following[0] in WISHES:
        return True
    if len(following) == 2 and following[0] in WISHERS and following[1] in WISHES:
        return True
    # "we want to finish it now"
    before = tokens[max(0, index - WISH_BEFORE_NOW_REACH):index]
    if any(word == "like" and at and before[at - 1] in LIKE_AS_A_WISH
           for at, word in enumerate(before)):
        return True  # "we'd like a proper repair now"
    return bool(WISHES_BEFORE_NOW.intersection(before))


def _someone_elses(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int], *,
                   hazard: bool) -> bool:
    """"my neighbor had a burst pipe", "my sister's house flooded": another household's
    trouble, told as the reason. A hazard next door still fires."""
    first = span[0]
    for index in range(max(0, first - 2 - OTHERS_HAD_REACH), first):
        if tokens[index] not in OTHER_PEOPLE or clauses[index] != clauses[first]:
            continue
        if _had_trouble(tokens[index + 1:index + 2 + OTHERS_HAD_REACH]):
            return True
        if not hazard and (tokens[index + 1] in HOMES or index + 1 == first):
            return True  # "my sister's house flooded", "my friend's boiler packed up"
    return False


def _another_households(tokens: Sequence[str], clauses: Sequence[int],
                        span: tuple[int, int]) -> bool:
    """"My brother's house in Ohio has a burst pipe", "the people next door have water coming
    in", "my neighbor's basement flooded last night, ours was fine": trouble in a home not the
    caller's, with no "our" or "my" between it and the trigger."""
    first = span[0]
    for index in range(max(0, first - OTHER_HOME_REACH), first):
        if clauses[index] != clauses[first] or not _names_another_household(tokens, index):
            continue
        between = tokens[index + 1:first]
        if FIRST_PERSON.intersection(between):
            continue
        if (tokens[index + 1:index + 2] and tokens[index + 1] in HOMES) or _had_trouble(
                tokens[index + 1:index + 2 + OTHERS_HAD_REACH]):
            return True
    return False


def _names_another_household(tokens: Sequence[str], index: int) -> bool:
    word = tokens[index]
    if word in OTHER_PEOPLE:
        return True
    if word == "door" and index and tokens[index - 1] == "next":
        return True  # "the people next door"
    return word in ACROSS_PLACES and bool(
        ACROSS_WORDS.intersection(tokens[max(0, index - 2):index]))


def _had_trouble(following: Sequence[str]) -> bool:
    """"had a burst pipe", "has got water coming in", not "had to shut our water off"."""
    for at, word in enumerate(following[:-1]):
        if word in OTHERS_TROUBLE_VERBS:
            return following[at + 1] != "to"
    return False


def _comes_and_goes(tokens: Sequence[str]) -> bool:
    if INTERMITTENT_WORDS.intersection(tokens):
        return True
    if any(word in WEATHER_WHEN and WEATHER.intersection(tokens[i + 1:i + 1 + WEATHER_REACH])
           for i, word in enumerate(tokens)):
        return True
    if any(tokens[i:i + 2] == ["every", "time"] for i in range(len(tokens) - 1)):
        return True  # "it goes off every time we make toast"
    return any((tokens[i], tokens[i + 2]) in INTERMITTENT_PAIRS for i in range(len(tokens) - 2))


def _is_stale(tokens: Sequence[str]) -> bool:
    for index, word in enumerate(tokens):
        previous = tokens[index - 1] if index else ""
        # "where the tap used to be" is a place, not a past
        if word in STALE_WORDS or ((previous, word) in STALE_PAIRS and not (
                previous == "used" and "where" in tokens[max(0, index - 5):index - 1])):
            return True
        if previous == "last" and word in STALE_AFTER_LAST:
            return True
        if word == "ago" and STALE_BEFORE_AGO.intersection(tokens[max(0, index - 2):index]):
            return True
        if word in OLD_MARKS and "old" in tokens[max(0, index - 2):index]:
            return True
        if previous == "in" and _is_year(tokens, index):
            return True
        if word == "now" and (SETTLED.intersection(tokens[index + 1:index + 3])
                              or previous in SETTLED):
            return True  # "now it's fine", "it's dry now"
        if word in RESOLVED_VERBS and index:
            if previous not in WISH_BEFORE_RESOLVED:
                return True
            if previous in {"it", "them", "that"} and index > 1 and (
                    tokens[index - 2] in DONE_BEFORE_OBJECT):
                return True
    return False


def _is_year(tokens: Sequence[str], index: int) -> bool:
    """"2019", "twenty nineteen", "nineteen ninety": not "twenty minutes"."""
    word = tokens[index]
    if word.isdigit():
        return len(word) == 4 and word[:2] in {"19", "20"}
    following = tokens[index + 1] if index + 1 < len(tokens) else ""
    return word in YEAR_STARTS and (following in YEAR_ENDS or following.endswith("ty"))


def _is_hypothetical(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]
                     ) -> bool:
    """A what-if word before the trigger's last word ("if the pipe bursts", "pipes in case
    they burst"), in its clause."""
    first, last = span
    for index in range(last - 1, max(-1, first - 1 - HYPOTHETICAL_REACH), -1):
        if clauses[index] != clauses[last]:
            return False
        if tokens[index] in HYPOTHETICAL:
            return True
    return False


def talked_about(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """"The electrician we talked to said the panel is old": the person comes before a past
    "talked", so the caller tells of them; "I spoke to a person last week" too, unless the turn
    asks to speak again. "Let me speak to the lady I talked to" still counts."""
    if tokens[span[1]] in PAST_TALK and not TALK_NOW.intersection(tokens[:span[0]]):
        return True
    # "I talked to a robot last time and I want a person" still asks
    return (tokens[span[0]] in PAST_TALK and not TALK_NOW.intersection(tokens)
            and not ROBOT_WORDS.intersection(tokens[span[0]:span[1] + 1]))


def wants_a_visit(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """"get me someone out here": a technician to come, not a person to talk to now."""
    first, last = span
    if TALK_WORDS.intersection(tokens[max(0, first - 2):last + 1]) or (
            tokens[first] == "is" and tokens[last] == "in"):  # "is the boss in today"
        return False
    if VISIT_INSIDE.intersection(tokens[first + 1:last]):
        return True  # "get somebody out here"
    if tokens[last] == "here" and tokens[last - 1] != "on":
        return True  # "your guy was here"; "a person on here" is on the phone
    return bool(VISIT_WORDS.intersection(tokens[last + 1:last + 1 + VISIT_REACH]))
