"""Round ten of the guard, tuned on everyday-blind6's misses: each rule is tested both ways,
with sentences written for the test rather than copied from a benchmark split."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import rules_category

pytestmark = pytest.mark.unit

_category = rules_category


@pytest.mark.parametrize(("text", "category"), [
    # past, dried out, out of reach, over and done
    ("the flood three summers ago ruined the carpet, we're replacing it now", None),
    ("the flood water's all dried out, we just need the skirting replaced", None),
    ("the flooding on the high street didn't reach our house", None),
    ("the basement flooded all the time before we got the sump pump", None),
    ("the basement is flooding right now", "urgent"),
    # another household: a possessive, down the road, a fire it had
    ("my sister's boiler packed up last week so i want ours looked at", None),
    ("the shop down the street had a burst pipe on monday", None),
    ("the flat across the road had a kitchen fire, so i want our alarms checked", None),
    ("the house across the road is on fire and it's spreading to our fence", "urgent"),
    # the match's last word negated in a clause of its own
    ("the gutter is loose, not leaking or anything", None),
    ("the ceiling is leaking onto the bed", "urgent"),
    # a detector at the kitchen, fitted, tested or checked
    ("sorry, that's the smoke alarm, i burnt the toast", None),
    ("could you check the smoke detectors are wired in", None),
    ("we want a carbon monoxide alarm fitted in the hall", None),
    ("the carbon monoxide alarm is going off and we feel sick", "urgent"),
    # heating restored, still working, losing pressure, "find out"
    ("the heating cut out last night but it's come back on now", None),
    ("the thermostat screen is blank but the heating still works", None),
    ("the boiler keeps losing pressure, i top it up", None),
    ("we only just found out the boiler is twenty years old", None),
    ("the boiler's gone out and it's minus five, my dad's ninety", "urgent"),
    # figures: a person on fire, a surprise, sparks at a party, flooded with questions
    ("my son was on fire at the football today", None),
    ("i got a shock when i heard how old the fuse box was", None),
    ("sparks flew at the christmas party, ha", None),
    ("the customers are flooding us with orders", None),
    ("i got a shock off the light switch and my arm is numb", "urgent"),
    ("sparks flew out of the socket when i plugged the kettle in", "urgent"),
    # structural and electrical wording no phrase named before
    ("the balcony is pulling away from the house", "urgent"),
    ("the floor is giving way under the bath", "urgent"),
    ("the fuse board has scorch marks on it", "urgent"),
    ("water is coming out of the socket by the sink", "urgent"),
])
def test_the_tenth_rounds_urgent_rules(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # a lawyer in the caller's life, not in a dispute
    ("i'm a solicitor so i work long hours", None),
    ("my lawyer friend said to give you a ring", None),
    ("our attorney recommended you for the kitchen", None),
    ("my lawyer says you're liable for the damage", "legal"),
    ("i'm speaking to my solicitor about the job you did", "legal"),
    # contracts, warranties and deposits that are not a dispute
    ("i signed the tenancy agreement yesterday", None),
    ("my contract at work finishes in april", None),
    ("the warranty with the shop covers the dishwasher", None),
    ("you broke the contract we signed", "legal"),
    # legal wording and damage told new ways
    ("we're issuing proceedings against your firm", "legal"),
    ("i'll be taking this further with trading standards", "legal"),
    ("your plasterer put his knee through the ceiling", "legal"),
])
def test_the_tenth_rounds_legal_rules(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("the price tag's still on the shower head", None),
    ("the cost of living is mad these days", None),
    ("how much mess will the rewire make", None),
    ("the flow rate from the shower is poor", None),
    ("can you itemise the parts and labour", "pricing"),
    ("is it dear to replace a cylinder", "pricing"),
    ("would you knock a bit off if we pay cash", "pricing"),
    ("will i have to pay upfront", "pricing"),
    # people
    ("i'm fine talking to the computer, carry on", None),
    ("a real person picked up last time", None),
    ("she's recovering from an operation, so please knock quietly", None),
    ("is Maria there, love", "human_request"),
    ("i need to speak to a member of staff", "human_request"),
    ("put the gaffer on", "human_request"),
])
def test_the_tenth_rounds_pricing_and_human_rules(text: str, category: str | None) -> None:
    assert _category(text) == category
