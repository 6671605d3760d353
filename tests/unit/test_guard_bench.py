"""The guard benchmark's labelled sentences and its scoring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks.guard_bench import (
    BLIND2_FILE,
    BLIND3_FILE,
    BLIND4_FILE,
    BLIND5_FILE,
    BLIND6_FILE,
    BLIND7_FILE,
    BLIND8_FILE,
    BLIND9_FILE,
    BLIND10_FILE,
    BLIND11_FILE,
    BLIND12_FILE,
    BLIND13_FILE,
    BLIND14_FILE,
    BLIND15_FILE,
    BLIND_FILE,
    EVERYDAY_FILE,
    FRESH_FILE,
    ROUND2_FILE,
    UNTOUCHED_SPLIT,
    DataError,
    LabelledSentence,
    load_sentences,
    score,
)
from tools.escalation import EscalationGuard

pytestmark = pytest.mark.unit


def test_the_shipped_set_has_enough_sentences_per_label_and_two_halves() -> None:
    sentences = load_sentences()
    counts = {label: sum(1 for s in sentences if s.label == label)
              for label in ("urgent", "human_request", "legal", "pricing", "none")}
    assert all(counts[c] >= 100 for c in ("urgent", "human_request", "legal", "pricing"))
    assert counts["none"] >= 200
    texts = [s.text for s in sentences]
    assert len(set(texts)) == len(texts)  # no sentence twice
    for label in counts:
        halves = {s.split for s in sentences if s.label == label}
        assert halves == {"dev", "held_out"}
    for path, split in ((FRESH_FILE, "fresh"), (ROUND2_FILE, "round2"),
                        (EVERYDAY_FILE, "everyday"), (BLIND_FILE, "everyday_blind"),
                        (BLIND2_FILE, "everyday_blind2"), (BLIND3_FILE, "everyday_blind3"),
                        (BLIND4_FILE, "everyday_blind4"), (BLIND5_FILE, "everyday_blind5"),
                        (BLIND6_FILE, "everyday_blind6"), (BLIND7_FILE, "everyday_blind7"),
                        (BLIND8_FILE, "everyday_blind8"), (BLIND9_FILE, "everyday_blind9"),
                        (BLIND10_FILE, "everyday_blind10"), (BLIND11_FILE, "everyday_blind11"),
                        (BLIND12_FILE, "everyday_blind12"), (BLIND13_FILE, "everyday_blind13"),
                        (BLIND14_FILE, "everyday_blind14"), (BLIND15_FILE, "everyday_blind15")):
        other = load_sentences(path, split=split)
        assert {s.label for s in other} == set(counts) and {s.split for s in other} == {split}
        assert not set(texts) & {s.text for s in other}
        texts += [s.text for s in other]


def test_precision_and_recall_per_category() -> None:
    guard = EscalationGuard({"urgent": ["gas leak"], "pricing": ["price"]})
    sentences = [
        LabelledSentence("urgent", "there's a gas leak", "dev"),
        LabelledSentence("urgent", "smoke everywhere", "dev"),  # missed
        LabelledSentence("pricing", "what's the price", "dev"),
        LabelledSentence("none", "the price of lumber went up", "dev"),  # a false positive
        LabelledSentence("none", "my sink drips", "dev"),
    ]
    figures = score(guard, sentences)
    assert figures["urgent"] == {"precision": 1.0, "recall": 0.5, "n": 2}
    assert figures["pricing"] == {"precision": 0.5, "recall": 1.0, "n": 1}
    assert figures["legal"] == {"precision": None, "recall": None, "n": 0}
    assert figures["none"] == {"fired": 1, "n": 2}


def test_a_bad_label_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.txt"
    path.write_text("[urgent]\na pipe burst\n[emergencies]\nsmoke\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"s.txt:3: unknown label"):
        load_sentences(path)


@pytest.fixture(scope="module")
def bench_with_misses() -> dict[str, Any]:
    """One run of the whole benchmark (it times 20 rounds of every split) for the tests below."""
    from benchmarks.guard_bench import run_guard_benchmark
    from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK

    return run_guard_benchmark(Path(EXAMPLE_PLAYBOOK), show_misses=True)


def _assert_issue_counts(sentences: list[LabelledSentence], per_category: int,
                         ordinary: int) -> None:
    for label in ("urgent", "human_request", "legal", "pricing"):
        assert sum(1 for s in sentences if s.label == label) >= per_category
    assert sum(1 for s in sentences if s.label == "none") >= ordinary


def test_the_everyday_set_has_forty_per_category_and_is_scored(
        bench_with_misses: dict[str, Any]) -> None:
    everyday = load_sentences(EVERYDAY_FILE, split="everyday")
    _assert_issue_counts(everyday, 40, 80)
    result = bench_with_misses
    assert result["sentences"]["everyday"]["urgent"] == sum(
        1 for s in everyday if s.label == "urgent")
    assert set(result["everyday"]) == {"urgent", "human_request", "legal", "pricing", "none"}


def test_the_blind_set_meets_the_issues_counts_and_its_misses_are_listed(
        bench_with_misses: dict[str, Any]) -> None:
    """Tuned on in the fifth round, so `--show-misses` lists it like the other splits."""
    blind = load_sentences(BLIND_FILE, split="everyday_blind")
    _assert_issue_counts(blind, 100, 200)
    result = bench_with_misses
    assert result["sentences"]["everyday_blind"]["none"] == sum(
        1 for s in blind if s.label == "none")
    assert set(result["everyday_blind"]) == {"urgent", "human_request", "legal", "pricing", "none"}
    listed = [m for m in result["misses"] if m["split"] == "everyday_blind"]
    texts = {s.text for s in blind}
    assert all(m["text"] in texts for m in listed)


@pytest.mark.parametrize(("path", "split"), [
    (BLIND2_FILE, "everyday_blind2"),  # measured three times, tuned on in round six
    (BLIND3_FILE, "everyday_blind3"),  # measured untouched once, tuned on in round seven
    (BLIND4_FILE, "everyday_blind4"),  # tuned on in round eight
    (BLIND5_FILE, "everyday_blind5"),  # measured before and after round eight, tuned in nine
    (BLIND6_FILE, "everyday_blind6"),  # measured five times in round nine, tuned in ten
    (BLIND7_FILE, "everyday_blind7"),  # measured three times in round ten, tuned in eleven
    (BLIND8_FILE, "everyday_blind8"),  # measured three times in round eleven, tuned in twelve
    (BLIND9_FILE, "everyday_blind9"),  # measured before and after round twelve, tuned in 13
    (BLIND10_FILE, "everyday_blind10"),  # measured three times in rounds 12-13, tuned in 14
    (BLIND11_FILE, "everyday_blind11"),  # measured before and after round 14, tuned in 15
    (BLIND12_FILE, "everyday_blind12"),  # measured before and after round 15, tuned in 16
    (BLIND13_FILE, "everyday_blind13"),  # measured before and after round 16, tuned in 17
    (BLIND14_FILE, "everyday_blind14"),  # measured before and after round 17, tuned in 18
])
def test_a_tuned_blind_set_meets_the_issues_counts_and_its_misses_are_listed(
        bench_with_misses: dict[str, Any], path: Path, split: str) -> None:
    blind = load_sentences(path, split=split)
    _assert_issue_counts(blind, 100, 200)
    assert split != UNTOUCHED_SPLIT and bench_with_misses["sentences"][split]["none"] == sum(
        1 for s in blind if s.label == "none")
    texts = {s.text for s in blind}
    listed = [m for m in bench_with_misses["misses"] if m["split"] == split]
    assert all(m["text"] in texts for m in listed)
    # what it gets wrong is listed: as many as the scores say it gets wrong
    figures = bench_with_misses[split]
    wrong_none = figures["none"]["fired"]
    assert sum(1 for m in listed if m["label"] == "none") == wrong_none


def test_the_fifteenth_blind_set_meets_the_issues_counts_and_is_never_listed(
        bench_with_misses: dict[str, Any]) -> None:
    """Never tuned on: `--show-misses` must not show its sentences to whoever tunes next, and
    the learned model never learns from it."""
    from tests.unit.test_tools_fakes import example_playbook

    blind15 = load_sentences(BLIND15_FILE, split="everyday_blind15")
    _assert_issue_counts(blind15, 100, 200)
    result = bench_with_misses
    assert UNTOUCHED_SPLIT == "everyday_blind15"
    for key in ("everyday_blind15", "everyday_blind15_rules_only",
                "everyday_blind15_not_overruled"):
        assert set(result[key]) == {"urgent", "human_request", "legal", "pricing", "none"}
    assert result["sentences"]["everyday_blind15"]["none"] == sum(
        1 for s in blind15 if s.label == "none")
    texts = {s.text for s in blind15}
    assert not [m for m in result["misses"] if m["text"] in texts]
    examples = [Path(p).name for p in example_playbook().escalation_examples]
    assert BLIND15_FILE.name not in examples and BLIND11_FILE.name in examples
    assert BLIND12_FILE.name in examples  # since the end of round sixteen
    assert BLIND13_FILE.name in examples  # since the end of round seventeen
    assert BLIND14_FILE.name in examples  # since the end of round eighteen
