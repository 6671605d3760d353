"""The deterministic escalation guard over caller words."""

from __future__ import annotations

import pytest

from tests.unit.test_tools_fakes import example_playbook
from tools.escalation import EscalationGuard

pytestmark = pytest.mark.unit

GUARD = EscalationGuard.from_playbook(example_playbook())


@pytest.mark.parametrize(("text", "category", "phrase"), [
    ("Let me talk to a PERSON!", "human_request", "talk to a person"),
    ("can I speak to someone, please", "human_request", "speak to someone"),
    ("I want a real-person", "human_request", "real person"),
    ("How much does it cost?", "pricing", "how much does it cost"),
    ("what's your hourly rate", "pricing", "hourly rate"),
    ("can you give me a quote", "pricing", "quote"),
    ("my lawyer will be in touch", "legal", "lawyer"),
    ("I'm going to sue you", "legal", "going to sue"),
    ("the basement is FLOODING", "urgent", "flooding"),
    ("I think I smell gas", "urgent", "smell gas"),
    ("there's a gas leak and I want a quote", "urgent", "gas leak"),  # urgent wins
    ("this is an emergency, get me a person: talk to a human", "urgent", "emergency"),
])
def test_triggers_match(text: str, category: str, phrase: str) -> None:
    match = GUARD.check(text)
    assert match is not None
    assert (match.category, match.phrase) == (category, phrase)


@pytest.mark.parametrize("text", [
    "my sink is clogged", "the spice rack fell", "a pricey faucet", "my issue is the drain",
    "Sue is my wife", "", "   ", "!!!", "quoted from the manual",
])
def test_ordinary_words_do_not_trigger(text: str) -> None:
    assert GUARD.check(text) is None


def test_apostrophes_and_unicode_quotes_are_ignored() -> None:
    guard = EscalationGuard({"human_request": ["I'd like a human"]})
    match = guard.check("Honestly, I’d like a human.")
    assert match is not None and match.phrase == "I'd like a human"


def test_guard_with_no_triggers_never_matches() -> None:
    assert EscalationGuard({}).check("emergency") is None
