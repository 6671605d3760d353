"""The guard's reading of the words around a trigger (tools/escalation_context.py): tense,
resolution, what-ifs, a legal cue outranking a plain damage cue, damage blamed on us, and the
example playbook's everyday wordings. Each rule is tested both ways."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import example_playbook
from tools.escalation import EscalationGuard
from tools.escalation_legal import BLAME_RULE, damage_blamed_on_us
from tools.escalation_phrases import words_and_clauses as _words_and_clauses

pytestmark = pytest.mark.unit

# the phrase rules alone: these tests are about the rules (the learned model has its own)
GUARD = EscalationGuard.from_playbook(example_playbook(), learned=False)


def _category(text: str) -> str | None:
    match = GUARD.check(text)
    return match.category if match is not None else None


@pytest.mark.parametrize(("text", "category"), [
    # past damage is an intake
    ("my pipe broke last month and I want it fixed", None),
    ("a pipe burst two years ago and we never finished the basement", None),
    ("the basement flooded a while back, we want it waterproofed", None),
    ("we had a burst pipe last winter so insulate them this time", None),
    # ... unless the turn says it is happening now
    ("my pipe broke last month and it's leaking again", "urgent"),
    ("the pipe burst last week and water is still pouring in", "urgent"),
    ("the pipe burst this morning, same thing happened last year", "urgent"),
    ("it broke last week and now the basement is flooding", "urgent"),
    ("this is urgent, my pipe broke last week", "urgent"),
    # recent is not stale: a few days, last night
    ("the sump pump failed a few days ago", "urgent"),
    ("a pipe burst last night", "urgent"),
])
def test_a_past_time_makes_damage_stale_unless_something_says_now(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("there was a gas smell last year but the gas company fixed it", None),
    ("the leak was repaired, we just need the drywall patched", None),
    ("the pilot went out, I relit the heater and the heat is fine now", None),
    ("the basement flooded but it's been dry since", None),
    # a wish to have it fixed is no resolution
    ("my pipe broke and I want it fixed", "urgent"),
    ("the basement is flooding and I need it fixed", "urgent"),
    ("we got it fixed but the pipe burst again today", "urgent"),
])
def test_a_resolution_makes_damage_stale_but_a_wish_to_fix_it_does_not(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("what happens if a pipe bursts while we're away", None),
    ("I want the pipes wrapped before they burst", None),
    ("do you insulate pipes in case they burst", None),
    ("what should I do if the basement is flooding right now", "urgent"),
    ("if you can come now, the pipe burst", "urgent"),  # "if" far from the trigger
])
def test_a_what_if_is_no_emergency_unless_it_is_happening(text: str, category: str | None
                                                          ) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # the eval bank's legal-lawyer case
    ("Your technician broke my pipe last week and my lawyer says you're responsible.", "legal"),
    ("am I liable if the pipe bursts into my neighbor's unit", "legal"),
    ("my attorney will call you about the flood", "legal"),
    ("your plumber broke my pipe and I want you to pay for it", "legal"),
    # an emergency now still outranks legal
    ("my lawyer is here and the basement is flooding right now", "urgent"),
    ("the pipe burst and water is everywhere and I want you to pay for it", "urgent"),
    ("there's a gas leak and I'm calling my lawyer", "urgent"),
])
def test_a_legal_cue_outranks_a_plain_damage_cue_but_not_an_active_one(
        text: str, category: str) -> None:
    assert _category(text) == category


@pytest.mark.parametrize("text", [
    # the eval bank's legal-everyday-pay-for-damage case
    "Your guy scratched up my hardwood floor and I expect you to cover the repair.",
    "your guy broke my fence",
    "the plumber you sent cracked my toilet",
    "you guys dented the fridge moving it",
    "I think you ruined my carpet",
])
def test_damage_blamed_on_us_is_a_legal_cue(text: str) -> None:
    match = GUARD.check(text)
    assert match is not None and match.category == "legal"


@pytest.mark.parametrize("text", [
    "can you fix my cracked tile",
    "can you come look at the broken window",
    "your guy didn't break anything",
    "you guys did a great job last time",
    "the guy next door broke my fence",  # "the guy" is anybody; a trade named is a contractor
    "can you replace the damaged shingles",
])
def test_damage_not_blamed_on_us_is_no_legal_cue(text: str) -> None:
    assert _category(text) is None


def test_the_blame_rule_names_itself_and_the_words_heard() -> None:
    match = GUARD.check("honestly your guy scratched my floor")
    assert match is not None
    assert (match.phrase, match.heard) == (BLAME_RULE, "your guy scratched")
    tokens, clauses = _words_and_clauses("your guy, well, scratched it")
    assert damage_blamed_on_us(tokens, clauses) is None  # another clause


@pytest.mark.parametrize(("text", "category"), [
    ("the smoke alarm in the hallway chirps, I think it needs a battery", None),
    ("the co detector keeps chirping", None),
    ("the carbon monoxide detector is going off and my wife feels sick", "urgent"),
    ("there's smoke in the hallway and the detector is going off", "urgent"),
])
def test_a_detector_asking_for_a_battery_is_maintenance(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("there's a drip from the ceiling vent now and then", None),
    ("the basement floods sometimes in a heavy rain", None),
    ("the outlet sparks now and then", "urgent"),  # a hazard that comes and goes
    ("sometimes I smell gas by the stove", "urgent"),
    ("the ceiling leaks sometimes and it's an emergency today", "urgent"),
])
def test_trouble_that_comes_and_goes_is_a_repair_unless_it_is_a_hazard(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("the furnace stopped and the house is freezing", "urgent"),
    ("sewer water is bubbling up in the tub", "urgent"),
    ("there's water all across the garage floor", "urgent"),
    ("the ceiling is leaking into the bedroom", "urgent"),
    ("it's dripping through the kitchen ceiling", "urgent"),
    ("I want to report the technician you sent", "legal"),
    # "in person" is how a quote is given, not a request for a person
    ("do you give quotes over the phone or only in person", "pricing"),
    ("can I talk to someone in person", "human_request"),
    # and the same words where they do not fire
    ("the furnace stopped making that noise after the filter change", None),
    ("the technician will be there at nine", None),
    # the eval bank's false alarms: "stop you" is an interruption, not a furnace stopping; a
    # floor is not a ceiling (an appliance leaking onto it is an intake, not an emergency)
    ("sorry, can I stop you there? it's the furnace", None),
    ("my dishwasher is leaking all over the kitchen floor", None),
    ("water is coming up through the floor", "urgent"),
])
def test_everyday_wordings_of_the_example_playbook(text: str, category: str | None) -> None:
    assert _category(text) == category


def test_filler_words_inside_a_window_are_free_up_to_a_few() -> None:
    guard = EscalationGuard({"urgent": ["burst pipe"]})
    # under, kitchen, sink: three other words, plus "the" and "just" for free
    assert guard.check("the pipe under the kitchen sink just burst") is not None
    # under, old, kitchen, sink, finally: five other words, one filler does not save it
    assert guard.check("the pipe under our old kitchen sink finally burst") is None
    # fillers are free only up to MAX_FREE_FILLERS
    assert guard.check("the pipe under the um uh like the old sink burst") is None
    # prepositions count: the eval bank's "put me ... put in" is a price question, not a transfer
    question = "Roughly what would it run me to get a new water heater put in?"
    assert _category(question) == "pricing"
    assert _category("can you put me through to the office") == "human_request"


@pytest.mark.parametrize(("text", "category"), [
    # a "now" that brings in the caller's wish does not make past damage current
    ("we had a pipe burst last winter and now i want all the pipes insulated", None),
    ("the roof leaked last spring and it was fixed now we need the drywall patched", None),
    ("we had a small fire in the kitchen years ago and now we want to redo the wiring", None),
    ("the pipe burst last winter and now the basement is flooding", "urgent"),
    ("we had a fire years ago and now the outlet is sparking", "urgent"),
    # a condition of years is no emergency
    ("the switch for the porch light is warm, it's been like that for years", None),
    ("the switch for the porch light is hot right now", "urgent"),
    # someone else's trouble, told as the reason to call
    ("my neighbor had a burst pipe so i want mine checked", None),
    ("my sister had a gas leak last month so we want ours inspected", None),
    ("my neighbor had to shut our water off, a pipe burst", "urgent"),
    ("my neighbor says there's water pouring out of our garage", "urgent"),
])
def test_a_wish_a_long_standing_condition_or_someone_elses_trouble_is_no_emergency(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("just get me a person", "human_request"),
    ("is anybody actually there", "human_request"),
    ("put the owner on please", "human_request"),
    ("can I talk to someone who can come out today", "human_request"),
    # someone to come and do the work is an intake
    ("can you get me someone out here today", None),
    ("is there anybody who can come look at it tomorrow", None),
    ("is anybody there tomorrow to let the tech in", None),
    ("the previous owner put in this water heater", None),
])
def test_a_request_for_someone_to_come_out_is_a_visit_not_a_human_request(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("the water wont shut off and i cant find the valve", "urgent"),
    ("i shut the water off to the toilet already", None),
    ("the wires behind the dryer are melting", "urgent"),
    ("the old panel was burnt years ago and it was replaced", None),
    ("the pilot light on the water heater went out again", None),
    ("the water heater burst in the garage", "urgent"),
    ("the heater went out and it's freezing in here", "urgent"),
    ("do i have any recourse if it breaks again", "legal"),
    ("of course, it's the kitchen sink", None),
    ("is it extra if you come on a sunday", "pricing"),
    ("we need an extra outlet in the garage", None),
])
def test_the_fourth_rounds_playbook_triggers(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # a detector to install or replace is work to book; one sounding or reading high is not
    ("can you put in a new smoke detector in the bedroom", None),
    ("we need the old co detectors replaced", None),
    ("the co monitor reads three hundred and the alarm is going", "urgent"),
    ("the new co detector is going off", "urgent"),
    # "emergency" in the past or as a what-if is not one now
    ("it was an emergency last time, this is just a tune-up", None),
    ("if there's an emergency do you answer at night", None),
    ("this is an emergency, the basement is flooding", "urgent"),
    # a "now" that closes the caller's wish, or says it is fine
    ("the pipe burst back in the spring and we want the wall redone now", None),
    ("that was an emergency back then but now it's fine", None),
    ("the pipe burst back in the spring and now water is pouring out again", "urgent"),
    # a dated past is stale; "in twenty minutes" is no year
    ("the basement flooded in twenty eighteen and we'd like it finished", None),
    ("in 2019 the basement flooded but it's been dry since", None),
    ("the basement will be flooded in twenty minutes, water is pouring in", "urgent"),
    # another household's home; a hazard there still fires
    ("my neighbor's basement flooded so i want a backflow valve", None),
    ("my neighbor's house is on fire and it's spreading to our fence", "urgent"),
    # an old stain and a worry from the news are no emergency
    ("there's an old water stain on the ceiling, the wall is wet from way back", None),
    ("i read on the news about burst pipes so i want ours insulated", None),
    ("the ceiling is soaked and water is pouring through", "urgent"),
])
def test_a_detector_to_fit_a_past_emergency_or_a_dated_or_distant_flood_is_no_emergency(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # a person the caller only tells of is no request
    ("the electrician we talked to said the panel is old", None),
    ("let me speak to the lady i talked to yesterday", "human_request"),
    ("i talked to your robot and i want a real person", "human_request"),
    # "here" is a visit unless it is "on here", the phone
    ("can i get a person on here please", "human_request"),
    ("can you get somebody out here", None),
    ("your guy was here on tuesday and the faucet still drips", None),
])
def test_a_person_told_of_or_sent_here_is_no_human_request(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("water is coming through the light fixture", "urgent"),
    ("the washer hose is gushing and i can't get to the valve", "urgent"),
    ("the garden hose has a slow drip", None),
    ("our pipes froze overnight and one of them split", "urgent"),
    ("the pipes froze last winter, can you insulate them", None),
    ("the laundry room reeks of gas", "urgent"),
    ("we smell propane by the grill", "urgent"),
    ("we need a propane line run to the grill", None),
    ("a contractor hit the gas line in the yard", "urgent"),
    ("we want a gas line put in for the grill", None),
    ("steam is pouring out of the relief valve", "urgent"),
    ("there's a river coming out from under the dishwasher", "urgent"),
    ("we live down the road from the river", None),
    ("water is dripping onto the electrical panel", "urgent"),
    ("the water heater panel cover is loose", None),
    ("the bathtub is running over and it's going into the hall", "urgent"),
    ("the light over the sink flickers when the dishwasher runs", None),
    ("someone is bleeding, he cut himself on the pipe", "urgent"),
    ("my back hurts too much to get under the sink", None),
    ("can you install a flood light by the garage", None),
    ("i'm a nurse in the emergency room so call after six", None),
    ("agent", "human_request"),
    ("our real estate agent wants the inspection done", None),
    ("i want to talk to whoever i spoke with last time", "human_request"),
    ("can i talk to the plumber who's coming", "human_request"),
    ("gimme a real human", "human_request"),
    ("can you put me on the schedule for friday", None),
    ("how much would it be to patch the ceiling", "pricing"),
    ("we live across from the tennis courts", None),
    ("i'll see you in court", "legal"),
    ("can you sign a lien waiver for the bank", "legal"),
    ("does your contract have fine print about cancelling", "legal"),
    ("my wife sue will be home", None),
    ("i'm gonna sue over this", "legal"),
    ("what's the deposit to get on the schedule", "pricing"),
    ("can we pay monthly", "pricing"),
    ("is it like two hundred bucks", "pricing"),
    ("would it be more than a grand", "pricing"),
    ("my budget is around two thousand dollars", None),
    ("what are your hours", None),
    ("how much do you charge by the hour", "pricing"),
    ("i'm in charge of the house while my parents are away", None),
    ("they said you guys are first rate", None),
])
def test_the_fifth_rounds_playbook_triggers(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # a trigger word inside a place's or a person's name
    ("i'm at forty two court street", None),
    ("we're two doors down from the fire hall", None),
    ("the house is on sparks avenue", None),
    ("we're on lawyer road out past the church", None),
    ("the smoke shop's on the corner", None),
    ("the tenant's name is sue she'll let you in", None),
    ("my husband's name is court", None),
    # ... and the same words when they are the call's business
    ("i'm taking you to court over this", "legal"),
    ("there's a fire in the kitchen", "urgent"),
    ("there's smoke coming out of the panel", "urgent"),
    ("the kitchen smells like a gas station, really bad", "urgent"),
    ("my lawyer will call you", "legal"),
])
def test_a_trigger_word_that_names_a_place_or_a_person_does_not_fire(
        text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    ("her oxygen machine isn't running", None),
    ("one of your workers broke my window and i want that on record", "legal"),
    ("we need your records on the job you did", None),
    ("is this a recording", "human_request"),
    ("am i talking to a machine", "human_request"),
    ("are you a robot", "human_request"),
])
def test_a_machine_or_a_record_is_not_a_robot(text: str, category: str | None) -> None:
    assert _category(text) == category


@pytest.mark.parametrize(("text", "category"), [
    # round six, from everyday-blind2's misses
    ("my dad just fell off the ladder and he's hurt bad", "urgent"),
    ("the garage door came down on my daughter's foot and she's hurt", "urgent"),
    ("my husband does dialysis at home and we just lost power to that room", "urgent"),
    ("the power to my son's ventilator just went out", "urgent"),
    ("we'll let the judge sort it out then", "legal"),
    ("i'm going to take you to court", "legal"),
    ("my son plays on the court at the y so weekends are tough", None),
    ("i've been advised by counsel not to let your company back in", "legal"),
    ("what kind of money are we talking about here", "pricing"),
    ("how many bucks for a new shutoff valve", "pricing"),
    ("can the owner himself call me back", "human_request"),
    ("turn left at the flood control channel", None),
    ("yes that's right", None),
])
def test_the_sixth_rounds_playbook_triggers(text: str, category: str | None) -> None:
    assert _category(text) == category
