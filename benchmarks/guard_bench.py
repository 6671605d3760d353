"""`intake bench guard`: the escalation guard's precision and recall on labelled caller sentences,
and its cost per caller turn.

The sentences (benchmarks/data/) come in six splits. guard_sentences.txt alternates dev and
held-out lines per label; the first tuning round looked at the misses of both halves, later
rounds at dev only, so held-out is somewhat optimistic. guard_sentences_round2.txt was written
after that round, measured untouched once (its header keeps those figures), then tuned on.
guard_sentences_fresh.txt was written after the triggers were frozen, then tuned on in the third
round. guard_sentences_everyday.txt (callers' own speech, ASR-style lowercase) was written before
the third round looked at any miss, measured untouched once, and tuned on in the fourth round
(issue 14); `--show-misses` lists it since. guard_sentences_everyday_blind.txt was written
before that round, without reading the trigger lists, measured untouched through it (urgent P/R
0.879/0.847, human request 0.969/0.887, legal 0.966/0.789, pricing 0.958/0.812, 21 of 280
ordinary sentences fired) and tuned on in the fifth round: `--show-misses` lists it too.
guard_sentences_everyday_blind2.txt was written before the fifth round's changes were seen, by
a writer who read no trigger list, guard code or other split; measured three times, then the
phrase rules were tuned on its misses in the sixth round, and `--show-misses` lists it since (it
is not one of the learned model's example files: with it, the model heard "my dishwasher is
leaking all over the kitchen floor" as urgent). guard_sentences_everyday_blind3.txt was
written the same way for the sixth round, measured untouched once before any change (its header
keeps those figures), and tuned on in the seventh; `--show-misses` lists it since.
guard_sentences_everyday_blind4.txt was written the same way for the seventh round, measured
untouched before any change (its header keeps those figures), and tuned on in the eighth;
`--show-misses` lists it since. guard_sentences_everyday_blind5.txt was written the same way
for the eighth round, measured untouched before and after it (its header keeps both), and
tuned on in the ninth; `--show-misses` lists it since. guard_sentences_everyday_blind6.txt was
written the same way for the ninth round, measured five times through it (its header keeps each
look) and tuned on in the tenth. guard_sentences_everyday_blind7.txt was written the same way
for the tenth round, measured three times through it and tuned on in the eleventh.
guard_sentences_everyday_blind8.txt was written the same way for the eleventh round,
measured three times through it and tuned on in the twelfth.
guard_sentences_everyday_blind9.txt was written the same way ahead of the twelfth round,
measured before and after it and tuned on in the thirteenth.
guard_sentences_everyday_blind10.txt was written the same way during the twelfth round,
measured twice through it and once after the thirteenth, and tuned on in the fourteenth.
guard_sentences_everyday_blind11.txt was written the same way at the end of the thirteenth
round, measured before and after the fourteenth and tuned on in the fifteenth.
guard_sentences_everyday_blind12.txt was written the same way during the fourteenth round,
measured before and after the fifteenth and tuned on in the sixteenth.
guard_sentences_everyday_blind13.txt was written the same way during the fifteenth round,
measured before and after the sixteenth and tuned on in the seventeenth.
guard_sentences_everyday_blind14.txt was written the same way at the start of the seventeenth
round, measured before and after it and tuned on in the eighteenth.
guard_sentences_everyday_blind15.txt was written the same way after the seventeenth round; it
is never tuned on and `--show-misses` never lists it: its figures are the ones to believe. All
twenty are reported, with the targets. Every tuned split is also one of the learned
model's example files (blind2 to blind5 since the ninth round, blind6 since the tenth, blind11
since the end of the fifteenth, blind12 since the end of the sixteenth, blind13 since the end
of the seventeenth, blind14 since the end of the eighteenth); the untouched split never is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.escalation import EscalationGuard
from tools.escalation_model import FIRE_PROBABILITY, ExamplesError, read_examples
from tools.playbook import ESCALATION_CATEGORIES, load_playbook

DATA_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences.txt"
# written after the first tuning round, measured untouched once, then tuned on
ROUND2_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_round2.txt"
# written after the triggers were frozen; tuned on in the third round
FRESH_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_fresh.txt"
# written before the third tuning round looked at any miss; tuned on in the fourth
EVERYDAY_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday.txt"
# written before the fourth round, blind to the trigger lists; tuned on in the fifth
BLIND_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind.txt"
# written for the fifth round by a writer blind to the rules; rules tuned on it in the sixth
BLIND2_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind2.txt"
# written for the sixth round by a writer blind to the rules; tuned on in the seventh
BLIND3_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind3.txt"
# written for the seventh round by a writer blind to the rules; tuned on in the eighth
BLIND4_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind4.txt"
# written for the eighth round by a writer blind to the rules; tuned on in the ninth
BLIND5_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind5.txt"
# written for the ninth round by a writer blind to the rules; tuned on in the tenth
BLIND6_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind6.txt"
# written for the tenth round by a writer blind to the rules; tuned on in the eleventh
BLIND7_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind7.txt"
# written for the eleventh round by a writer blind to the rules; tuned on in the twelfth
BLIND8_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind8.txt"
# written ahead of the twelfth round by a writer blind to the rules; tuned on in the thirteenth
BLIND9_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind9.txt"
# written during the twelfth round by a writer blind to the rules; tuned on in the fourteenth
BLIND10_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind10.txt"
# written after the thirteenth round by a writer blind to the rules; tuned on in the fifteenth
BLIND11_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind11.txt"
# written during the fourteenth round by a writer blind to the rules; tuned on in the sixteenth
BLIND12_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind12.txt"
# written during the fifteenth round by a writer blind to the rules; tuned on in the seventeenth
BLIND13_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind13.txt"
# written at the start of the seventeenth round by a writer blind to the rules; measured before
# and after it, tuned on in the eighteenth
BLIND14_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind14.txt"
# written after the seventeenth round by a writer blind to the rules; never tuned on, never
# listed
BLIND15_FILE = Path(__file__).resolve().parent / "data" / "guard_sentences_everyday_blind15.txt"
# the split whose misses are never listed: its figures are the ones to believe
UNTOUCHED_SPLIT = "everyday_blind15"
# every split but dev and held-out, in the order they were written; the untouched one last
SPLIT_FILES: tuple[tuple[str, Path], ...] = (
    ("round2", ROUND2_FILE), ("fresh", FRESH_FILE), ("everyday", EVERYDAY_FILE),
    ("everyday_blind", BLIND_FILE), ("everyday_blind2", BLIND2_FILE),
    ("everyday_blind3", BLIND3_FILE), ("everyday_blind4", BLIND4_FILE),
    ("everyday_blind5", BLIND5_FILE), ("everyday_blind6", BLIND6_FILE),
    ("everyday_blind7", BLIND7_FILE), ("everyday_blind8", BLIND8_FILE),
    ("everyday_blind9", BLIND9_FILE), ("everyday_blind10", BLIND10_FILE),
    ("everyday_blind11", BLIND11_FILE), ("everyday_blind12", BLIND12_FILE),
    ("everyday_blind13", BLIND13_FILE), ("everyday_blind14", BLIND14_FILE),
    (UNTOUCHED_SPLIT, BLIND15_FILE),
)
NONE = "none"
LABELS = (*ESCALATION_CATEGORIES, NONE)
RECALL_TARGETS = {"urgent": 0.95, "human_request": 0.95, "legal": 0.9, "pricing": 0.9}
PRECISION_TARGET = 0.95
COST_P99_TARGET_MS = 1.0
TIMING_ROUNDS = 20


@dataclass(frozen=True)
class LabelledSentence:
    label: str
    text: str
    split: str  # "dev" or "held_out"


# a bad sentences file (the guard's examples share the format)
DataError = ExamplesError


def load_sentences(path: Path = DATA_FILE, split: str | None = None,
                   ) -> list[LabelledSentence]:
    """`[label]` headers, one sentence a line, `#` comments (tools.escalation_model); alternate
    lines per label split dev / held-out, unless `split` names one split for the whole file."""
    sentences: list[LabelledSentence] = []
    seen: dict[str, int] = {}
    for example in read_examples(path):
        index = seen.get(example.label, 0)
        seen[example.label] = index + 1
        half = "dev" if index % 2 == 0 else "held_out"
        sentences.append(LabelledSentence(example.label, example.text, split or half))
    return sentences


def score(guard: EscalationGuard, sentences: Sequence[LabelledSentence]) -> dict[str, Any]:
    """Per category precision and recall (a sentence may only be one category or none)."""
    predicted = []
    for sentence in sentences:
        match = guard.check(sentence.text)
        predicted.append(match.category if match is not None else NONE)
    figures: dict[str, Any] = {}
    for category in ESCALATION_CATEGORIES:
        actual = sum(1 for s in sentences if s.label == category)
        fired = sum(1 for p in predicted if p == category)
        hits = sum(1 for s, p in zip(sentences, predicted, strict=True)
                   if s.label == category and p == category)
        figures[category] = {
            "precision": round(hits / fired, 3) if fired else None,
            "recall": round(hits / actual, 3) if actual else None,
            "n": actual,
        }
    quiet = [p for s, p in zip(sentences, predicted, strict=True) if s.label == NONE]
    figures[NONE] = {"fired": sum(1 for p in quiet if p != NONE), "n": len(quiet)}
    return figures


def misses(guard: EscalationGuard, sentences: Sequence[LabelledSentence]) -> list[dict[str, Any]]:
    wrong = []
    for sentence in sentences:
        match = guard.check(sentence.text)
        got = match.category if match is not None else NONE
        if got != sentence.label:
            wrong.append({"label": sentence.label, "got": got, "split": sentence.split,
                          "text": sentence.text,
                          "trigger": match.phrase if match is not None else None})
    return wrong


def cost_per_turn_ms(guard: EscalationGuard, sentences: Sequence[LabelledSentence],
                     rounds: int = TIMING_ROUNDS) -> dict[str, float | int]:
    from benchmarks.stats import percentile

    samples: list[float] = []
    for _ in range(rounds):
        for sentence in sentences:
            started = time.perf_counter_ns()
            guard.check(sentence.text)
            samples.append((time.perf_counter_ns() - started) / 1e6)
    return {"p50": round(percentile(samples, 50), 4), "p99": round(percentile(samples, 99), 4),
            "max": round(max(samples), 4), "n": len(samples)}


def _met(figures: dict[str, Any]) -> bool:
    for category, target in RECALL_TARGETS.items():
        entry = figures[category]
        if entry["recall"] is None or entry["recall"] < target:
            return False
        if entry["precision"] is None or entry["precision"] < PRECISION_TARGET:
            return False
    return True


def run_guard_benchmark(playbook_path: Path, data_path: Path = DATA_FILE,
                        fresh_path: Path | None = FRESH_FILE, *,
                        split_files: Sequence[tuple[str, Path]] = SPLIT_FILES,
                        show_misses: bool = False) -> dict[str, Any]:
    """`data_path` holds the dev and held-out halves; `fresh_path` (None: left out) replaces the
    fresh split's file; `split_files` are the other splits in order, the untouched one last."""
    playbook = load_playbook(playbook_path)
    guard = EscalationGuard.from_playbook(playbook)
    rules_only = EscalationGuard.from_playbook(playbook, learned=False)
    never_overruled = EscalationGuard.from_playbook(playbook, overrule=False)
    sentences = load_sentences(data_path)
    splits: dict[str, list[LabelledSentence]] = {
        "dev": [s for s in sentences if s.split == "dev"],
        "held_out": [s for s in sentences if s.split == "held_out"]}
    for name, path in split_files:
        chosen = fresh_path if name == "fresh" else path
        splits[name] = load_sentences(chosen, split=name) if chosen is not None else []
    untouched = splits.get(UNTOUCHED_SPLIT, [])
    result: dict[str, Any] = {
        "playbook": str(playbook_path),
        "sentences": {split: {label: sum(1 for s in group if s.label == label)
                              for label in LABELS}
                      for split, group in splits.items()},
        "learned": {"example_files": [Path(p).name for p in playbook.escalation_examples],
                    "fire_probability": FIRE_PROBABILITY},
        f"{UNTOUCHED_SPLIT}_rules_only": score(rules_only, untouched) if untouched else None,
        # the model adds matches but never sets a phrase's aside
        f"{UNTOUCHED_SPLIT}_not_overruled": (score(never_overruled, untouched) if untouched
                                             else None),
    }
    # the untouched split first: it is the one to believe
    for name in reversed(splits):
        result[name] = score(guard, splits[name]) if splits[name] else None
    every = [s for group in splits.values() for s in group]
    result["cost_per_turn_ms"] = cost_per_turn_ms(guard, every)
    result["targets"] = {"recall": RECALL_TARGETS, "precision": PRECISION_TARGET,
                         "cost_p99_ms": COST_P99_TARGET_MS}
    result["targets_met"] = {
        **{name: _met(result[name]) if result[name] is not None else None
           for name in reversed(splits)},
        "cost": result["cost_per_turn_ms"]["p99"] < COST_P99_TARGET_MS,
    }
    if show_misses:
        result["misses"] = misses(guard, [s for s in every if s.split != UNTOUCHED_SPLIT])
    return result
