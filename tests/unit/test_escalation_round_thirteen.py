"""Round thirteen of the guard, tuned on everyday-blind9's misses: a turn's second phrase is read
after a first one set aside as past or "every time"; "the smoke alarm" names the device; fire
and sparks used as figures; pricing's "charge" and "dear" in other senses; medical equipment
without power. Sentences here were written for the test, not taken from the benchmark's files.
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
    # the first phrase is set aside, the second still fires
    ("the fire alarm's beeping and it isn't the cooking, there's real smoke coming up the "
     "stairs", "urgent"),
    ("the light switch sparks every time i flick it and now the plate is hot", "urgent"),
    ("the co alarm keeps going off every time the boiler fires up and the baby's asleep "
     "upstairs", "urgent"),
    # ... but "the smoke alarm" is the device, and "every time" holds for it too
    ("the smoke alarm goes off every time i use the grill pan", None),
    ("the immersion tank is dripping on the fuse board", "urgent"),
    ("my dad's stairlift has no power and he's stuck at the top", "urgent"),
    # figures of speech
    ("my email inbox is on fire this morning, anyway the porch light needs a new fitting", None),
    ("work has been a total dumpster fire, sorry, the bath tap is loose", None),
    ("it's hotter than blazes out there, the aircon wants a service", None),
    ("she's a bright spark, my niece, she found your number", None),
    # an emergency's price is a price
    ("what do you charge to bleed the radiators", "pricing"),
    ("is there an emergency surcharge on sundays", "pricing"),
    # pricing's words in other senses
    ("he's a dear, my neighbour, he'll let your plumber in", None),
    ("is it dearer than last year's service", "pricing"),
    ("i've been charged with sorting the office, we need two sockets moved", None),
    ("the charge point on the drive needs checking", None),
    ("how much would you charge to rod the main line", "pricing"),
    # legal and human request
    ("your electrician blew up my computers, i'm holding you liable", "legal"),
    ("i'm bringing a claim for the ruined carpet", "legal"),
    ("i'm contesting the bill with my card company", "legal"),
    ("is the owner around for a quick word", "human_request"),
])
def test_the_thirteenth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                    category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category
