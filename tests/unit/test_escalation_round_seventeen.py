"""Round seventeen of the guard, tuned on everyday-blind13's misses: someone who cannot look
after themselves locked in; a call or a person asked for in word order (one of ours wanted to
ring, a lowercase name asked to ring or put on, a turn that is only the ask); and phrases and
ignores from the misses. Each rule is checked both ways: a sentence it must fire on, and a near
miss it must not. Sentences here were written for the test, not taken from the benchmark's
files.
"""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import rules_only_guard
from tools.escalation import EscalationGuard

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def rules_only() -> EscalationGuard:
    return rules_only_guard()


@pytest.mark.parametrize(("sentence", "category"), [
    # someone who cannot look after themselves locked in
    ("my three year old has locked himself in the bedroom and won't answer", "urgent"),
    ("we're locked out and the baby's asleep inside", "urgent"),
    ("my nan's collapsed in the hallway and the front door's locked", "urgent"),
    ("the toddler's locked in the car on the drive", "urgent"),
    ("i'm locked out, can you send a locksmith round", None),
    ("my son locked the shed and lost the key", None),
    ("the garage door's locked so use the side gate", None),
    # one of ours wanted to ring, a name asked to ring or put on the line
    ("i'd like the surveyor to ring me about the report", "human_request"),
    ("i'd like the engineer to call me when he's on his way", None),
    ("can priya call me back this afternoon", "human_request"),
    ("can we call back later, we're just going out", None),
    ("could you put darren on", "human_request"),
    ("could you put overshoes on when you come in", None),
    ("can you put it on", None),
    # a turn that is only the ask
    ("a human please", "human_request"),  # a phrase already
    ("transfer please", "human_request"),
    ("the person", None),
    # urgent phrases
    ("quick, there's gas everywhere in the kitchen", "urgent"),
    ("the loft stairs have collapsed", "urgent"),
    ("the switch by the back door exploded", "urgent"),
    ("the hot water tank's bulging at the seams", "urgent"),
    ("my husband drilled through the gas pipe under the floor", "urgent"),
    ("the water's reached the sockets behind the telly", "urgent"),
    ("the tap's come off in my hand and it's gushing", "urgent"),
    # urgent ignores
    ("can you fit a fire door on the garage", None),
    ("my brother works for fire and rescue, he recommended you", None),
    ("the gutters are overflowing at the front after every downpour", None),
    ("the gutter's overflowing into the back bedroom", "urgent"),
    ("it's a non smoking flat, just so you know", None),
    ("the sparks from the grinder scorched the lawn, no harm done", None),
    ("we're fine for heat, it's the shower that's weak", None),
    ("they paid out for the flood, so now it's just the redecorating", None),
    ("how much do you charge for a no heat call", "pricing"),
    # human request phrases and ignores
    ("please arrange a callback from your director", "human_request"),
    ("i want a word with the foreman before the roofers start", "human_request"),
    ("there's a human hair in the trap", None),
    ("do you fit gate automation kits", None),
    ("i got put through to you by the call centre", None),
    ("i had a lovely chat with one of your engineers last time", None),
    ("my daughter's the boss of her own firm", None),
    ("the person living there is my mum", None),
    # legal phrases and ignores
    ("i'm going to reverse the payment on my card", "legal"),
    ("by law the work has to meet the regulations", "legal"),
    ("you've been served with a claim", "legal"),
    ("the residents' association is taking action against you", "legal"),
    ("the council will hear about this", "legal"),
    ("i'm liable to forget the time, so send a text", None),
    ("i've got power of attorney for my dad", None),
    ("can you do a written report for the landlord", None),
    ("please register the warranty online", None),
    ("the buyer's solicitor wants the service record", None),
    ("i'm claiming on my own house insurance, i just need a quote", "pricing"),
    # pricing phrases and ignores
    ("is the survey chargeable", "pricing"),
    ("is the first survey free", "pricing"),
    ("is there a premium for a saturday visit", "pricing"),
    ("is it double after six", "pricing"),
    ("so is it per room", "pricing"),
    ("a hundred dollars to come out, really", "pricing"),
    ("is that per metre for the fencing", "pricing"),
    ("the exchange rate's terrible this week", None),
    ("my best estimate is that it started in spring", None),
    ("there's sediment deposits in the kettle too", None),
    ("i'm happy with the quote, when can you start", None),
    ("we accepted the quote yesterday", None),
    ("it's mrs price, flat two", None),
    ("the price of fish these days, anyway, the tap", None),
])
def test_the_seventeenth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                      category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category
