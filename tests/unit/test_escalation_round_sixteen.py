"""Round sixteen of the guard, tuned on everyday-blind12's misses: a call or a person asked for
in word order; a person trapped, faint beside gas, hanging off an edge or hurt in a fall; fumes
getting in; no cooling in a heatwave; an urgent word that is the job a price is asked for; a
person's smoking habit; a flood sensor; "is a solicitor" as a job; and phrases and ignores from
the misses. Each rule is checked both ways: a sentence it must fire on, and a near miss it must
not. Sentences here were written for the test, not taken from the benchmark's files.
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
    # one of ours asked to ring the caller
    ("could you get the scheduler to phone me about moving the date", "human_request"),
    ("please ask the estimator to ring us about the extension", "human_request"),
    ("can you have the fitter who came on tuesday give me a call", "human_request"),
    ("i'll get my husband to ring you when he's home", None),
    ("they said they'd get the engineer to call me and nobody did", None),
    # someone wanted to ring, a callback wanted
    ("my dad would rather somebody rang him, he can't read texts", "human_request"),
    ("i'd prefer a call back from the surveyor", "human_request"),
    ("i'm still waiting on a call back from the council", None),
    ("i'd like someone at the office to ring my son about the key", "human_request"),
    # someone put on the line, asked for by role or by a lowercase name
    ("can you put her on please", "human_request"),
    ("can you put him on the list for thursday", None),
    ("could i speak to the roofer who did our chimney", "human_request"),
    ("could i speak to the engineer when he arrives", None),
    ("is gareth around, he did our boiler", "human_request"),
    ("is it in stock", None),
    ("is friday available?", None),
    ("my neighbour said to ask for bronwyn", "human_request"),
    ("i was told to ask for a quote", "pricing"),
    # a person trapped or stuck
    ("my daughter's trapped under the garage door", "urgent"),
    ("my boy's foot is stuck between the banisters", "urgent"),
    ("the stairlift's jammed with him on it", "urgent"),
    ("the bathroom window's stuck and won't open", None),
    ("my wife's stuck in traffic so i'll let you in", None),
    # someone faint beside gas or fumes
    ("my mum's really drowsy and the gas heater's been on all day", "urgent"),
    ("i nearly fainted when i saw the state of the old boiler", None),
    ("i felt dizzy after the ladder, can you do the gutters instead", None),
    # a fall and a blow to the head, someone hanging off an edge
    ("my son tripped down the stairs and hit his head on the radiator", "urgent"),
    ("she's hanging off the scaffold", "urgent"),
    ("the gutter's hanging off at the back", None),
    ("the shelf fell off the wall and hit the floor", None),
    # fumes getting in, a gas smell getting worse
    ("the flue's cracked and fumes are coming into the bedroom", "urgent"),
    ("the paint fumes are getting into the hall", None),
    ("the gas network lads have gone home, and the smell upstairs is getting stronger",
     "urgent"),
    ("the drain smell is getting worse every day", None),
    # no cooling in a heatwave, someone unwell
    ("the aircon's packed in during the heatwave and my nan is poorly", "urgent"),
    ("the aircon packed in during the heatwave, can someone look at it next week", None),
    # someone frail who hasn't had heating
    ("my gran hasn't had heating since monday", "urgent"),
    # an urgent word that is the job a price is asked for
    ("how much to replace a burst pipe in the loft", "pricing"),
    ("what's the cost of repairing a leaking roof on a bungalow", "pricing"),
    ("there's a burst pipe, how much is an emergency callout", "urgent"),
    # a person's smoking habit
    ("my lodger smokes by the back door so mind the ashtray", None),
    ("the plug socket smokes when i turn it on", "urgent"),
    # detectors, jobs
    ("the flood sensor under the sink needs a new battery", None),
    ("her husband is a barrister so he'll read the paperwork", None),
    # urgent phrases and ignores
    ("the garage is a foot deep already", "urgent"),
    ("the sewer's burst under the drive", "urgent"),
    ("there's a sinkhole opening by the drain", "urgent"),
    ("there's a live wire hanging off the pole", "urgent"),
    ("the tiles are flying off the roof", "urgent"),
    ("water's coming in under the patio door", "urgent"),
    ("the fire station's two streets away", None),
    ("the boiling water tap is dripping", None),
    ("i'll read out the boiler's serial number", None),
    ("the boiler clicks three times and then it fires", None),
    ("the boiler fires and there's smoke coming out of the case", "urgent"),
    # human request, legal and pricing phrases and ignores
    ("i'm happy to wait on hold for a person", "human_request"),
    ("somebody at work was talking about me, anyway, the sink", None),
    ("no need for anyone to ring, just get me booked in for friday", None),
    ("what's an eicr cost for a letting agent", "pricing"),
    ("if it isn't fixed we'll see you at ncat", "legal"),
    ("the bank's investigating the charge", "legal"),
    ("i want damages for the ruined carpet", "legal"),
    ("what do i owe you for last week", "pricing"),
    ("are there any offers this month", "pricing"),
    ("is the first visit free", "pricing"),
])
def test_the_sixteenth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                    category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category
