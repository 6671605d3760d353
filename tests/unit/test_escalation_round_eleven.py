"""Round eleven of the guard, tuned on everyday-blind7's misses: each rule is tested both ways,
with sentences written for the test rather than copied from a benchmark split."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import rules_category

pytestmark = pytest.mark.unit

_category = rules_category


@pytest.mark.parametrize(("text", "category"), [
    # a lawyer in the family, the caller's own job, the caller's workplace
    ("my son's a solicitor and he always books you for his flat", None),
    ("my wife's an attorney so she can sign for the parts", None),
    ("i'm a barrister myself, so evenings suit me best", None),
    ("i'm ringing from the solicitors office next to the bank, a radiator's cold", None),
    ("my son's a solicitor and he says you're liable for the ceiling", "legal"),
    ("my sister's a lawyer and she says you haven't a leg to stand on", "legal"),
    ("i'm going to get a lawyer to look at what you did", "legal"),
    # legal words in another sense, and everyday legal wording
    ("my legal name's Robert but everyone calls me Bob", None),
    ("i'm a judge at the county dog show that weekend, so the monday please", None),
    ("i've signed a contract for a new job in town, so weekends only", None),
    ("the contract work at the depot ends soon so i'll be around more", None),
    ("the boiler cover is with my bank, this is a different job", None),
    ("i'm reporting you to fair trading", "legal"),
    ("one of those no win no fee firms says i've got a case", "legal"),
    ("working without a permit is illegal, isn't it", "legal"),
    # urgent words in another sense
    ("i've got home emergency cover but they're slow, so it's just a service", None),
    ("the fire's lit and we're toasty, i'm after a chimney sweep for spring", None),
    ("that's bonfire smoke from the allotments, nothing here", None),
    ("the garden hose split, i've binned it, i just want an outside tap moved", None),
    ("we argued about the tiles, sparks were flying, but we've agreed on white", None),
    ("the drive gets standing water after rain, we'd like a channel drain", None),
    ("there's standing water in the cellar and it's rising", "urgent"),
    ("sparks are coming out of the fuse box", "urgent"),
    ("there are sparks flying out of the kettle socket", "urgent"),
    # past trouble told as the reason for a plan
    ("we had a chimney fire ages back and now we're selling, so a sweep and a check", None),
    ("the drains backed up years ago, we want a valve so it doesn't happen again", None),
    ("the sewage is backing up again into the shower", "urgent"),
    # everyday wording of an emergency
    ("the light switch is too hot to touch and it smells", "urgent"),
    ("i've been zapped by the oven door", "urgent"),
    ("she got a belt off the tap, something's live", "urgent"),
    ("the basement is filling up and the pump's not keeping up", "urgent"),
    ("there's water welling up from under the tiles", "urgent"),
    ("the storm took half the roof, you can see the sky through the loft", "urgent"),
    ("the power's gone and my dad's feeding pump has no battery", "urgent"),
    ("the kitchen floor's dropping towards the back door", "urgent"),
    ("every time i switch the cooker on there's a bang and a flash", "urgent"),
    ("there's a sizzling sound behind the socket", "urgent"),
    ("the dehumidifier in the cellar fills up every day", None),
    ("the river's high but we're well up the hill", None),
    ("i'm shocked how fast the gutters filled up", None),
    # a person asked for in other words
    ("is there a real voice i could talk to", "human_request"),
    ("i'd rather go through it with one of your actual staff", "human_request"),
    ("i'll only explain it to a proper person", "human_request"),
    ("not you, the actual office please", "human_request"),
    ("wow, you sound really human", None),
    ("my husband put me on the phone, it's about the shed lights", None),
    # pricing: more ways to ask, and "dear" as a greeting
    ("can i get a written quotation for the rewire", "pricing"),
    ("is there money off for pensioners", "pricing"),
    ("is the inspection free or is there a charge", "pricing"),
    ("thank you dear, that's everything", None),
    ("hello dear, it's about the gutter on the porch", None),
    ("can you estimate how long the rewire will take", None),
    ("my quote of the day says be brave, so here i am", None),
    ("i just want an extra socket in the garage", None),
    ("is that dearer than a combi", "pricing"),
])
def test_round_eleven(text: str, category: str | None) -> None:
    assert _category(text) == category
