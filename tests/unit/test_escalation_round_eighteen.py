"""Round eighteen of the guard, tuned on everyday-blind14's misses: a quote or payment already
settled, a warranty asked a price of or kept for the records, one of ours asked whether they
can ring or a callback got from them, a hazard word asked about and denied, a title before a
trigger word, someone trapped under something; and phrases and ignores from the misses. Each
rule is checked both ways: a sentence it must fire on, and a near miss it must not. Sentences
here were written for the test, not taken from the benchmark's files.
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
    # a quote or payment already settled
    ("we signed your estimate on friday, so it's just the date now", None),
    ("the invoice was paid by my son last week", None),
    ("the quotation says the skip is included, where will it go", None),
    ("we're happy with the price, the kitchen's ready whenever", None),
    ("the estimate mentioned three days on site, is that still right", None),
    ("your quote stated the 3rd, can we move it", None),
    ("we're unhappy with the quote you sent", "pricing"),
    ("the quote said four hundred, is that per door", "pricing"),
    ("i'd be happy with a rough estimate over the phone", "pricing"),
    ("we accepted the quote, is there a discount if we pay cash", "pricing"),
    # a warranty asked a price of, or kept for the records
    ("what does the extended guarantee cost on a new boiler", "pricing"),
    ("please send over your insurance certificate for our files", None),
    ("do you offer a warranty on the fitting", "legal"),
    ("the warranty you sold me won't cover it and that cost me a fortune", "legal"),
    ("please keep the contract for your records, i'm cancelling because you never came",
     "legal"),
    # one of ours asked whether they can ring
    ("can the plumber ring me before six", None),
    ("could the estimator give me a ring about the numbers", "human_request"),
    ("can your office manager call me back", "human_request"),
    ("can the roofer phone me when he's leaving the yard", None),
    ("can the kids call me if nobody's in", None),
    # a callback got from one of ours
    ("could i get a call back from the scheduler", "human_request"),
    ("did i get a call from you earlier", None),
    # a hazard word asked about and denied
    ("fire? no, it's the sunset on the window", None),
    ("smoke, no flames yet, but it's filling the hall", "urgent"),
    ("sparks? yes, out of the plug", "urgent"),
    # a title before a trigger word, a surname told
    ("it's Dr Price at number four", None),
    ("Sue's my surname, funnily enough", None),
    ("the price is the problem, mister", "pricing"),
    # someone trapped under something
    ("my husband's trapped under a fallen wardrobe", "urgent"),
    ("i was stuck on a call all morning", None),
    # urgent phrases and ignores
    ("the immersion cylinder has burst in the cupboard", "urgent"),
    ("the socket in the shed is arcing", "urgent"),
    ("there's a river coming down the hallway", "urgent"),
    ("there's electricity in the water around the washing machine", "urgent"),
    ("it's freezing out, so can you come before the weekend", None),
    ("my phone bill's shocking, anyway the boiler", None),
    ("the garden gate's dropped and won't close", None),
    ("what's your emergency number for out of hours", None),
    ("my inbox is flooded so ring rather than email", None),
    ("i'm the fire warden at my office", None),
    ("the sparks fly between my neighbours, anyway, the fence", None),
    # human request phrases and ignores
    ("put the guvnor on please", "human_request"),
    ("i'd rather deal with one of your people", "human_request"),
    ("the plumber connected it to the mains last year", None),
    ("my calls are being recorded at work", None),
    ("you sound like a real person", None),
    ("it's the human touch we want", None),
    ("sorry, someone else in the room was talking", None),
    # legal phrases and ignores
    ("i reckon i've got grounds to sue over the extension", "legal"),
    ("i was mis sold the solar panels by your rep", "legal"),
    ("expect a letter before action this week", "legal"),
    ("i'll start proceedings if it isn't fixed by monday", "legal"),
    ("that's against consumer law and you know it", "legal"),
    ("i'm contesting the invoice you sent", "legal"),
    ("i'm her legal guardian so i'll sign", None),
    ("the display shows fault code e9", None),
    ("the loss adjuster is coming on tuesday", None),
    # pricing phrases and ignores
    ("two hundred to come out on a sunday, that's steep", "pricing"),
    ("is that the best you can do on the labour", "pricing"),
    ("is that sixty an hour plus parts", "pricing"),
    ("is the second visit free", "pricing"),
    ("we need to be there at all costs", None),
    ("at this rate we'll never get it done", None),
    ("we paid the asking price for the flat", None),
    ("house prices are mad round here", None),
    ("my partner handles the finances", None),
])
def test_the_eighteenth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                     category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category
