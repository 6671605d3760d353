"""Round twelve of the guard: the learned model, sure a sentence is ordinary talk, sets a phrase
rule's match aside; a phrase set aside no longer hides another one in the turn; new phrases.
Sentences here were written for the test, not taken from the benchmark's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.test_tools_fakes import rules_only_guard
from tools.escalation import EscalationGuard
from tools.escalation_model import OVERRULE_PROBABILITY, Example, SentenceModel
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "home_services.yaml"

# a contract that ended, a manager met elsewhere: ordinary; suing and wanting a manager: not
_EXAMPLES = [
    *(Example("none", text, 0) for text in (
        "our contract with the old firm ended so we want a new one for the checks",
        "the contract with the cleaning firm ran out so we need someone new",
        "we signed a contract for the new kitchen and need the sockets moved",
        "the old contract with the gardeners ended last spring",
        "book a visit for the dripping tap please",
        "the boiler needs its yearly service",
        "the fire in the grate is lit and the chimney draws fine, just sweep it",
        "we lit a fire and the room is lovely, the light switch is loose though",
    )),
    *(Example("legal", text, 0) for text in (
        "i will sue you over the broken contract",
        "my lawyer will be in touch about the damage",
        "you broke the terms of our agreement and i'm taking it to court",
    )),
    *(Example("urgent", text, 0) for text in (
        "there is a fire in the kitchen right now",
        "water is pouring through the ceiling",
    )),
    *(Example("pricing", text, 0) for text in (
        "how much does a service cost", "what is the price of a new boiler",
    )),
]


@pytest.fixture(scope="module")
def small_model() -> SentenceModel:
    return SentenceModel.train(_EXAMPLES)


def _guard(model: SentenceModel, *, overrule: bool = True) -> EscalationGuard:
    return EscalationGuard({"urgent": ["fire"], "legal": ["contract", "sue"],
                            "pricing": ["price"]}, model, overrule=overrule)


def test_a_phrase_the_examples_call_ordinary_is_set_aside(small_model: SentenceModel) -> None:
    sentence = "our contract with the old firm ended so we need someone new for the checks"
    assert small_model.overrules("legal", sentence.split())
    assert _guard(small_model).check(sentence) is None
    # without the overrule the phrase fires as before
    match = _guard(small_model, overrule=False).check(sentence)
    assert match is not None and match.category == "legal" and match.phrase == "contract"


def test_what_the_examples_do_not_call_ordinary_still_fires(small_model: SentenceModel) -> None:
    match = _guard(small_model).check("i will sue you over the contract")
    assert match is not None and match.category == "legal"


def test_pricing_is_never_overruled(small_model: SentenceModel) -> None:
    assert "pricing" not in OVERRULE_PROBABILITY
    words = ["the", "price", "of", "the", "old", "firm", "ended"]
    assert not small_model.overrules("pricing", words)


def test_an_emergency_happening_now_is_never_overruled(small_model: SentenceModel) -> None:
    """The words alone may look like the ordinary examples; "now" makes it active."""
    sentence = "we lit a fire and the room is on fire now"
    assert small_model.overrules("urgent", sentence.split())
    match = _guard(small_model).check(sentence)
    assert match is not None and match.category == "urgent"


@pytest.fixture(scope="module")
def playbook_guards() -> tuple[EscalationGuard, EscalationGuard]:
    playbook = load_playbook(PLAYBOOK)
    return (EscalationGuard.from_playbook(playbook),
            EscalationGuard.from_playbook(playbook, overrule=False))


@pytest.mark.parametrize(("sentence", "category"), [
    ("our old contract with the previous heating firm ended so we'd like someone new for the "
     "yearly service", "legal"),
    ("the mortgage lender wanted an insurance certificate for the wiring, it all passed, now we "
     "want a new socket", "legal"),
    ("my daughter works as a judge at flower shows, anyway the porch light needs fixing", "legal"),
    ("we had a chat with a manager at the garden centre about lights, now we need an "
     "electrician to fit them", "human_request"),
    # round fifteen: "a documentary about house fires" is a figure the rules set aside now, so
    # the model's overrule is shown on a leaflet, which no rule reads
    ("i read a leaflet on house fires so i want the wiring looked at, all fine as far "
     "as i know", "urgent"),
])
def test_the_example_playbook_overrules_ordinary_talk(
        playbook_guards: tuple[EscalationGuard, EscalationGuard], sentence: str,
        category: str) -> None:
    guard, never_overruled = playbook_guards
    plain = never_overruled.check(sentence)
    assert plain is not None and plain.category == category
    assert guard.check(sentence) is None


@pytest.mark.parametrize(("sentence", "category"), [
    ("there's smoke pouring out of the socket right now", "urgent"),
    ("the kitchen's full of smoke and the fuse box is sparking", "urgent"),
    ("no heat since yesterday and my baby is freezing", "urgent"),
    ("can i talk to a real person please", "human_request"),
    ("my contract says you'll replace the boiler for free, i'm going to sue", "legal"),
    ("the price of the survey was on the leaflet, anyway about the date", "pricing"),
])
def test_the_example_playbook_keeps_real_escalations(
        playbook_guards: tuple[EscalationGuard, EscalationGuard], sentence: str,
        category: str) -> None:
    guard, _ = playbook_guards
    match = guard.check(sentence)
    assert match is not None and match.category == category


@pytest.fixture(scope="module")
def rules_only() -> EscalationGuard:
    return rules_only_guard()


@pytest.mark.parametrize(("sentence", "category"), [
    # a phrase set aside ("boiler flue ... out" is where a flue goes) does not hide the smoke
    ("the boiler flue has come loose and it's pouring out smoke into the loft", "urgent"),
    # a turn told as "every time" is that for every phrase in it
    ("the smoke alarm goes off every time i make toast", None),
    # a phrase read as a name is read so again
    ("Price is my surname, Tom Price", None),
    # the twelfth round's phrases
    ("the gas alarm in the hall is beeping like mad and we've gone outside", "urgent"),
    ("we're knee deep in water in the cellar", "urgent"),
    ("there's a popping in the wall behind the cooker and the lights keep flickering", "urgent"),
    ("i'm not calling about an emergency, i want a quote for a new boiler", "pricing"),
    ("we're joining a class action against your firm", "legal"),
    ("i'll be pressing charges over the gate your lads smashed", "legal"),
    ("can you knock a bit off if i pay cash", "pricing"),
    ("is there anyone on the line who isn't a machine", "human_request"),
    ("i would rather speak to one of your lads", "human_request"),
])
def test_the_twelfth_rounds_rules(rules_only: EscalationGuard, sentence: str,
                                  category: str | None) -> None:
    match = rules_only.check(sentence)
    assert (match.category if match else None) == category
