"""Trigger words used in another sense: figures of speech, the caller's own job, a person told
about, time that "cost" the caller. The guard sets such a match aside (tools/escalation.py),
after a playbook phrase matched, so the business's triggers stay plain phrases.

- urgent, `figure_of_speech`: "fired the last contractor", "got fired", "fire up the grill",
  "the fire truck down the street", "a flood of emails", "flooded with work", "a documentary
  about house fires", "a sparks" (an electrician), "the boiler flame". "There's a fire",
  "it's on fire" and "the basement is flooded with water" still fire. A water heater that is
  out is hot water, not the heating ("the water heater keeps going out").
- human request, `not_a_request`:
  - the caller's own role ("I'm the office manager", "I'm a crane operator");
  - a person who did something ("the manager at my building gave me your number", "the boss
    gave me the afternoon off");
  - "lives" ("the owner lives overseas") and live wires;
  - a caller content with the AI ("I don't mind talking to a bot", "happy with the bot");
  - blame put on the caller ("don't put that on me" is no "put me through"), and a person who
    will be there for the visit ("a real live human will be here to open the door");
  - a comparison ("you're easier to talk to than most people"), what a talk is about ("talk
    about liability for the ceiling your guys damaged") and what someone gets from the caller
    ("the board will be getting a complaint from me about your guy").
  A talk in the past ("I spoke to a person last week") is `talked_about`, in
  tools/escalation_context.py.
- pricing, `time_cost`: "it cost me a whole afternoon", "the drive cost me an hour"; and
  `quoting_someone`: "to quote my husband, the shower sounds like a seagull" opening the turn.

It also finds requests for a person that no phrase names (`asks_for_someone`): "is he there?",
"is Dave around?", "I need to talk to Frank", "can you put Mrs. Alvarez on", "get ahold of
Mike", "I was told to ask for Kim", "could you have Julie call me", "tell Ahmed to call me
back". A name is a word the transcript capitalises inside its clause (the Realtime API's
transcripts do); "talk to Frank first" is the caller's own people.
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.escalation_context import ROBOT_WORDS, TALK_NOW

# "fired the contractor", "the furnace is firing": a verb, not a fire
FIRE_VERB_FORMS = frozenset({"fired", "firing"})
FIRE_WORDS = frozenset({"fire", "fires", "fired", "firing"})
# "the fire truck", "fire drill": the word names something else
FIRE_COMPOUNDS = frozenset({"truck", "trucks", "engine", "engines", "drill", "drills",
                            "brigade", "fighter", "fighters", "crew", "hydrant", "pit", "pits",
                            "wood", "works", "proof", "proofing", "rated", "escape", "door",
                            "marshal", "marshals", "inspector", "officer", "department",
                            "safety", "code", "extinguisher", "extinguishers", "exit", "chief",
                            "service", "off", "away", "over", "trap", "traps", "surround",
                            "surrounds", "grate", "guard", "hazard", "hazards", "blanket",
                            "blankets"})
# "the boiler flame looks blue", "the pilot flame": the appliance's own flame
APPLIANCE_FLAMES = frozenset({"boiler", "pilot", "burner", "hob", "cooker", "stove"})
FLAME_WORDS = frozenset({"flame", "flames"})
# "a wood fire in the lounge", "the open fire": a fireplace burning as it should
FIREPLACE_KINDS = frozenset({"wood", "log", "coal", "open", "real", "electric"})
# "my inbox is on fire", "a dumpster fire", "the sky's on fire with the sunsets"
FIGURATIVE_BURNING = frozenset({"inbox", "feed", "twitter", "timeline", "socials", "sky",
                                "skys", "dumpster"})
FIGURATIVE_REACH = 4
# "I was on fire in the quiz", "my daughter's on fire at work": a person doing well
PEOPLE_ON_FIRE = frozenset({"i", "im", "shes", "hes", "she", "he", "we", "youre", "theyre",
                            "team", "daughter", "daughters", "son", "sons", "husband",
                            "husbands", "wife", "wifes", "kids"})
DOING_WELL_AFTER = frozenset({"at", "in", "lately", "this", "these", "today", "tonight"})
# "I got a shock when I saw how old the wiring is": a surprise
PERCEIVED = frozenset({"saw", "seen", "see", "heard", "hear", "found", "find", "realised",
                       "realized", "read", "learned", "learnt", "noticed", "discovered"})
SURPRISE_REACH = 4
FLOODED_WHOM = frozenset({"me", "us", "him", "her", "them"})
HEATER_WORDS = frozenset({"heater", "heaters"})
FLOOD_WORDS = frozenset({"flood", "floods", "flooded", "flooding"})
# "a flood of emails", "flooded with work": many things arriving, not water
NOT_WATER = frozenset({"email", "emails", "call", "calls", "text", "texts", "message",
                       "messages", "work", "requests", "orders", "complaints", "inquiries",
                       "enquiries", "customers", "people", "jobs", "mail", "letters", "bills",
                       "memories", "tears", "questions", "notifications", "visitors", "junk",
                       "spam", "adverts", "ads", "offers", "scams"})
FLOOD_OF = frozenset({"of", "with"})
# "a documentary about house fires", "a video on electrical fires": something watched
MEDIA = frozenset({"documentary", "documentaries", "programme", "program", "video", "videos",
                   "article", "film", "podcast", "episode", "series"})
MEDIA_ABOUT = frozenset({"about", "on"})
MEDIA_REACH = 4
# "nearly went up in smoke", "almost caught fire": a close call, over
NEARLY = frozenset({"nearly", "almost"})
CLOSE_CALLS = frozenset({"went", "caught", "had", "burned", "burnt", "set"})

# a person named by their job: whose job it is decides whether it is a request
ROLES = frozenset({"manager", "managers", "owner", "owners", "operator", "operators", "boss",
                   "supervisor", "supervisors", "receptionist", "representative", "agent",
                   "dispatcher"})
OWN_ROLE_CUES = frozenset({"im", "am", "iam", "ive"})
OWN_ROLE_REACH = 4
# "the manager at my building gave me your number": the person did something, told of
REPORTED = frozenset({"gave", "asked", "told", "said", "sent", "recommended", "referred",
                      "suggested", "mentioned", "wanted", "called", "rang", "says", "wants"})
REPORTED_REACH = 7
# "can I speak to the manager, he told me to call": a request, then what he did
ASKED_FOR = frozenset({"talk", "speak", "chat", "want", "need", "get", "put", "transfer",
                       "connect", "reach"})
LIVE_VERB_FORMS = frozenset({"lives", "lived"})
LIVE_CURRENT = frozenset({"wire", "wires", "wiring", "circuit", "circuits", "current",
                          "electric", "electrics", "cable", "cables"})
# "I don't mind talking to a bot", "I'm happy with the bot": content with the AI
CONTENT_PAIRS = frozenset({("dont", "mind"), ("happy", "with"), ("thats", "fine"),
                           ("is", "fine"), ("no", "problem"), ("dont", "care"), ("very", "good"),
                           ("fine", "talking"), ("fine", "with"), ("good", "for")})
# "a real person answered last time": told of
ANSWERED = frozenset({"answered", "picked"})
CONTENT_WORDS = frozenset({"natural", "quicker", "impressive", "easier"})
# "don't put that on me", "put the blame on me": not "put me through"
BLAMED = frozenset({"that", "it", "this", "blame"})
# "a real person will be home": someone who will be there for the visit
WILL_BE = frozenset({("will", "be"), ("ll", "be"), ("is", "going")})

TIME_WORDS = frozenset({"afternoon", "morning", "evening", "day", "days", "hour", "hours",
                        "week", "weeks", "weekend", "night", "minutes", "time"})
COST_WORDS = frozenset({"cost", "costs", "costing"})
MONEY_WORDS = frozenset({"dollars", "dollar", "bucks", "pounds", "euros", "money", "grand",
                         "quid", "fee", "price"})
TIME_COST_REACH = 4
# "to quote my husband, ...", "so, to quote the last plumber": the caller quotes someone
QUOTE_OPENERS = frozenset({"so", "well", "and", "or", "but", "just", "i", "mean"})
QUOTE_WORDS = frozenset({"quote", "quoting"})
# whom: "to quote my husband", "to quote the last plumber"; not "to quote for the job"
QUOTED_PEOPLE = frozenset({"my", "our", "his", "her", "their", "mr", "mrs", "ms", "dr"})
QUOTED_THE = frozenset({"last", "previous", "old", "other", "great", "famous", "late"})


def figure_of_speech(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """An urgent match whose fire or flood is a figure of speech or another thing's name."""
    first, last = span
    for index in range(first, last + 1):
        word = tokens[index]
        following = tokens[index + 1:index + 3]
        if word in HEATER_WORDS and index == first and index and tokens[index - 1] == "water":
            return True  # "the water heater is out"; "water heater burst" matches "water" too
        if word in FIRE_WORDS:
            if word in FIRE_VERB_FORMS or following[:1] == ["up"] or following[1:] == ["up"]:
                return True
            if word == "fires" and index and tokens[index - 1] in {"it", "boiler", "boilers"}:
                return True  # "a click before it fires": the boiler lighting
            if following[:1] and following[0] in FIRE_COMPOUNDS:
                return True
            if index and tokens[index - 1] in FIREPLACE_KINDS:
                return True
            if FIGURATIVE_BURNING.intersection(tokens[max(0, index - FIGURATIVE_REACH):index]):
                return True
            if (index and tokens[index - 1] == "on" and following[:1]
                    and following[0] in DOING_WELL_AFTER
                    and PEOPLE_ON_FIRE.intersection(tokens[max(0, index - 4):index - 1])):
                return True
        if word in FLAME_WORDS and index and tokens[index - 1] in APPLIANCE_FLAMES:
            return True  # "the boiler flame looks fine", not "the boiler's got flames"
        if word in {"shock", "shocked"} and PERCEIVED.intersection(
                tokens[index + 1:index + 1 + SURPRISE_REACH]):
            return True
        if word == "sparks" and following[:1] == ["flew"] and following[1:] != ["out"]:
            return True  # "sparks flew at the wedding"
        if word == "sparks" and index and tokens[index - 1] == "a":
            return True  # "I need a sparks to fit some sockets": an electrician
        before = tokens[max(0, first - MEDIA_REACH):first]
        if any(word in NEARLY and before[at + 1:at + 2] and before[at + 1] in CLOSE_CALLS
               for at, word in enumerate(before)):
            return True  # "the house nearly went up in smoke": it did not
        if MEDIA.intersection(before) and MEDIA_ABOUT.intersection(before):
            return True  # "I watched a documentary about house fires"
        if word in FLOOD_WORDS:
            skip = 1 if following[:1] and following[0] in FLOODED_WHOM else 0  # "flooding me with"
            at = index + 1 + skip
            if (tokens[at:at + 1] and tokens[at] in FLOOD_OF
                    and NOT_WATER.intersection(tokens[at + 1:at + 3])):
                return True
    return False


def not_a_request(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """A human-request match that tells of a person, or of the caller, rather than asking."""
    first, last = span
    matched = tokens[first:last + 1]
    if LIVE_VERB_FORMS.intersection(matched) or "gave" in matched:
        return True
    for index in range(first, last + 1):
        if tokens[index] == "live" and LIVE_CURRENT.intersection(tokens[index + 1:index + 3]):
            return True
    if ROBOT_WORDS.intersection(matched) and _content_with_the_ai(tokens):
        return True
    if tokens[last + 1:last + 2] and tokens[last + 1] in ANSWERED:
        return True
    if tokens[first] == "put" and BLAMED.intersection(tokens[first + 1:first + 3]) and (
            "me" not in tokens[first + 1:first + 2]):
        return True  # "don't put that on me": blame, not "put me through"
    if tuple(tokens[last + 1:last + 3]) in WILL_BE and tokens[last + 3:last + 4] and (
            tokens[last + 3] in PRESENT_HERE | {"here", "home"}):
        return True  # "a real live human will be here to open the door"
    if first == last and tokens[first] in ROLES:
        return _own_role(tokens, first) or _role_did_something(tokens, first)
    if tokens[first] in TALK_NOW and (
            "than" in matched or tokens[first + 1:first + 2] == ["about"]):
        return True  # "easier to talk to than most people", "talk about liability ... your guys"
    return any(tokens[at:at + 2] == ["from", "me"] for at in range(first, last))


def _own_role(tokens: Sequence[str], at: int) -> bool:
    """"I'm the office manager", "I'm a crane operator"."""
    return bool(OWN_ROLE_CUES.intersection(tokens[max(0, at - OWN_ROLE_REACH):at]))


def _role_did_something(tokens: Sequence[str], at: int) -> bool:
    """"The manager at my building gave me your number", unless the caller asked for them."""
    if ASKED_FOR.intersection(tokens[:at]):
        return False
    return bool(REPORTED.intersection(tokens[at + 1:at + 1 + REPORTED_REACH]))


def _content_with_the_ai(tokens: Sequence[str]) -> bool:
    for index, word in enumerate(tokens):
        if index and (tokens[index - 1], word) in CONTENT_PAIRS:
            return True
        if word in CONTENT_WORDS and "not" not in tokens[max(0, index - 2):index]:
            return True
    return False


def time_cost(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """"It cost me a whole afternoon": time lost, not a price (no money word near it)."""
    first, last = span
    for index in range(first, last + 1):
        if tokens[index] not in COST_WORDS:
            continue
        following = tokens[index + 1:index + 1 + TIME_COST_REACH]
        times = [word for at, word in enumerate(following) if word in TIME_WORDS
                 and not (at and following[at - 1] == "these")]  # "cost these days": nowadays
        if times and not MONEY_WORDS.intersection(following):
            return True
    return False


def quoting_someone(tokens: Sequence[str], clauses: Sequence[int], span: tuple[int, int]) -> bool:
    """A pricing "quote" that opens the turn ("To quote my husband, the shower sounds like a
    seagull"): the caller quotes someone; "I'd like you to quote for it" still asks."""
    first, last = span
    if first != last or tokens[first] not in QUOTE_WORDS or not first:
        return False
    if tokens[first - 1] != "to" and tokens[first] != "quoting":
        return False
    whom = tokens[first + 1:first + 3]
    if not (whom[:1] and whom[0] in QUOTED_PEOPLE) and not (
            whom[:1] == ["the"] and whom[1:] and whom[1] in QUOTED_THE):
        return False
    opening = first - 1 if tokens[first] == "quote" else first
    return all(word in QUOTE_OPENERS or clauses[at] != clauses[opening]
               for at, word in enumerate(tokens[:opening]))


# "is he there?", "is Dave around?": a person the caller asks for by pronoun or by name (a word
# the transcript capitalises inside its clause, "Mrs. Alvarez")
PRONOUNS = frozenset({"he", "she"})
PRESENT_HERE = frozenset({"there", "around", "in", "available", "about", "free"})
TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr"})
NOT_NAMES = frozenset({"i", "ai", "ok", "okay", "monday", "tuesday", "wednesday", "thursday",
                       "friday", "saturday", "sunday", "january", "february", "march", "april",
                       "may", "june", "july", "august", "september", "october", "november",
                       "december", "christmas", "easter", "thanksgiving", "god"})
# "I need to talk to Frank first": the caller's own people, before they decide
NOT_YET = frozenset({"first", "before", "tonight", "about"})
# "he said to ask for him when I called", "I was told to ask for Kim"
TOLD_TO_ASK = frozenset({"told", "said", "asked"})
ASKS_FOR_SOMEONE = "asks for someone by name"
# "is the boss in", "is the site manager available to speak"
ASKED_ROLES = frozenset({"boss", "owner", "manager", "supervisor", "gaffer", "proprietor",
                         "foreman"})
# "could you have Julie call me", "tell Ahmed to call me back", "get Dave to ring me"
CALL_ME_ASKERS = frozenset({"have", "tell", "get", "ask"})
CALL_VERBS = frozenset({"call", "ring", "phone", "text"})
CALLED = frozenset({"me", "us", "back"})


def capitalised_names(tokens: Sequence[str], clauses: Sequence[int],
                      words: Sequence[str]) -> list[bool]:
    """Per token: written with a capital inside its clause and not a common capitalised word.
    `words` are the text's words before casefolding, one per token (else no names at all)."""
    if len(words) != len(tokens):
        return [False] * len(tokens)
    return [index > 0 and clauses[index - 1] == clauses[index] and word[:1].isupper()
            and tokens[index] not in NOT_NAMES
            for index, word in enumerate(words)]


def asks_for_someone(tokens: Sequence[str], clauses: Sequence[int],
                     names: Sequence[bool] = ()) -> tuple[int, int] | None:
    """(first, last) of "is he there" or "is Dave around" closing its clause, "talk to Frank",
    "put Mrs. Alvarez on", "get ahold of Mike", or "told to ask for him"."""
    names = names or [False] * len(tokens)
    for index, word in enumerate(tokens[:-1]):
        following = index + 1
        if word == "is":
            end = _person_end(tokens, names, following, pronouns=True)
            end = _role_end(tokens, following) if end is None else end
            if (end is not None and end < len(tokens) and tokens[end] in PRESENT_HERE
                    and (_closes_clause(clauses, end, tokens)
                         or (tokens[end + 1:end + 2] == ["to"] and tokens[end + 2:end + 3]
                             and tokens[end + 2] in TALK_NOW))):
                return index, end  # "is he there yet" waits for a visit
        elif (word in TALK_NOW or (word == "deal" and index and tokens[index - 1] == "only")
              ) and tokens[following] in {"to", "with"}:
            end = _person_end(tokens, names, following + 1)
            if end is not None and not NOT_YET.intersection(tokens[end:end + 1]):
                return index, end - 1
        elif word in CALL_ME_ASKERS:
            end = _person_end(tokens, names, following) or _someone_end(tokens, following)
            if end is not None and _call_me(tokens, end):
                return index, end
        elif word == "put":
            end = _person_end(tokens, names, following)
            if end is not None and tokens[end:end + 1] == ["on"]:
                return index, end
        elif word == "reach" or (word == "of" and index and tokens[index - 1] in {"ahold", "hold"}):
            end = _person_end(tokens, names, following)
            if end is not None:
                return index, end - 1
        elif (word == "for" and index and tokens[index - 1] == "ask"
              and TOLD_TO_ASK.intersection(tokens[max(0, index - 4):index])):
            end = _person_end(tokens, names, following, pronouns=True, objects=True)
            if end is not None:
                return index - 1, end - 1
    return None


def _role_end(tokens: Sequence[str], at: int) -> int | None:
    """The index after "the boss", "the site manager" at `at`, or None."""
    if tokens[at:at + 1] != ["the"]:
        return None
    for end in (at + 2, at + 3):
        if tokens[end - 1:end] and tokens[end - 1] in ASKED_ROLES:
            return end
    return None


def _person_end(tokens: Sequence[str], names: Sequence[bool], at: int, *,
                pronouns: bool = False, objects: bool = False) -> int | None:
    """The index after a person named at `at` ("Dave", "Steve Kowalski", "Mrs Alvarez", "he"),
    or None."""
    if at >= len(tokens):
        return None
    if pronouns and (tokens[at] in PRONOUNS or (objects and tokens[at] in {"him", "her"})):
        return at + 1
    if tokens[at] in TITLES and at + 1 < len(tokens):
        at += 1
    elif not names[at]:
        return None
    end = at + 1
    if end < len(tokens) and names[end]:
        end += 1  # a surname
    return end


def _someone_end(tokens: Sequence[str], at: int) -> int | None:
    """"have them call me", "get someone to ring me": the index after them, or None."""
    return at + 1 if tokens[at:at + 1] and tokens[at] in {"them", "someone", "somebody"} else None


def _call_me(tokens: Sequence[str], at: int) -> bool:
    """"call me" / "to ring me back" at `at`."""
    if tokens[at:at + 1] == ["to"]:
        at += 1
    return (tokens[at:at + 1] != [] and tokens[at] in CALL_VERBS
            and tokens[at + 1:at + 2] != [] and tokens[at + 1] in CALLED)


# "is Steve there, mate": a word that only addresses the AI
VOCATIVES = frozenset({"mate", "please", "love", "pal", "buddy", "then", "today", "now"})


def _closes_clause(clauses: Sequence[int], at: int, tokens: Sequence[str] = ()) -> bool:
    if tokens and at + 1 < len(tokens) and tokens[at + 1] in VOCATIVES:
        at += 1
    return at + 1 == len(clauses) or clauses[at + 1] != clauses[at]
