"""Round fourteen of the guard, tuned on everyday-blind10's misses: part of the building coming
down and a person who can't get up are urgent cues of their own; a "now" after the trigger was
put in the past; "where it used to be"; "quite" is no "quit"; damage caused by our people, "at
your expense"; "have Julie call me"; "to quote my husband"; and phrases and ignores from the
misses. Each rule is checked both ways: a sentence it must fire on, and a near miss it must not.
Sentences here were written for the test, not taken from the benchmark's files.
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
    # part of the building came down, in that order
    ("the kitchen ceiling has just come down on the table", "urgent"),
    ("the chimney's fallen into the back garden", "urgent"),
    ("a big tree came down through the conservatory roof", "urgent"),
    ("can someone come down and have a look at the ceiling", None),
    ("the roof man is coming down on friday", None),
    ("the old tree came down in the park", None),
    ("the ceiling came down years ago and it was all replaced", None),
    # someone who can't get up, move a limb or breathe
    ("my mum's had a fall in the bathroom and she can't get up", "urgent"),
    ("my husband slipped on the tiles and he can't move his leg", "urgent"),
    ("he can't get up into the loft any more, his knees are bad", None),
    ("i can't move the washing machine on my own", None),
    # "where it used to be" is a place; "used to" alone is still the past
    ("water's shooting out where the old radiator used to be", "urgent"),
    ("the outside pipe used to burst in the frost, we lagged it", None),
    # a "now" after a past trigger opens the next thing; without the past it is the trouble
    ("the pipe burst last month and was fixed, but now the boiler's clicking", None),
    ("the pipe burst last month and now it's pouring again", "urgent"),
    ("the pipe burst and now there's water everywhere", "urgent"),
    ("the roof leaked last winter and a neighbour patched it, we'd like a proper job now", None),
    ("the roof's leaking and we'd like it looked at now", "urgent"),
    ("the basement is flooding now", "urgent"),
    ("we had a burst pipe back in the spring, is that something you'd inspect", None),
    ("the gutters overflowed earlier but the rain's stopped", None),
    ("the gutters are overflowing into the bedroom", "urgent"),
    ("the gutters overflowed yesterday but it's stopped raining now", None),
    ("the gutters are overflowing and it's still raining now", "urgent"),
    # "this isn't one" after the trigger takes it back
    ("i know what a gas leak smells like and this isn't one, it's the bins", None),
    ("this isn't one of those drips, the pipe has burst", "urgent"),
    ("there was smoke from the grill earlier but that's just fat, the extractor's noisy", None),
    ("there's smoke coming from the socket and that's just the start", "urgent"),
    # put right since: "... but the reset switch sorted it"
    ("the boiler cut out this morning but the reset switch sorted it", None),
    ("the pipe burst and we've patched it, but it's pouring through the ceiling", "urgent"),
    ("the boiler went off this morning and nobody has fixed it", "urgent"),
    # "quite" is no "quit"
    ("the cupboard's quite small, where would the boiler go", None),
    ("the boiler's quit on us", "urgent"),
    # urgent phrases and ignores
    ("the washing machine hose has popped off and it's everywhere", "urgent"),
    ("water's going through the floor into the kitchen", "urgent"),
    ("the cold water tank in the loft has burst", "urgent"),
    ("the toilet tank lid is cracked", None),
    ("my grandad's been electrocuted by the kettle lead", "urgent"),
    ("we're standing in sewage in the utility room", "urgent"),
    ("the lounge ceiling's raining", "urgent"),
    ("water's dripping onto the electrics under the stairs", "urgent"),
    ("the gas engineer came out yesterday and said the meter's fine", None),
    ("there's gas coming out of the meter", "urgent"),
    ("my son's a total fire hazard with the toaster", None),
    ("the old fire surround needs repointing", None),
    ("there's a dripping overflow pipe on the side of the house", None),
    ("my phone's flooded with spam, please email me", None),
    ("dad's asked for a carbon monoxide alarm in the bedroom", None),
    ("the carbon monoxide alarm is going off", "urgent"),
    ("we want a heater fitted out in the shed", None),
    # a person asked for by name, to call back
    ("could you have Priya call me this afternoon", "human_request"),
    ("please tell Marcus to ring me back", "human_request"),
    ("I'll have Priya call you with the door code", None),
    ("are any humans working there today", "human_request"),
    ("don't put that on me, i never touched it", None),
    ("can you put me through to the office", "human_request"),
    ("a real person will be home to let you in", None),
    ("my wife's only human, she forgot the key", None),
    ("I'm not a robot, I've just got a sore throat", None),
    ("the owner's abroad so you'll deal with me", None),
    # legal
    ("your painters scratched the banister", "legal"),
    ("the leak was caused by the valve your plumber fitted", "legal"),
    ("the leak was caused by a worn washer", None),
    ("i want the carpet replaced at your expense", "legal"),
    ("come at your earliest convenience", None),
    ("your fitters left us without a working toilet all weekend", "legal"),
    ("my uncle's a retired barrister, he reads all the paperwork", None),
    ("my uncle's a barrister and says you're liable", "legal"),
    ("she's training to be a solicitor", None),
    ("my sister's a lawyer and told me to record our calls", "legal"),
    ("we'll be seeking redress", "legal"),
    ("your fitter was uninsured", "legal"),
    ("it was shoddy workmanship, plain and simple", "legal"),
    ("i'll charge back the payment through my bank", "legal"),
    ("the engineer lied about being qualified", "legal"),
    ("i can guarantee someone will be in", None),
    ("is the work guaranteed", "legal"),
    ("the supplier gave me a refund for the broken shower", None),
    ("i want a refund", "legal"),
    ("the consumer unit is right by the back door", None),
    ("the claim number for the storm damage is on the letter", None),
    ("can you email the service report to the landlord", None),
    ("we're tied into a broadband contract, can the socket go by the router", None),
    # pricing
    ("how much is a maintenance contract", "pricing"),
    ("to quote my dad, the bathroom's a disgrace", None),
    ("could you quote my dad for a new bathroom", "pricing"),
    ("to quote for the job, do you need to come out", "pricing"),
    ("what sort of figure are we looking at for a new tap", "pricing"),
    ("what's a new boiler running these days", "pricing"),
    ("the boiler's been running fine these days", None),
    ("what's the call out these days", "pricing"),
    ("at a rough estimate the wall's six metres long", None),
    ("can i get a rough estimate", "pricing"),
    ("how much warning will i get before you arrive", None),
    ("how much detail do you need about the fence", None),
    ("there's a step up to the front door", None),
])
def test_the_fourteenth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                     category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category
