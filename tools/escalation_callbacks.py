"""Requests for a person that name no one a phrase knows, matched in word order
(tools/escalation.py asks `asks_for_a_call` when no human-request phrase matched):

- someone of ours asked to ring the caller: "can you get the scheduler to ring me", "please have
  the engineer phone me", "could you have the chap who did my quote give me a ring back"; not
  the caller's own people ("I'll get my husband to ring you") nor a promise told of ("they said
  they'd get someone to call me").
- someone wanted to ring: "he'd like someone to call him", "I'd like someone at the office to
  call my wife", "it'd be easier if someone just called
  me"; a call wanted from us: "I'd like a callback from the office", "I'm returning a call from
  someone called Paul", "could I get a call back from the scheduler"; not "I'm waiting on a
  call back from the insurer" nor "did I get a call from you".
- someone put on the line: "can you put him on", "just put someone on", "can you put marie on";
  not "put him on the list", "can you put it on" nor "put covers on".
- a turn that is only the ask: "person", "transfer please", "a human"; not "the person".
- one of ours asked whether they can ring: "could the estimator give me a ring about the
  numbers", "can your office manager call me back"; not "can the roofer phone me when he's
  leaving the yard" (a heads-up).
- one of ours asked for by role: "can I reach the engineer directly", "I'd like to talk to the
  site manager for our job"; not "I'll speak to the engineer when he comes".
- one asked for by a name the transcript did not capitalise: "is sharon in" opening the turn,
  "I was told to ask for aisha" closing it; not "is it in", "is friday available" or "told to
  ask for a quote".
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.escalation_figures import NOT_NAMES

CALL_RULE = "asks for a call or a person"

ASKERS = frozenset({"have", "get", "ask", "tell"})
# before an asker, the caller (or someone told of) does it: "I'll get my son to ring you"
NOT_ASKING = frozenset({"i", "ill", "id", "we", "well", "wed", "theyd", "theyll", "hed", "shed",
                        "said", "promised", "would", "will", "to"})
CALL_VERBS = frozenset({"call", "ring", "phone", "bell"})
CALLED = frozenset({"me", "us", "back", "him", "her", "my", "our"})
# who of ours is asked to ring: "the engineer", "one of your estimators", "jenny in the office"
OURS = frozenset({"engineer", "engineers", "plumber", "plumbers", "electrician", "electricians",
                  "scheduler", "schedulers", "estimator", "estimators", "office", "someone",
                  "somebody", "manager", "boss", "owner", "chap", "bloke", "man", "lady",
                  "woman", "guy", "fitter", "roofer", "builder", "technician", "tech",
                  "person", "them", "supervisor", "foreman", "surveyor", "sweep", "sparky"})
ASKER_REACH = 8
# "give me a ring": "could you have the chap give me a ring back"
RING_NOUNS = frozenset({"ring", "call", "bell", "buzz"})
# before "someone to call me": a call wanted
WANTED = frozenset({"like", "want", "need", "rather", "prefer", "easier", "better", "quicker",
                    "if", "returning", "wanted"})
WANTED_REACH = 5
SOMEONE = frozenset({"someone", "somebody", "anyone", "anybody"})
CALLED_VERBS = frozenset({"call", "ring", "phone", "called", "rang", "phoned"})
# "a callback from", "a call back from", "a call from"
CALLBACKS = frozenset({"callback", "call"})
# a callback got: "can I get a callback from the office"
GET = frozenset({"get", "have"})
PUT_ON = frozenset({"him", "her", "someone", "somebody", "them"})
# "can you put marie on": a name asked for closes the turn
CAN_YOU = frozenset({"can", "could", "will", "would"})
# "can ryan call me": a name then a call
CAN = frozenset({"can", "could"})
# a turn that is only the ask: "person", "transfer please"
ALONE_ASKS = frozenset({"person", "transfer", "human", "humans"})
ALONE_FILLER = frozenset({"a", "please", "just", "me", "now", "real"})
# "can we call back later": the caller's side, not a name
CALLERS_SIDE = frozenset({"we", "i", "they", "u", "ya", "yous"})
AFTER_PUT_ON = frozenset({"please", "then", "now", "mate", "would", "could", "quick",
                          "quickly", "for", "love"})
# "can I reach the engineer", "I'd like to talk to the site manager"
REACH_VERBS = frozenset({"reach", "talk", "speak"})
MAY_I = frozenset({"can", "could", "may", "like", "want", "let"})
ROLES = frozenset({"engineer", "plumber", "electrician", "manager", "lady", "man", "woman",
                   "chap", "bloke", "guy", "estimator", "scheduler", "surveyor", "foreman",
                   "fitter", "roofer", "builder", "technician", "supervisor", "boss", "owner"})
ROLE_WORDS = 3  # "the site manager", "the lady who answered"
LATER = frozenset({"when", "about", "first", "before", "tonight", "tomorrow", "on", "once",
                   "after", "while"})
PRESENT_HERE = frozenset({"in", "around", "there", "about", "available"})
NOT_A_NAME = frozenset({"it", "that", "this", "there", "everything", "anything", "something",
                        "everyone", "anyone", "the", "a", "an", "your", "my", "our", "he",
                        "she", "they", "water", "power", "gas", "you", "help", "advice", "them",
                        "details", "more", "one"})
TOLD = frozenset({"told", "said", "asked"})
# "I'd like the engineer to call me when he's on his way": a heads-up, not someone asked for
CALL_LATER = frozenset({"when", "once", "after", "before", "while"})
# built once: the two checks below run on every caller turn
NEVER_A_NAME = NOT_A_NAME | NOT_NAMES


def asks_for_a_call(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of a request for one of our people to ring or come on the line, or None."""
    for cue in (_have_them_ring, _someone_to_ring, _callback_from, _put_on, _reach_the_role,
                _lowercase_name, _name_to_ring, _only_the_ask, _can_the_role_ring):
        span = cue(tokens, clauses)
        if span is not None:
            return span
    return None


def _have_them_ring(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    for index, word in enumerate(tokens):
        if word not in ASKERS or (index and tokens[index - 1] in NOT_ASKING):
            continue
        for at in range(index + 2, min(len(tokens) - 1, index + 1 + ASKER_REACH)):
            if clauses[at] != clauses[index]:
                break
            if _a_call_at(tokens, at) and OURS.intersection(tokens[index + 1:at]):
                return index, at + 1
    return None


def _a_call_at(tokens: Sequence[str], at: int) -> bool:
    """"call me", "ring us back" or "give me a ring" starts at `at` (a token before the last)."""
    if tokens[at] in CALL_VERBS and tokens[at + 1] in CALLED:
        return True
    return (tokens[at] == "give" and tokens[at + 1] in {"me", "us"}
            and tokens[at + 2:at + 3] == ["a"] and tokens[at + 3:at + 4] != []
            and tokens[at + 3] in RING_NOUNS)


def _someone_to_ring(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    for index, word in enumerate(tokens):
        ours = word in OURS and index > 0 and tokens[index - 1] in {"the", "your"}
        if (word not in SOMEONE and not ours) or not WANTED.intersection(
                tokens[max(0, index - WANTED_REACH):index]):
            continue
        at = index + 1
        where = tokens[at:at + 3]
        if len(where) == 3 and where[0] in {"at", "in", "from"} and where[1] == "the" and (
                where[2] in OURS):
            at += 3  # "someone at the office to call my wife"
        while at < len(tokens) and tokens[at] in {"just", "to"}:
            at += 1
        if (at + 1 < len(tokens) and clauses[at] == clauses[index] and tokens[at] in CALLED_VERBS
                and tokens[at + 1] in CALLED
                and not CALL_LATER.intersection(tokens[at + 2:at + 3])):
            return index, at + 1
    return None


def _callback_from(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    for index, word in enumerate(tokens):
        if word not in CALLBACKS:
            continue
        back = word == "callback" or tokens[index + 1:index + 2] == ["back"]
        at = index + 1 + (word != "callback" and back)
        # "can I get a callback from the estimator" (not "did I get a call from you")
        wanted = WANTED | GET if back else WANTED
        if tokens[at:at + 1] == ["from"] and wanted.intersection(
                tokens[max(0, index - WANTED_REACH):index]) and clauses[at] == clauses[index]:
            return index, at
    return None


def _put_on(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    for index, word in enumerate(tokens[:-2]):
        if word != "put" or tokens[index + 2] != "on":
            continue
        # a plural is a thing put on: "can you put covers on", "put gloves on"
        named = (tokens[index + 1] not in NEVER_A_NAME and not tokens[index + 1].endswith("s")
                 and index >= 2
                 and tokens[index - 2] in CAN_YOU and tokens[index - 1] == "you")
        if tokens[index + 1] not in PUT_ON and not named:
            continue
        after = index + 3
        if (after == len(tokens) or clauses[after] != clauses[index]
                or tokens[after] in AFTER_PUT_ON):
            return index, index + 2
    return None


def _reach_the_role(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    for index, word in enumerate(tokens):
        if word not in REACH_VERBS or not MAY_I.intersection(tokens[max(0, index - 4):index]):
            continue
        at = index + 1 + (tokens[index + 1:index + 2] == ["to"])
        if tokens[at:at + 1] != ["the"]:
            continue
        for end in range(at + 1, min(len(tokens), at + 1 + ROLE_WORDS)):
            if clauses[end] != clauses[index]:
                break
            if tokens[end] in ROLES:
                if not LATER.intersection(tokens[end + 1:end + 2]):
                    return index, end
                break
    return None


def _lowercase_name(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    # "is sharon in" opening the turn, as its own clause; not "is friday available"
    if (len(tokens) >= 3 and tokens[0] == "is" and tokens[1] not in NEVER_A_NAME
            and tokens[2] in PRESENT_HERE and (len(tokens) == 3 or clauses[3] != clauses[0])):
        return 0, 2
    # "I was told to ask for aisha" closing the turn
    if (len(tokens) >= 4 and tokens[-3:-1] == ["ask", "for"]
            and tokens[-1] not in NEVER_A_NAME
            and TOLD.intersection(tokens[-7:-3])):
        return len(tokens) - 3, len(tokens) - 1
    return None


def _name_to_ring(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    # "can ryan call me", "could jo ring me back" opening the turn
    if (len(tokens) >= 4 and tokens[0] in CAN and tokens[1] not in NEVER_A_NAME
            and tokens[1] not in CALLERS_SIDE
            and tokens[2] in CALL_VERBS and tokens[3] in CALLED and clauses[3] == clauses[0]
            and not CALL_LATER.intersection(tokens[4:5])):
        return 0, 3
    return None


def _only_the_ask(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    # "person", "transfer please": the whole turn is the ask
    del clauses
    if len(tokens) <= 3 and ALONE_ASKS.intersection(tokens) and all(
            word in ALONE_ASKS or word in ALONE_FILLER for word in tokens):
        return 0, len(tokens) - 1
    return None


def _can_the_role_ring(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    # "can the surveyor ring me", "could the foreman give me a call"
    for index, word in enumerate(tokens[:-3]):
        if word not in CAN or tokens[index + 1] not in {"the", "your"}:
            continue
        if not OURS.intersection(tokens[index + 2:index + 4]):
            continue
        for at in range(index + 3, min(len(tokens) - 1, index + 2 + ASKER_REACH)):
            if clauses[at] != clauses[index]:
                break
            if _a_call_at(tokens, at):
                later = tokens[at + 2:at + 5] if tokens[at] == "give" else tokens[at + 2:at + 3]
                return None if CALL_LATER.intersection(later) else (index, at + 1)
    return None
