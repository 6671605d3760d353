"""A second opinion for the guard, learned from the playbook's example sentences.

Phrase rules (tools/escalation.py) are exact about what they match and stay the guard's first
word, but five rounds of tuning showed where they stop: on wording nobody wrote a phrase for,
they recall about 0.8 of emergencies and requests for a person. A playbook can therefore list
files of example caller sentences, labelled by category (the format of
benchmarks/data/guard_sentences*.txt: `[urgent]`, `[human_request]`, `[legal]`, `[pricing]`
and `[none]` headers, one sentence a line). From them the worker learns a small linear model:

- features are the guard's own word keys (lemma, then stem) and each pair of neighbouring
  keys, so "pipe burst" and "pipes have burst" share most of theirs;
- a multinomial logistic regression over the five labels, trained by full-batch gradient
  descent from zero weights: the same examples always give the same model;
- it fires only when the rules did not, and only when its most likely label is a category
  with probability at least that category's `FIRE_PROBABILITY`.

Examples are plain sentences a business owner can read and add to. Training takes about three
seconds for nine thousand sentences, so the weights are cached in the user's cache folder, keyed
by the examples' content and the training settings; a checked-out model is about 3 MB.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np

from audio.cache_files import cache_dir, write_cache_file
from tools.escalation_phrases import word_key, words
from tools.playbook import ESCALATION_CATEGORIES, EscalationCategory

logger = logging.getLogger("intake.guard")

NONE = "none"
LABELS: tuple[str, ...] = (*ESCALATION_CATEGORIES, NONE)
_NONE_INDEX = LABELS.index(NONE)
# the model speaks only this sure of a category (chosen on a split it was not trained on; a
# false urgent transfers the call, and with blind2-4 learned the eval bank's plain "my water
# heater is leaking in the basement" and "my sink drains slowly and it smells" score 0.84-0.88)
FIRE_PROBABILITY: dict[str, float] = {
    "urgent": 0.9, "human_request": 0.7, "legal": 0.7, "pricing": 0.7}
# a phrase rule's match is set aside when the examples say "ordinary" this surely (chosen by
# leaving each everyday split out of the examples in turn and scoring the rules' fires on it);
# pricing is never overruled, and an urgent match only when nothing marks it as happening now
OVERRULE_PROBABILITY: dict[str, float] = {"urgent": 0.95, "human_request": 0.9, "legal": 0.95}
EPOCHS = 300
STEP = 25.0
L2 = 1e-4
MODEL_VERSION = 4  # bump when features or training change: old cached weights are ignored


class ExamplesError(ValueError):
    """A bad examples file; the message names the file and line."""


@dataclass(frozen=True)
class Example:
    label: str
    text: str
    line: int


def read_examples(path: Path) -> list[Example]:
    """`[label]` headers, one sentence a line, `#` comments and blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ExamplesError(f"{path}: cannot read ({type(exc).__name__})") from None
    examples: list[Example] = []
    label: str | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            label = line[1:-1]
            if label not in LABELS:
                raise ExamplesError(f"{path}:{number}: unknown label {label!r} "
                                    f"(one of {', '.join(LABELS)})")
            continue
        if label is None:
            raise ExamplesError(f"{path}:{number}: a sentence before the first [label]")
        examples.append(Example(label, line, number))
    return examples


def features(text: str) -> set[str]:
    return word_features(words(text))


def word_features(tokens: Sequence[str]) -> set[str]:
    """The guard's own word keys, and each pair of neighbouring keys."""
    keys = [word_key(w) for w in tokens]
    found = set(keys)
    found.update(f"{a} {b}" for a, b in pairwise(keys))
    return found


class SentenceModel:
    def __init__(self, vocabulary: dict[str, int], weights: np.ndarray, bias: np.ndarray
                 ) -> None:
        self._vocabulary = vocabulary
        self._weights = weights
        self._bias = bias

    def probabilities(self, text: str) -> np.ndarray:
        return self._probabilities(features(text))

    def overrules(self, category: str, tokens: Sequence[str]) -> bool:
        """Whether the examples call these words ordinary surely enough to set aside a phrase
        rule's `category` match."""
        threshold = OVERRULE_PROBABILITY.get(category)
        if threshold is None:
            return False
        return bool(self._probabilities(word_features(tokens))[_NONE_INDEX] >= threshold)

    def _probabilities(self, found: set[str]) -> np.ndarray:
        rows = [i for f in found if (i := self._vocabulary.get(f)) is not None]
        logits = self._bias + (self._weights[rows].sum(axis=0) if rows else 0.0)
        logits = logits - logits.max()
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum())

    def classify(self, text: str) -> tuple[EscalationCategory, float] | None:
        """The category the model is sure of, with its probability; None for no escalation."""
        probabilities = self.probabilities(text)
        best = int(probabilities.argmax())
        label = LABELS[best]
        if label == NONE or probabilities[best] < FIRE_PROBABILITY[label]:
            return None
        return label, float(probabilities[best])  # type: ignore[return-value]

    # --- training and the cache -------------------------------------------------------------

    @classmethod
    def train(cls, examples: Sequence[Example]) -> SentenceModel:
        vocabulary: dict[str, int] = {}
        rows: list[list[int]] = []
        for example in examples:
            rows.append([vocabulary.setdefault(f, len(vocabulary))
                         for f in sorted(features(example.text))])
        count, classes = len(examples), len(LABELS)
        weights = np.zeros((len(vocabulary), classes))
        bias = np.zeros(classes)
        if count == 0:
            return cls(vocabulary, weights, bias)
        flat = np.fromiter((i for row in rows for i in row), dtype=np.int64)
        lengths = np.array([len(row) for row in rows])
        owner = np.repeat(np.arange(count), lengths)
        truth = np.eye(classes)[[LABELS.index(e.label) for e in examples]]
        # sums by segment (np.add.reduceat) rather than np.add.at, about 4x faster: each
        # sentence's features are one run of `flat`, each feature's sentences one run of `order`
        row_starts = (np.cumsum(lengths) - lengths)[lengths > 0]
        order = np.argsort(flat, kind="stable")
        feature_starts = np.searchsorted(flat[order], np.arange(len(vocabulary)))
        owner_by_feature = owner[order]
        for _ in range(EPOCHS):
            logits = np.zeros((count, classes))
            logits[lengths > 0] = np.add.reduceat(weights[flat], row_starts, axis=0)
            logits += bias
            logits -= logits.max(axis=1, keepdims=True)
            probabilities = np.exp(logits)
            probabilities /= probabilities.sum(axis=1, keepdims=True)
            error = (probabilities - truth) / count
            gradient = np.add.reduceat(error[owner_by_feature], feature_starts, axis=0)
            weights -= STEP * (gradient + L2 * weights)
            bias -= STEP * error.sum(axis=0)
        return cls(vocabulary, weights.astype(np.float32), bias.astype(np.float32))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        terms = np.array(sorted(self._vocabulary, key=self._vocabulary.__getitem__))
        np.savez(buffer, terms=terms, weights=self._weights, bias=self._bias)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SentenceModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as saved:
            terms = [str(t) for t in saved["terms"]]
            return cls({t: i for i, t in enumerate(terms)}, saved["weights"], saved["bias"])


# by the examples' paths (each call's guard asks again: no file is read then) and by their
# content (the cache file's key)
_loaded: dict[object, SentenceModel] = {}


def example_paths(entries: Sequence[str], base: Path) -> tuple[list[Path], list[str]]:
    """Each entry resolved against `base` (the playbook's folder), and a problem for each file
    that does not read as examples, so a playbook names a bad one when it loads."""
    paths = [(base / entry).resolve() for entry in entries]
    problems = []
    for path in paths:
        try:
            read_examples(path)
        except ExamplesError as exc:
            problems.append(str(exc))
    return paths, problems


def model_for(paths: Sequence[Path]) -> SentenceModel | None:
    """The model learned from these example files (None for no files): from this process's
    memory, else the cache folder, else trained now and cached."""
    if not paths:
        return None
    by_paths = ("paths", tuple(paths))
    known = _loaded.get(by_paths)
    if known is not None:
        return known
    digest = hashlib.sha256(f"v{MODEL_VERSION} {EPOCHS} {STEP} {L2}".encode())
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError as exc:
            raise ExamplesError(f"{path}: cannot read ({type(exc).__name__})") from None
    key = digest.hexdigest()[:32]
    model = _loaded.get(key)
    if model is not None:
        _loaded[by_paths] = model
        return model
    cached = cache_dir("guard-model") / f"{key}.npz"
    try:
        model = SentenceModel.from_bytes(cached.read_bytes())
    except (OSError, ValueError, KeyError):
        examples = [e for path in paths for e in read_examples(path)]
        model = SentenceModel.train(examples)
        _save(cached, model.to_bytes())
        logger.info("guard model trained", extra={"examples": len(examples)})
    _loaded[key] = _loaded[by_paths] = model
    return model


def _save(path: Path, data: bytes) -> None:
    try:
        write_cache_file(path, data)
    except OSError:
        logger.warning("guard model not cached; it is trained again at the next start")
