"""Round seven of the guard, tuned on everyday-blind3's misses: each rule is tested both ways,
with sentences written for the test rather than copied from a benchmark split."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import example_playbook
from tools.escalation import LEARNED_TRIGGER, EscalationGuard

pytestmark = pytest.mark.unit

RULES = EscalationGuard.from_playbook(example_playbook(), learned=False)
WITH_MODEL = EscalationGuard.from_playbook(example_playbook())


def _category(text: str, guard: EscalationGuard = RULES) -> str | None:
    match = guard.check(text)
    return match.category if match is not None else None


@pytest.mark.parametrize(("text", "category"), [
    # "fixed now" settles the "now"
    ("our pipe burst in the spring but it's all repaired now", None),
    ("the pipe burst and water is pouring out now", "urgent"),
    # "ever" opens a what-if
    ("who do we ring if there's ever a gas leak at the shop", None),
    ("there's a gas leak in the kitchen", "urgent"),
    # "nothing's on fire": the negation reaches over "on"
    ("nothing's on fire, the breaker just trips", None),
    ("the breaker box is on fire", "urgent"),
    # trouble the weather brings, or that comes on and off, is a repair
    ("the flat roof leaks through the ceiling whenever it pours", None),
    ("the boiler keeps cutting on and off", None),
    ("it's pouring rain and water is coming through the ceiling", "urgent"),
    # a neighbour's trouble, told with "got" or "has"
    ("my neighbour has water coming through the ceiling but we're dry", None),
    # a detector past its date, or more of them, is work to book
    ("the co alarm in the hall says it's expired", None),
    ("the inspector said we need extra smoke alarms upstairs", None),
    ("the co alarm is going off", "urgent"),
])
def test_past_what_if_weather_and_maintenance_are_no_emergency(text: str,
                                                               category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("the valve snapped and i can't turn the water off", "urgent"),
    ("the water in the basement keeps rising", "urgent"),
    ("we'd like the gas fire in the lounge serviced", None),
    ("i had a bit of a shock when i saw the bill for the last guy", None),
    ("the heated towel rail in the ensuite stopped working", None),
    ("can you take out the old electric heaters", None),
    ("how much is your emergency call out fee", "pricing"),
    ("is the owner available today", "human_request"),
    ("could you pass me over to someone in the office", "human_request"),
    ("honestly i'd prefer a person", "human_request"),
    ("my manager only lets me off after four", None),
    ("i'm the site manager at the new build", None),
    ("i need a plumber lined up for next week", None),
    ("my solicitor will be in touch", "legal"),
    ("we're filing suit against your company", "legal"),
    ("i'll be reporting you to trading standards", "legal"),
    ("i want your firm held accountable for this", "legal"),
    ("your bloke scratched the new worktop", "legal"),
    ("can i pay it off over a few months", "pricing"),
    ("does that include vat", "pricing"),
    ("are you running any specials", "pricing"),
    ("i forgot to charge my phone so it might cut out", None),
    ("what's the estimated arrival time", None),
    ("getting it fixed will cost me a day off work", None),
    ("we need a new dishwasher installed", None),
])
def test_the_seventh_rounds_playbook_triggers(text: str, category: str | None) -> None:
    assert _category(text) == category


def test_a_playbook_ignore_also_holds_against_the_learned_model() -> None:
    """"How much damage": the playbook says it is not pricing; the model learned from examples
    with "how much" in them does not get to overrule that."""
    text = "how much damage is there"
    model = WITH_MODEL._model
    assert model is not None
    learned = model.classify(text)
    assert learned is not None and learned[0] == "pricing"  # what the model alone would say
    assert WITH_MODEL.check(text) is None
    # a sentence no ignore covers is still the model's to call
    match = WITH_MODEL.check("what are we looking at for that, roughly")
    assert match is not None and (match.category, match.phrase) == ("pricing", LEARNED_TRIGGER)
