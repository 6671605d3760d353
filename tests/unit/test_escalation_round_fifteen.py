"""Round fifteen of the guard, tuned on everyday-blind11's misses: someone frail without heating,
a room under water, a wall that is moving; urgent signs explained away, put right or put in the
past; a hazard our people caused; the caller's own job; a device being charged and "how much do
I turn it"; "is the boss in"; "that's on you"; and phrases and ignores from the misses. Each
rule is checked both ways: a sentence it must fire on, and a near miss it must not. Sentences
here were written for the test, not taken from the benchmark's files.
"""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import rules_only_guard
from tools.escalation import EscalationGuard
from tools.escalation_phrases import word_key

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def rules_only() -> EscalationGuard:
    return rules_only_guard()


@pytest.mark.parametrize(("sentence", "category"), [
    # someone frail in a cold house
    ("my nan's here, she's eighty seven, and the boiler isn't firing", "urgent"),
    ("the baby's room is like an icebox", "urgent"),
    ("my grandma's got nae heat at all", "urgent"),
    ("my gran's elderly so could the engineer come before lunch", None),
    ("my neighbour's gran had no heating for a week last winter", None),
    ("the thermostat's on eighty degrees and the house is freezing", None),
    # a room under water
    ("the utility room's under water", "urgent"),
    ("the downstairs loo is under water", "urgent"),
    ("there's a bit of water under the sink", None),
    # part of the building moving
    ("the garden wall's moving in the wind", "urgent"),
    ("the beam over the kitchen has dropped", "urgent"),
    ("we're moving the wall between the kitchen and the lounge", None),
    # taken back, put right, or past
    ("the heating's off but it's warm out so we're fine for now", None),
    ("the heating's off and it's freezing", "urgent"),
    ("the drain overflowed this morning, it's stopped now, it needs rodding", None),
    ("the smoke in the hall was my cooking, the extractor's rubbish", None),
    ("there was a burning smell once but that was the old fridge", None),
    ("the bath overflowed earlier, we mopped it up but the ceiling below has a stain", None),
    ("the bath overflowed and we mopped it up but it's pouring through the ceiling", "urgent"),
    ("the emergency electrician came out last night and fixed it, i'm calling to book the "
     "follow up", None),
    ("we had a chimney fire in the eighties and it's been lined since", None),
    ("we had a plumber out for an emergency last year, i'd like the same man for a tap", None),
    ("there's an emergency, the pipe's burst", "urgent"),
    ("i had a carbon monoxide scare at my last flat so i'm just being careful", None),
    ("i watched a video about gas leaks and want a detector fitted", None),
    ("i need a sparks to move a light switch", None),
    ("the sparks are coming out of the socket", "urgent"),
    ("the co alarm's out of date", None),
    ("the co alarm is going off", "urgent"),
    ("the boiler flame looks a bit orange", None),
    ("the boiler's got flames coming out of the bottom", "urgent"),
    ("the shed nearly went up in smoke when i lit the barbecue", None),
    ("there's smoke coming up through the floorboards", "urgent"),
    ("we'd like a fire blanket for the kitchen", None),
    # a hazard our people caused, told as the past, beside a legal cue
    ("my insurer will be in touch about the fire your plumber caused", "legal"),
    ("your plumber caused a fire and it's still burning", "urgent"),
    # the caller's own job, or the family's
    ("i'm a claims adviser for an insurance firm so evenings suit me", None),
    ("i'm an emergency call handler so i work nights", None),
    ("my son works as a customer service agent at a bank", None),
    ("i'm a nurse and there's smoke coming from the socket", "urgent"),
    ("i'm a bit worried there's smoke coming from the socket", "urgent"),
    # urgent phrases and ignores
    ("the socket in the lounge is hot to touch", "urgent"),
    ("the plug socket is fizzing", "urgent"),
    ("the fuse box is glowing", "urgent"),
    ("the stopcock's leaking and won't turn", "urgent"),
    ("dad's on a ventilator and the electricity's gone", "urgent"),
    ("the towel rail is falling off the wall", None),
    ("the boiler's like a plane taking off", None),
    ("i'll fire the photos across tonight", None),
    ("the emergency lighting in the hall needs testing", None),
    ("the smoke from their barbecue comes in the window", None),
    # a person asked for by role, by name, or to call
    ("is the boss in", "human_request"),
    ("is the foreman in", "human_request"),
    ("is the boss in a good mood today", None),
    ("i will only deal with Trevor", "human_request"),
    ("please pass this on and have them call me", "human_request"),
    ("may i speak with the proprietor", "human_request"),
    ("press zero for a person", "human_request"),
    ("you're nicer to talk to than most people", None),
    ("i'd rather wait for a real person than talk to you", "human_request"),
    ("we need to talk about compensation for the carpet your guys ruined", "legal"),
    ("the ombudsman will be getting a letter from me about your guy", "legal"),
    ("the strata manager's approved the new gutters", None),
    ("it's all run by a management company", None),
    # legal
    ("expect a summons", "legal"),
    ("i know my rights", "legal"),
    ("the bath's filling up with, you know, mucky water, right up to the rim", "urgent"),
    ("i want everything you hold on me under data protection", "legal"),
    ("from now on, contact me only in writing, except in writing i won't reply", "legal"),
    ("an intent to sue is on its way", "legal"),
    ("who is your legal department", "legal"),
    ("my washing machine died after your visit, and that's on you", "legal"),
    ("the price list? it's on your website", "pricing"),
    ("my daughter's a barrister, she said write everything down", "legal"),
    ("my daughter's a barrister, she's at work till six", None),
    ("is the deposit refundable", "pricing"),
    ("i want my deposit refunded", "legal"),
    ("the bank needs an electrical report before the sale", None),
    # pricing
    ("do you take card", "pricing"),
    ("can i pay by bank transfer", "pricing"),
    ("do you accept cheques", "pricing"),
    ("i'll be paying a cheque in at the bank, so after two", None),
    ("do you do interest free", "pricing"),
    ("do you take klarna", "pricing"),
    ("does that include gst", "pricing"),
    ("is saturday double time", "pricing"),
    ("would three grand cover a new bathroom", "pricing"),
    ("that's a bit steep", "pricing"),
    ("how much do you charge to fit a car charger", "pricing"),
    ("my phone needs a charge, text me instead", None),
    ("the wheelchair charges by the back door", None),
    ("how much do i turn the thermostat down", None),
    ("how much do i need to budget", "pricing"),
    ("how much do i pay for parts", "pricing"),
    ("how much headroom does it need", None),
    ("there's a limescale deposit on the tap", None),
    ("i'm a financial advisor so email works best", None),
    ("the bathroom fan needs to be ip rated", None),
    ("the front gate's hanging off", None),
    ("the Price family next door use you", None),
    ("my name's Ann Price", None),
    ("the deposit on our house cleared so we move next week", None),
    ("what does a service contract cost", "pricing"),
])
def test_the_fifteenth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                    category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category


def test_rights_keeps_its_own_key() -> None:
    """"Right up to the rim" is no "know my rights"."""
    assert word_key("rights") != word_key("right")
    assert word_key("rights") == "rights"
