"""Round eight of the guard, tuned on everyday-blind4's misses: each rule is tested both ways,
with sentences written for the test rather than copied from a benchmark split."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import rules_category, rules_only_guard
from tools.escalation_figures import ASKS_FOR_SOMEONE

pytestmark = pytest.mark.unit

RULES = rules_only_guard()
_category = rules_category


@pytest.mark.parametrize(("text", "category"), [
    # fire and flood as figures of speech or other things' names
    ("we fired our old roofer after the last job", None),
    ("i'll fire up the barbecue while your guy is here", None),
    ("a fire engine went past, that's the noise, sorry", None),
    ("i've had a flood of calls from my landlord today", None),
    ("the kitchen is on fire", "urgent"),
    ("the cellar is flooded with water right now", "urgent"),
    # a water heater that is out is hot water, not the heating
    ("the water heater in the loft keeps going out", None),
    ("the water heater burst and it's spraying everywhere", "urgent"),
    ("the heater keeps going out and it's freezing in here", "urgent"),
    # "no heat" needs its "no" first
    ("the boiler makes a ticking noise but no leak", None),
    ("we have no heat and it's below zero", "urgent"),
    # settled, long-standing, in a former home or someone else's
    ("the bathroom ceiling leaked in the spring but it's dry now", None),
    ("the socket has had a burn mark since we moved in, nothing new", None),
    ("our old house had a gas leak so we get the boiler serviced every year", None),
    ("my cousin's flat in Leeds has a burst pipe, I'm ringing about my own boiler", None),
    ("the family next door have water coming through their ceiling", None),
    ("the gas is leaking in our kitchen right now", "urgent"),
    # what-ifs, weather and a warranty that still holds
    ("supposing the pipes froze while we're abroad, who would come", None),
    ("the porch roof drips a bit when it really pelts down", None),
    ("the boiler you fitted is leaking and it's still under warranty, will you honor it",
     "legal"),
    # people told about, the caller's own role, a caller content with the AI
    ("I'm the site supervisor at the depot, a few lights are out", None),
    ("the manager of our block recommended your firm", None),
    ("the landlord lives abroad so I'm arranging it", None),
    ("honestly I don't mind chatting to a bot", None),
    ("I talked to a person on Tuesday about the boiler and I'm following up", None),
    ("I talked to a robot last time and I want a person", "human_request"),
    ("my electrician found live wires behind the plaster", None),
    ("I'd rather talk to a living, breathing person", "human_request"),
    ("can I speak to the manager, please", "human_request"),
    ("I don't want a bot, get me a human", "human_request"),
    # asking for someone by pronoun or by a name the transcript capitalises
    ("I usually deal with Maria, is she there?", "human_request"),
    ("is he there yet, the plumber said ten", None),
    ("Is Graham around?", "human_request"),
    ("can I talk to Priya please", "human_request"),
    ("could you put Mr. Okafor on", "human_request"),
    ("I've been trying to reach Bernadette all week", "human_request"),
    ("I was told to ask for Colm when I rang", "human_request"),
    ("I need to talk to Dermot first, he's my husband", None),
    ("is Friday available for the visit", None),
    # no capital: since round sixteen a lone "is <word> around" opening the turn is still asked
    # for (tools/escalation_callbacks.py), as lowercase transcripts write names
    ("is graham around", "human_request"),
    ("we can put Tuesday on the calendar", None),
    # legal wording
    ("I'm within the cooling off period so I want out of the contract", "legal"),
    ("I'm going to the ombudsman about your work", "legal"),
    ("is it all right to cancel the appointment and rebook", None),
    ("I've filed a chargeback with my bank over that invoice", "legal"),
    ("the licensing board will be hearing about this", "legal"),
    ("can I speak to someone higher up", "human_request"),
    ("the sewer backup is coming up through the shower right now", "urgent"),
    # names and time that a "cost" or "sue" stands for
    ("Sue from number twelve has a spare key", None),
    ("I want to sue the firm who fitted my boiler", "legal"),
    ("Price is my surname, Anna Price", None),
    ("waiting in last time cost me a whole morning", None),
    ("what's the call-out surcharge on a Sunday", "pricing"),
    ("are there any rebates on a new boiler", "pricing"),
    ("how much room does the new tank need", None),
    ("grand so, Friday suits", None),
])
def test_round_eight(text: str, category: str | None) -> None:
    assert _category(text) == category


def test_asking_by_pronoun_names_its_rule() -> None:
    match = RULES.check("is she around?")
    assert match is not None and match.phrase == ASKS_FOR_SOMEONE
