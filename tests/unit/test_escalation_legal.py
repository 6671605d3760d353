"""Legal cues that are rules rather than playbook phrases (tools/escalation_legal.py): damage
blamed on our people and "sued"/"suing". Each rule is tested both ways."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import example_playbook
from tools.escalation import EscalationGuard
from tools.escalation_legal import LAWSUIT_RULE, damage_blamed_on_us, lawsuit_word
from tools.escalation_phrases import words_and_clauses as _words_and_clauses

pytestmark = pytest.mark.unit

GUARD = EscalationGuard.from_playbook(example_playbook())


def _blamed(text: str) -> bool:
    return damage_blamed_on_us(*_words_and_clauses(text)) is not None


@pytest.mark.parametrize(("text", "blamed"), [
    ("your guy dinged my car in the driveway", True),
    ("your electrician fried the thermostat", True),
    ("your tech stripped the threads on the valve", True),
    ("your plumber bent my gutter", True),
    # a second verb of the same subject, after "and", taking an object
    ("your guys came out and scratched the floor", True),
    ("your crew left a mess and broke a tile", True),
    ("can you fix the sink and cracked tile", False),
    ("your guys came out and fixed the drain", False),
    # a hole knocked or punched, not one drilled for the work
    ("your tech knocked a hole in my drywall", True),
    ("your guy punched a hole through the ceiling", True),
    ("your guy left a note on the door", False),
    ("your guy drilled a hole for the vent", False),
    # negated, or a service verb first, is no blame
    ("your guy didn't break anything", False),
    ("can you replace my stripped valve", False),
])
def test_damage_blamed_on_us(text: str, blamed: bool) -> None:
    assert _blamed(text) is blamed


@pytest.mark.parametrize(("text", "category"), [
    ("the hoa is suing me over the water damage", "legal"),
    ("what if i get sued because of your work", "legal"),
    ("we are being sued by the buyer", "legal"),
    # the bare "sue" is also a name
    ("this is sue from round rock", None),
    ("sue and i are both on the deed", None),
    # a negated lawsuit does not fire
    ("we're not suing anybody, we just want it fixed", None),
])
def test_sued_or_suing_is_a_legal_cue_the_name_sue_is_not(
        text: str, category: str | None) -> None:
    match = GUARD.check(text)
    assert (match.category if match is not None else None) == category


def test_the_lawsuit_rule_names_itself() -> None:
    match = GUARD.check("the tenant downstairs is suing us")
    assert match is not None and match.phrase == LAWSUIT_RULE
    assert lawsuit_word(["sue", "called"]) is None
