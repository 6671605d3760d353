"""The guard's second opinion, learned from the playbook's example sentences."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.guard_bench import UNTOUCHED_SPLIT
from tests.unit.test_tools_fakes import example_playbook, example_playbook_text
from tools import escalation_model
from tools.escalation import LEARNED_TRIGGER, EscalationGuard
from tools.escalation_model import (
    FIRE_PROBABILITY,
    Example,
    ExamplesError,
    SentenceModel,
    model_for,
    read_examples,
)
from tools.playbook import PlaybookError, load_playbook

pytestmark = pytest.mark.unit

TINY = [Example("urgent", "water is pouring through the ceiling", 1),
        Example("urgent", "the basement is flooding fast", 2),
        Example("pricing", "how much do you charge", 3),
        Example("pricing", "what does a visit cost", 4),
        Example("none", "my sink drains slowly", 5),
        Example("none", "the address is twelve oak lane", 6)]


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(escalation_model, "_loaded", {})


def test_the_example_playbook_learns_what_its_phrases_do_not_say() -> None:
    playbook = example_playbook()
    full = EscalationGuard.from_playbook(playbook)
    rules = EscalationGuard.from_playbook(playbook, learned=False)
    sentence = "i want it in writing that you'll cover it if it leaks again"
    assert rules.check(sentence) is None
    match = full.check(sentence)
    assert match is not None and match.category == "legal"
    assert match.phrase == LEARNED_TRIGGER
    assert match.probability is not None and match.probability >= FIRE_PROBABILITY["legal"]
    # ordinary intake talk stays quiet
    for ordinary in ("the garage door makes a grinding noise when it opens",
                     "my name is carla and i live on maple avenue"):
        assert full.check(ordinary) is None


def test_a_phrase_the_context_rules_set_aside_stays_set_aside(tmp_path: Path) -> None:
    # the model alone is sure this is urgent; the rules read "last year ... dry now" as past
    sentence = "last year a pipe burst in the basement, it's dry now"
    examples = tmp_path / "examples.txt"
    examples.write_text("[urgent]\n" + "\n".join([
        "a pipe burst in the basement", "the pipe burst and the basement is wet",
        "a pipe burst last night"]) + "\n[none]\nthe sink drips\nmy name is dana\n")
    guard = EscalationGuard({"urgent": ["burst pipe"]}, model_for([examples]))
    assert guard._model is not None
    assert guard._model.classify(sentence) is not None
    assert guard.check(sentence) is None


def test_the_model_answers_only_when_no_phrase_matched() -> None:
    model = SentenceModel.train(TINY)
    guard = EscalationGuard({"pricing": ["how much"]}, model)
    match = guard.check("how much is it if water is pouring through the ceiling")
    assert match is not None and match.category == "pricing" and match.probability is None
    learned = guard.check("water is pouring through the ceiling")
    assert learned is not None and learned.category == "urgent"


def test_training_is_deterministic_and_survives_the_cache(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    first, second = SentenceModel.train(TINY), SentenceModel.train(TINY)
    assert first.to_bytes() == second.to_bytes()
    examples = tmp_path / "examples.txt"
    examples.write_text("".join(f"[{e.label}]\n{e.text}\n" for e in TINY))
    trained = model_for([examples])
    assert trained is not None
    cached = list((tmp_path / "cache" / "phone-intake-agent" / "guard-model").glob("*.npz"))
    assert len(cached) == 1

    def no_training(_examples: object) -> SentenceModel:
        raise AssertionError("trained again despite the cache")

    monkeypatch.setattr(escalation_model, "_loaded", {})
    monkeypatch.setattr(SentenceModel, "train", no_training)
    loaded = model_for([examples])
    assert loaded is not None
    text = "the basement is flooding fast"
    assert loaded.probabilities(text).tolist() == trained.probabilities(text).tolist()
    # changed examples are a new model, not the cached one
    examples.write_text(examples.read_text() + "[none]\nthe tap drips\n")
    monkeypatch.setattr(escalation_model, "_loaded", {})
    with pytest.raises(AssertionError, match="trained again"):
        model_for([examples])


@pytest.mark.parametrize(("text", "message"), [
    ("water everywhere\n", "examples.txt:1: a sentence before the first [label]"),
    ("[urgent]\nwater everywhere\n[emergency]\n", "examples.txt:3: unknown label 'emergency'"),
])
def test_a_bad_examples_file_names_its_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "examples.txt"
    path.write_text(text)
    with pytest.raises(ExamplesError) as caught:
        read_examples(path)
    assert message in str(caught.value)


def test_a_playbook_with_a_bad_or_missing_examples_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bad.txt").write_text("[urgent]\nwater\n[emergency]\n")
    text = example_playbook_text()
    start = text.index("escalation_examples:")
    end = text.index("\n\n", start)
    for entry, expected in (("bad.txt", "bad.txt:3: unknown label"),
                            ("missing.txt", "missing.txt: cannot read")):
        path = tmp_path / "playbook.yaml"
        path.write_text(text[:start] + f"escalation_examples:\n  - {entry}" + text[end:])
        with pytest.raises(PlaybookError) as caught:
            load_playbook(path)
        assert any("escalation_examples" in p and expected in p for p in caught.value.errors)


def test_the_shipped_examples_never_include_the_blind_set() -> None:
    names = [Path(p).name for p in example_playbook().escalation_examples]
    assert names and all(Path(p).is_file() for p in example_playbook().escalation_examples)
    # an untouched blind set measures the guard: the model must never have learned from it
    # (blind2 to blind4 were tuned on by the rules first, then learned from in round nine)
    assert f"guard_sentences_{UNTOUCHED_SPLIT}.txt" not in names
    assert "guard_sentences_everyday_blind4.txt" in names


@pytest.mark.parametrize("line", [
    "Hi, my water heater is leaking in the basement.",
    "Hello, my dishwasher is leaking all over the kitchen floor.",
    "Hi, so the thing is... my kitchen sink drains really slowly... and it smells.",
    "There is a bit of water on the floor.",
])
def test_the_opening_lines_of_ordinary_calls_do_not_escalate(line: str) -> None:
    # the calls the demo, the eval bank and the benchmarks place open with these
    assert EscalationGuard.from_playbook(example_playbook()).check(line) is None
