"""Legal cues that are English-language rules rather than playbook phrases: the guard asks them
when the legal category's phrases found nothing (tools/escalation.py).

- `damage_blamed_on_us` is a legal cue of its own: one of our people (or "you") as the subject of
  a damage verb in the past tense, "your guy scratched my floor", "the plumber you sent cracked
  the tile", "your guys left a mess and broke a tile", "your tech knocked a hole in my wall".
  Determiners and service verbs keep "can you fix my cracked tile" out. So are "your installer
  drilled through a pipe", "your workers left the gate open" and "knocked bricks off", "your
  lads caused it", and damage "caused by the socket your electrician fitted".
- `at_your_expense`: "I want it put right at your expense", "cleaned at your own cost": the
  caller holds us to pay, a claim rather than a price question; so does "that's on you"
  closing what the caller says ("my fridge died, and that's on you"), not "that's on your
  list" or "it's on your website".
- `hazard_caused_by_us`: a fire or the like that our people "caused" ("the fire your electrician
  caused", "your contractor caused a fire and my insurer is pursuing you"), told with nothing
  saying it goes on now: the damage is what the legal question is about.
- `lawsuit_word`: "sued" and "suing" are legal cues whoever sues ("the hoa is suing me"); the
  bare "sue" is also a name, so it needs a playbook phrase ("can I sue", "I'll sue").
"""

from __future__ import annotations

from collections.abc import Sequence

from tools.escalation_context import ACTIVE_WORDS, NEGATIONS

# who "we" are, as a caller says it
OUR_PEOPLE = frozenset({"guy", "guys", "tech", "techs", "technician", "technicians", "plumber",
                        "plumbers", "electrician", "electricians", "installer", "installers",
                        "worker", "workers", "crew", "team", "man", "men", "people",
                        "employee", "employees", "contractor", "company", "handyman",
                        "helper", "roofer", "painter", "bloke", "blokes", "fella", "carpenter",
                        "driver", "drivers", "lads", "fitter", "fitters", "builder", "builders",
                        "plasterer", "plasterers", "tiler", "tilers", "decorator", "joiner",
                        "sparky", "sparkie", "tradie", "tradies", "apprentice", "labourer",
                        "roofers", "painters", "carpenters", "joiners", "decorators",
                        "handymen", "tradesman", "tradesmen", "engineer", "engineers",
                        "apprentices", "labourers", "sparkies"})
# a trade named with "the" is a contractor for a home-services line; "the guy" is anybody
TRADES = frozenset({"tech", "technician", "plumber", "electrician", "installer", "crew",
                    "worker", "workers", "handyman", "roofer", "contractor"})
YOU = frozenset({"you", "ya", "yall"})
DAMAGED = frozenset({"broke", "damaged", "scratched", "ruined", "dented", "cracked", "stained",
                     "destroyed", "wrecked", "scuffed", "chipped", "gouged", "tore", "ripped",
                     "smashed", "flooded", "burned", "burnt", "messed", "punctured", "busted",
                     "shattered", "dinged", "fried", "stripped", "bent", "nicked", "marred",
                     "severed", "shorted", "scorched", "singed", "flattened", "crushed",
                     "caused"})
# "your installer drilled through a water pipe", "your guy cut into my cable"
THROUGH_VERBS = frozenset({"drilled", "cut", "nailed", "screwed", "dug", "sawed", "sawn"})
# "your workers left the gate open", "left us without water", "knocked bricks off my chimney"
LEFT_OR_KNOCKED = {"left": frozenset({"open", "without"}), "knocked": frozenset({"off"})}
# "your tech knocked a hole in my drywall"
HOLE_VERBS = frozenset({"knocked", "punched", "kicked", "left"})
HOLE_REACH = 3
# "your guys left a mess and broke a tile": a second verb of the same subject
AND_REACH = 6
# a service verb between "you" and the damage word makes it an adjective ("fix my cracked")
SERVICE_VERBS = frozenset({"fix", "repair", "replace", "look", "check", "come", "patch", "help",
                           "take", "see", "clean", "install", "send", "handle", "do", "quote"})
DETERMINERS = frozenset({"my", "the", "a", "an", "our", "this", "that", "some", "his", "her",
                         "their", "those", "these", "its", "is", "was", "got", "get"})
BLAME_REACH = 3
BLAME_RULE = "damage blamed on us"
# "caused by the socket your electrician fitted"
CAUSED_BY_REACH = 4
EXPENSE_RULE = "at your expense"
EXPENSES = frozenset({"expense", "cost"})
# "Sue" is also a name; "sued" and "suing" are not
LAWSUIT_FORMS = frozenset({"sued", "suing"})
LAWSUIT_RULE = "sued or suing"
LAWYERS = frozenset({"lawyer", "lawyers", "attorney", "attorneys", "solicitor", "solicitors",
                     "barrister", "barristers"})
# what a lawyer in a legal matter does; any of these keeps the match
LEGAL_ACTS = frozenset({"sue", "suing", "sued", "court", "courts", "liable", "liability",
                        "claim", "negligence", "damages", "compensation", "advised", "advice",
                        "letter", "action", "proceedings", "contract", "breach", "refund",
                        "warranty", "responsible", "fault", "contact", "contacting", "touch",
                        "writing", "dispute", "case", "deal", "dealing", "handling",
                        "leg", "record", "recording", "write"})  # "you haven't a leg to stand on"
# "my lawyer friend recommended you", "my solicitor's holding the keys", "he found your website"
LAWYER_DID = frozenset({"recommended", "found", "holding", "gave", "referred"})
LAWYER_DID_REACH = 6
# "<someone>'s a lawyer" once apostrophes are gone: a job in the family, not a threat (a turn
# with a legal act in it, "my cousin's a lawyer and says you're liable", still fires)
WHOSE_JOB = frozenset({"hes", "shes", "daughters", "sons", "husbands", "wifes", "partners",
                       "dads", "mums", "moms", "mothers", "fathers", "sisters", "brothers",
                       "friends", "neighbours", "neighbors", "lodgers", "tenants", "flatmates",
                       "roommates", "grandsons", "granddaughters", "nieces", "nephews",
                       "landlords", "landladys", "uncles", "aunts", "cousins", "grandads"})
# "my dad's a retired solicitor", "she's training to be a lawyer"
JOB_QUALIFIERS = frozenset({"retired", "former", "trainee", "qualified", "junior", "senior",
                            "practising", "practicing"})


def damage_blamed_on_us(tokens: Sequence[str], clauses: Sequence[int]) -> tuple[int, int] | None:
    """(first, last) of "your guy scratched" / "you broke", or None."""
    for index, word in enumerate(tokens):
        previous = tokens[index - 1] if index else ""
        if word == "caused" and tokens[index + 1:index + 2] == ["by"]:
            for whose in range(index + 2, min(len(tokens), index + 2 + CAUSED_BY_REACH)):
                if clauses[whose] != clauses[index]:
                    break
                if tokens[whose] in YOU or tokens[whose] == "your":
                    return index, whose
        is_agent = word in YOU or (word in OUR_PEOPLE and previous in {"your", "yall"}) or (
            word in TRADES and previous in {"the", "that"})
        if not is_agent:
            continue
        start = index - (1 if previous in {"your", "yall", "the", "that"} else 0)
        at = _blamed_damage(tokens, clauses, index)
        if at is not None:
            return start, at
    return None


def _blamed_damage(tokens: Sequence[str], clauses: Sequence[int], agent: int) -> int | None:
    """The damage verb whose subject is tokens[agent]: "broke" in "your guy broke", "you
    just cracked", "your guys left a mess and broke a tile", "knocked a hole"."""
    for at in range(agent + 1, min(len(tokens), agent + 2 + AND_REACH)):
        if clauses[at] != clauses[agent] or tokens[at] in NEGATIONS:
            return None
        word, following = tokens[at], tokens[at + 1:at + 2 + HOLE_REACH]
        if at > agent + 1 + BLAME_REACH or SERVICE_VERBS.intersection(tokens[agent + 1:at]):
            # a second verb after "and", taking an object: not "fix the sink and cracked tile"
            if (tokens[at - 1] == "and" and word in DAMAGED
                    and following[:1] and following[0] in DETERMINERS):
                return at
            continue
        if (word in DAMAGED or (word in HOLE_VERBS and {"hole", "holes"}.intersection(following))
                or (word in THROUGH_VERBS and following[:1] in (["through"], ["into"]))
                or (word in LEFT_OR_KNOCKED and LEFT_OR_KNOCKED[word].intersection(following))
                or (word == "put" and {"foot", "knee"}.intersection(following)
                    and "through" in following)):
            return None if tokens[at - 1] in DETERMINERS else at
        if word in SERVICE_VERBS:
            continue
    return None


# the hazard right before the one who caused it, or right after "caused"
CAUSED_HAZARD_REACH = 2


def hazard_caused_by_us(tokens: Sequence[str], clauses: Sequence[int],
                        span: tuple[int, int]) -> bool:
    """An urgent match that our people "caused", told as the past: "the fire your electrician
    caused", "your contractor caused a fire"; not "he caused a fire and it's still smoking"."""
    blamed = damage_blamed_on_us(tokens, clauses)
    if blamed is None or tokens[blamed[1]] != "caused" or ACTIVE_WORDS.intersection(tokens):
        return False
    start, verb = blamed
    return (0 < start - span[1] <= CAUSED_HAZARD_REACH
            or 0 < span[0] - verb <= CAUSED_HAZARD_REACH)


ON_YOU = frozenset({"thats", "its"})


def at_your_expense(tokens: Sequence[str], clauses: Sequence[int] = ()) -> tuple[int, int] | None:
    """(first, last) of "at your expense" / "at your own cost" / "that's on you" closing its
    clause, or None."""
    for index, word in enumerate(tokens[:-2]):
        if word in ON_YOU and tokens[index + 1:index + 3] == ["on", "you"] and (
                index + 3 == len(tokens) or (clauses and clauses[index + 3] != clauses[index])):
            return index, index + 2
    for index, word in enumerate(tokens[:-2]):
        if word != "at" or tokens[index + 1] != "your":
            continue
        end = index + 3 if tokens[index + 2] == "own" else index + 2
        if end < len(tokens) and tokens[end] in EXPENSES:
            return index, end
    return None


def lawyer_told_of(tokens: Sequence[str], span: tuple[int, int]) -> bool:
    """A legal match that is only a lawyer in the caller's life: the caller's job ("I'm a
    solicitor, so my hours vary", "a lawyer myself"), a family member's ("my daughter's a
    solicitor"), the caller's workplace ("calling from the solicitors' office"), a "lawyer
    friend", or a lawyer who did something else ("recommended you"), with no legal act in the
    turn ("my lawyer said you're liable" and "my cousin's a lawyer, you're liable" still fire)."""
    first, last = span
    if not LAWYERS.intersection(tokens[first:last + 1]) or LEGAL_ACTS.intersection(tokens):
        return False
    before = tokens[max(0, first - 3):first]
    following = tokens[last + 1:last + 2]
    own_job = before[-2:] in (["im", "a"], ["am", "a"]) or before == ["im", "a", "trainee"]
    # "my daughter's a solicitor", "my husband's an attorney", "I'm a lawyer myself"
    if before[-1:] and before[-1] in JOB_QUALIFIERS:
        before = tokens[max(0, first - 4):first - 1]
    someones_job = (before[-1:] in (["a"], ["an"]) and before[-2:-1] != []
                    and (before[-2] in WHOSE_JOB or before[-2] == "be"))
    # "I'm calling from the solicitors' office"
    workplace = "from" in before and following in (["office"], ["firm"], ["practice"])
    return bool(own_job or someones_job or workplace or following in (["friend"], ["myself"])
                or LAWYER_DID.intersection(tokens[last + 1:last + 1 + LAWYER_DID_REACH]))


def lawsuit_word(tokens: Sequence[str]) -> int | None:
    """Where "sued" or "suing" is: a legal cue whoever sues ("the hoa is suing me")."""
    for index, word in enumerate(tokens):
        if word in LAWSUIT_FORMS:
            return index
    return None
