"""Round nine of the guard, tuned on everyday-blind5's misses: each rule is tested both ways,
with sentences written for the test rather than copied from a benchmark split."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import rules_category, rules_only_guard
from tools.escalation_legal import BLAME_RULE

pytestmark = pytest.mark.unit

RULES = rules_only_guard()
_category = rules_category


@pytest.mark.parametrize(("text", "category"), [
    # a sign explained away after it, and not before
    ("we could smell burning but it turned out to be the neighbour's barbecue", None),
    ("the carbon monoxide alarm went off, false alarm, the battery was low", None),
    ("there was a smell of gas this morning but it was nothing, the hob was off", None),
    ("some smoke came out of the oven, nothing to do with the electrics, just the pizza", None),
    ("we saw sparks but it was just the kids with a sparkler", None),
    ("it turned out to be a gas leak under the stairs and it still smells", "urgent"),
    ("there's smoke coming out of the socket and it's getting worse", "urgent"),
    # slight and not a hazard, unless it is a hazard
    ("the kitchen ceiling is sagging a little near the light", None),
    ("there's a tiny leak coming through the ceiling by the vent", None),
    ("the kitchen ceiling is sagging and cracking right now", "urgent"),
    ("there's a bit of smoke coming from the breaker box", "urgent"),
    # heating the caller switches off, a power source, where a flue goes
    ("do i need to switch the boiler off before you come", None),
    ("we power the garage heater off the mains, that's fine", None),
    ("the furnace vent goes out through the roof", None),
    ("the boiler went off last night and the house is freezing", "urgent"),
    # what-if, a repair hoped to stop a return, a settled overflow, an old leak, a detector's end
    ("in the event of a gas leak who should we call", None),
    ("how would we tell if there was a carbon monoxide leak", None),
    ("the drain backed up in march, we want it rodded before it happens again", None),
    ("the toilet overflowed this weekend but it's cleared now, we'd like it checked", None),
    ("that mark on the ceiling is from an old leak, it's been dry for ages", None),
    ("the smoke detector in the hall says end of life, can you swap it", None),
    ("the smoke alarm goes off every time i use the grill pan", None),
    ("the toilet is overflowing again and it won't stop", "urgent"),
    # fire that is a fireplace, a job title or a verb
    ("we have an open fire in the front room and the chimney needs sweeping", None),
    ("the fire inspector wants a new panel label", None),
    ("i'll fire over the photos tonight", None),
    ("the fire is spreading up the wall", "urgent"),
    # urgent wording no phrase named before
    ("the water is coming in faster than we can mop it up", "urgent"),
    ("the basement toilet is spewing sewage", "urgent"),
    ("it's raining down through the loft hatch", "urgent"),
    ("water is pouring onto the fuse board", "urgent"),
    ("the boiler's packed in and there's a baby in the house", "urgent"),
])
def test_the_ninth_rounds_urgent_rules(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # legal wording and damage our people did
    ("the permit was taken out under another firm's license and that's not right", None),
    ("you used someone else's license to pull the permit", "legal"),
    ("the inspector says the wiring isn't up to code", "legal"),
    ("i'll be getting an injunction to stop the work", "legal"),
    ("your crew were trespassing in my back garden", "legal"),
    ("your electrician drilled into a pipe behind the tiles", "legal"),
    ("your lads left the side door open and the cat got out", "legal"),
    ("your driver crushed my recycling bins backing out", "legal"),
    ("your guy left early and said he'd be back tomorrow", None),
    # work contracts, insurance talk and names that are not legal
    ("my employment contract ends in may so the summer is better", None),
    ("the insurance agent needs a photo of the new boiler", None),
    ("ask for sue when you get to the front desk", None),
    ("my friend sue gave me your number", None),
    ("i'm going to sue you for this", "legal"),
])
def test_the_ninth_rounds_legal_rules(text: str, category: str | None) -> None:
    assert _category(text) == category


def test_damage_through_a_pipe_is_blamed_on_us() -> None:
    match = RULES.check("your plumber nailed through my heating pipe")
    assert match is not None and (match.category, match.phrase) == ("legal", BLAME_RULE)


@pytest.mark.parametrize(("text", "category"), [
    # charging a battery, a name, running it by someone, nowadays
    ("my phone is on five percent charge so i might drop off", None),
    ("the electric car needs charging every night in the garage", None),
    ("my neighbour bill said you did a good job", None),
    ("the bill from you was more than the quote", "pricing"),
    ("let me run it by my wife first", None),
    ("what does a plumber cost these days", "pricing"),
    ("the drive cost me a whole day", None),
    ("are parts extra on top of the labour", "pricing"),
    ("is the call out free if you do the job", "pricing"),
    ("is it expensive to get a gas leak test", "pricing"),
    # a person, or a word that only looks like one
    ("give me a second, the dog's barking", None),
    ("i work in human resources at the hospital", None),
    ("the robot vacuum gets stuck on the rug", None),
    ("operator error, i left the valve shut", None),
    ("no more menus please", "human_request"),
])
def test_the_ninth_rounds_pricing_and_human_rules(text: str, category: str | None) -> None:
    assert _category(text) == category
