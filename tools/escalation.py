"""A deterministic guard over the caller's words: escalation does not depend on the model alone.

A playbook trigger is a plain phrase ("burst pipe", "talk to a person"). It matches a caller's
turn when every word of it is there, in any order, within a short window:

- words compare by lemma, then Snowball stem (`simplemma` then `snowballstemmer`, both ship
  their data in the wheel), so "pipes have burst", "suing", "spoke to" and "floods" match
  "burst pipe", "sue", "speak to" and "flooding";
- filler words of a phrase ("a", "the", "to", "my") are not required;
- up to `MAX_INSERTED` other words may sit between the phrase's words ("the pipe under the
  sink burst"); articles, possessives and hesitations in between ("the", "a", "my", "um",
  "just") do not count, up to `MAX_FREE_FILLERS` of them ("the pipe under the kitchen sink just
  broke"); prepositions do, since they start a new phrase ("me to get a heater put in" is not
  "put me through");
- a category's `synonyms` let one phrase word stand for others ("burst: [broke, busted]");
- words inside a category's `ignore` phrases never count for it ("smoke detector": a chirping
  battery is not a fire), though the same word elsewhere in the turn still does;
- a negated mention does not fire: "it's not an emergency", "I don't need to talk to anyone".
  Only a negation right before the phrase counts ("not", "don't", "no" with at most a few
  bridging words such as "really", "need to", "think it's an"), so "can't I just talk to a
  person?" and "no, there's smoke" still fire.

False-positive policy: the guard fires on any un-negated mention, not only on questions. For
`follow_up` categories (pricing, legal) a false positive costs one sentence ("I can't quote
prices...") and the intake goes on; a miss lets the model talk prices or legal terms. So "the
price of lumber went up so we waited" fires pricing, by design (see tests/unit/test_escalation).
For `transfer` categories a miss is the worst call this product can have; a false transfer
costs a person's minute.

When one turn matches several categories, the playbook's priority order wins (urgent, human
request, legal, pricing), after the words around an urgent match are read
(tools/escalation_context.py): past, resolved or what-if damage does not fire, and a plain
damage cue yields to a legal cue in the same turn; a request for someone to come out is a
visit, not a human request; a person the caller only tells of ("the plumber we talked to") is
none. Damage blamed on our people and "sued"/"suing" are legal cues of their own
(tools/escalation_legal.py). `check` is a pure function of the text.

When no phrase matched at all (and none was set aside by the words around it), a model learned
from the playbook's `escalation_examples` may still fire, when sure (tools/escalation_model.py):
on the never-tuned blind split it lifted urgent recall from 0.85 to 0.95 and human requests from
0.78 to 0.93 (README, guard figures).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from pathlib import Path

import simplemma
import snowballstemmer

from tools.escalation_context import UrgentStanding, talked_about, urgent_standing, wants_a_visit
from tools.escalation_explained import taken_back
from tools.escalation_figures import (
    ASKS_FOR_SOMEONE,
    asks_for_someone,
    capitalised_names,
    figure_of_speech,
    not_a_request,
    time_cost,
)
from tools.escalation_legal import (
    BLAME_RULE,
    LAWSUIT_RULE,
    damage_blamed_on_us,
    lawsuit_word,
    lawyer_told_of,
)
from tools.escalation_model import SentenceModel, model_for
from tools.escalation_names import part_of_a_name
from tools.playbook import ESCALATION_CATEGORIES, EscalationCategory, EscalationTrigger, Playbook

# other words allowed inside a phrase's window ("the pipe under the kitchen sink burst")
MAX_INSERTED = 4
# filler words inside that window that do not count against MAX_INSERTED
MAX_FREE_FILLERS = 3
# a negation this many words before a phrase (only bridging words between) cancels it
NEGATION_REACH = 4

_APOSTROPHES = re.compile(r"['’‘`´]")
_WORD = re.compile(r"[^\W_]+")
_WORD_OR_STOP = re.compile(r"[^\W_]+|[,.;:!?]")
# not required when they appear in a playbook phrase
FILLER = frozenset({
    "a", "an", "the", "to", "of", "for", "with", "at", "in", "on", "my", "your", "our", "some",
    "please", "just", "really", "um", "uh", "like", "through", "from", "onto",
})
# filler words that do not count as inserted inside a phrase's window
FREE_INSIDE = frozenset({
    "a", "an", "the", "my", "your", "our", "some", "please", "just", "really", "um", "uh",
    "like",
})
NEGATORS = frozenset({
    "not", "no", "never", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent",
    "without", "nothing", "nothings", "nobody", "nor", "neither", "wont", "hardly",
})
# words that may sit between a negation and what it negates
_BRIDGE = frozenset({
    "a", "an", "the", "any", "really", "actually", "exactly", "quite", "necessarily", "too",
    "very", "so", "that", "it", "its", "this", "is", "be", "been", "need", "needs", "want",
    "wanna", "have", "to", "think", "believe", "real", "big", "huge", "major", "serious",
    "of", "at", "all", "yet", "much", "like", "sure", "going", "gonna", "kind", "sort", "there",
    "theres", "seem", "seems", "look", "looks", "call", "would", "say", "immediate", "on",
})

_stemmer = snowballstemmer.stemmer("english")
_keys: dict[str, str] = {}
_KEY_CACHE_LIMIT = 50_000


def words(text: str) -> list[str]:
    """Casefolded words, apostrophes dropped ("Don't" -> "dont")."""
    return _WORD.findall(_APOSTROPHES.sub("", text.casefold()))


def _words_and_clauses(text: str) -> tuple[list[str], list[int]]:
    """The words, and for each the index of its clause (punctuation starts a new one)."""
    tokens: list[str] = []
    clauses: list[int] = []
    clause = 0
    for token in _WORD_OR_STOP.findall(_APOSTROPHES.sub("", text.casefold())):
        if token in ",.;:!?":
            clause += 1
        else:
            tokens.append(token)
            clauses.append(clause)
    return tokens, clauses


def _case_kept_words(text: str) -> list[str]:
    """The words as written (apostrophes dropped), one per token of `_words_and_clauses`."""
    return _WORD.findall(_APOSTROPHES.sub("", text))


def word_key(word: str) -> str:
    """What two forms of a word share: the stem of its lemma ("suing" -> "sue")."""
    key = _keys.get(word)
    if key is None:
        lemma = simplemma.lemmatize(word, lang="en").casefold() if word.isalpha() else word
        # suppletive lemmas ("is" -> "be", "ai" -> "be") would join unrelated words
        key = _stemmer.stemWord(lemma if lemma[:1] == word[:1] else word)
        if len(_keys) >= _KEY_CACHE_LIMIT:
            _keys.clear()
        _keys[word] = key
    return key


# what a match found by the model learned from the playbook's examples names as its trigger
LEARNED_TRIGGER = "the playbook's examples"


@dataclass(frozen=True)
class EscalationMatch:
    category: EscalationCategory
    phrase: str  # the playbook phrase that matched, as written; or LEARNED_TRIGGER
    heard: str = ""  # the caller's words that matched it, from first to last
    probability: float | None = None  # the learned model's, when it found the match


@dataclass(frozen=True)
class _Phrase:
    text: str
    terms: tuple[frozenset[str], ...]  # per required word, the keys that stand for it
    # "no heat": the negation comes first ("the heater keeps going out, no smell" is not it)
    negation_first: bool = False


class _CategoryRules:
    def __init__(self, phrases: Sequence[str], synonyms: Mapping[str, Sequence[str]],
                 ignore: Sequence[str]) -> None:
        by_key: dict[str, set[str]] = {}
        for word, alternatives in synonyms.items():
            keys = by_key.setdefault(word_key(word.casefold()), set())
            keys.update(word_key(w) for alt in alternatives for w in words(alt))

        def compile_phrase(text: str) -> _Phrase | None:
            required = [w for w in words(text) if w not in FILLER] or words(text)
            if not required:
                return None
            terms = []
            for word in required:
                key = word_key(word)
                terms.append(frozenset({key, *by_key.get(key, ())}))
            return _Phrase(text, tuple(terms), negation_first=required[0] in NEGATORS)

        compiled = [compile_phrase(p) for p in phrases]
        # more words first: the most specific phrase is the one reported
        self.phrases = sorted((p for p in compiled if p is not None), key=lambda p: -len(p.terms))
        # an ignore phrase is taken word for word ("how much of", "deal with")
        self.ignore = [_Phrase(i, tuple(frozenset({word_key(w)}) for w in words(i)))
                       for i in ignore if words(i)]
        self.keys = frozenset(key for p in self.phrases for term in p.terms for key in term)

    def ignores(self, keys: Sequence[str], where: Mapping[str, Sequence[int]]) -> bool:
        return any(next(iter(_in_order_occurrences(ignored, keys, where)), None) is not None
                   for ignored in self.ignore)

    def find(self, keys: Sequence[str], where: Mapping[str, Sequence[int]],
             tokens: Sequence[str], clauses: Sequence[int], fillers: Sequence[int],
             ) -> tuple[str, tuple[int, int]] | None:
        """The most specific phrase found, and its span."""
        blocked: set[int] = set()
        for ignored in self.ignore:
            for positions in _in_order_occurrences(ignored, keys, where):
                blocked.update(positions)
        for phrase in self.phrases:
            span = _find(phrase, where, tokens, clauses, blocked, fillers)
            if span is not None:
                return phrase.text, span
        return None


class EscalationGuard:
    """Compiled once per playbook; `check` is a pure function of the text."""

    def __init__(self, triggers: Mapping[EscalationCategory, EscalationTrigger | Sequence[str]],
                 model: SentenceModel | None = None) -> None:
        self._model = model
        self._rules: list[tuple[EscalationCategory, _CategoryRules]] = []
        for category in ESCALATION_CATEGORIES:
            trigger = triggers.get(category)
            if trigger is None:
                continue
            if isinstance(trigger, EscalationTrigger):
                rules = _CategoryRules(trigger.phrases, trigger.synonyms, trigger.ignore)
            else:
                rules = _CategoryRules(list(trigger), {}, [])
            if rules.phrases:
                self._rules.append((category, rules))

    @classmethod
    def from_playbook(cls, playbook: Playbook, *, learned: bool = True) -> EscalationGuard:
        """`learned=False`: the phrase rules alone, without the playbook's example model."""
        paths = [Path(p) for p in playbook.escalation_examples] if learned else []
        return cls(dict(playbook.escalation), model_for(paths))

    def check(self, text: str) -> EscalationMatch | None:
        """The highest-priority category the text triggers, or None.

        An urgent match that is stale or hypothetical does not fire, and a plain one yields to
        a legal cue in the same turn (tools/escalation_context.py says which is which)."""
        tokens, clauses = _words_and_clauses(text)
        if not tokens:
            return None
        keys, where = _key_index(tokens)
        names = capitalised_names(tokens, clauses, _case_kept_words(text))
        match, read_in_context = self._check_rules(tokens, clauses, keys, where, names)
        if match is not None or read_in_context or self._model is None:
            return match
        # no phrase matched at all: the model learned from the playbook's examples may know
        # the wording (a phrase the context rules set aside stays set aside)
        learned = self._model.classify(text)
        if learned is None or self._ignored_here(learned[0], keys, where):
            return None
        return EscalationMatch(learned[0], LEARNED_TRIGGER, probability=round(learned[1], 3))

    def _ignored_here(self, category: EscalationCategory, keys: Sequence[str],
                      where: Mapping[str, Sequence[int]]) -> bool:
        """The playbook says these words are not the category ("how much time"): the model
        learned from examples does not get to say they are."""
        return any(name == category and rules.ignores(keys, where)
                   for name, rules in self._rules)

    def _check_rules(self, tokens: list[str], clauses: list[int], keys: Sequence[str],
                     where: Mapping[str, Sequence[int]], names: Sequence[bool] = (),
                     ) -> tuple[EscalationMatch | None, bool]:
        """The rules' match, and whether a phrase matched that the words around it set aside."""
        fillers = _filler_counts(tokens)
        read_in_context = False
        for category, rules in self._rules:
            found = self._find_in(category, rules, keys, where, tokens, clauses, fillers, names)
            if found is None:
                continue
            phrase, span = found
            set_aside = False
            if category == "urgent":
                standing = urgent_standing(tokens, clauses, span, rules.keys, keys)
                set_aside = (figure_of_speech(tokens, span) or taken_back(tokens, clauses, span)
                             or standing is UrgentStanding.STALE or (
                                 standing is UrgentStanding.PLAIN
                                 and self._legal_cue(keys, where, tokens, clauses, fillers)))
            elif category == "human_request":
                set_aside = (wants_a_visit(tokens, span) or talked_about(tokens, span)
                             or not_a_request(tokens, span))
            elif category == "pricing":
                set_aside = time_cost(tokens, span)
            elif category == "legal":
                set_aside = lawyer_told_of(tokens, span)
            set_aside = set_aside or part_of_a_name(tokens, span)
            if set_aside:
                read_in_context = True
                continue
            return EscalationMatch(category, phrase, " ".join(tokens[span[0]:span[1] + 1])), False
        return None, read_in_context

    def _find_in(self, category: EscalationCategory, rules: _CategoryRules, keys: Sequence[str],
                 where: Mapping[str, Sequence[int]], tokens: Sequence[str],
                 clauses: Sequence[int], fillers: Sequence[int], names: Sequence[bool] = (),
                 ) -> tuple[str, tuple[int, int]] | None:
        found = rules.find(keys, where, tokens, clauses, fillers)
        if found is None and category == "human_request":
            span = asks_for_someone(tokens, clauses, names)
            return (ASKS_FOR_SOMEONE, span) if span is not None else None
        if found is None and category == "legal":
            span = damage_blamed_on_us(tokens, clauses)
            if span is not None:
                return BLAME_RULE, span
            at = lawsuit_word(tokens)
            if at is not None and not _negated(tokens, clauses, at):
                return LAWSUIT_RULE, (at, at)
        return found

    def _legal_cue(self, keys: Sequence[str], where: Mapping[str, Sequence[int]],
                   tokens: Sequence[str], clauses: Sequence[int], fillers: Sequence[int]) -> bool:
        return any(category == "legal"
                   and self._find_in(category, rules, keys, where, tokens, clauses,
                                     fillers) is not None
                   for category, rules in self._rules)


def _key_index(tokens: Sequence[str]) -> tuple[list[str], dict[str, list[int]]]:
    """Each token's key (its lemma or stem), and where each key occurs."""
    keys = [word_key(t) for t in tokens]
    where: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        where.setdefault(key, []).append(index)
    return keys, where


def _filler_counts(tokens: Sequence[str]) -> list[int]:
    """counts[i]: how many of tokens[:i] are free inside a window."""
    counts = [0]
    for token in tokens:
        counts.append(counts[-1] + (token in FREE_INSIDE))
    return counts


def _find(phrase: _Phrase, where: Mapping[str, Sequence[int]], tokens: Sequence[str],
          clauses: Sequence[int], blocked: set[int], fillers: Sequence[int],
          ) -> tuple[int, int] | None:
    """(first, last) token of the tightest un-negated occurrence of the phrase, or None."""
    candidates: list[list[int]] = []
    for term in phrase.terms:
        positions = sorted(i for key in term for i in where.get(key, ()) if i not in blocked)
        if not positions:
            return None
        candidates.append(positions[:8])  # a turn repeating one word 8 times is enough
    limit = len(phrase.terms) + MAX_INSERTED
    spans = sorted(
        (max(choice) - min(choice) + 1, min(choice), max(choice))
        for choice in _distinct_choices(candidates)
        if not phrase.negation_first or choice[0] == min(choice)
    )
    for width, first, last in spans:
        if width > limit + MAX_FREE_FILLERS:
            break
        free = min(MAX_FREE_FILLERS, fillers[last] - fillers[first + 1])
        if width - free <= limit and not _negated(tokens, clauses, first):
            return first, last
    return None


def _distinct_choices(candidates: Sequence[Sequence[int]]) -> Iterable[tuple[int, ...]]:
    for choice in product(*candidates):
        if len(set(choice)) == len(choice):
            yield choice


def _negated(tokens: Sequence[str], clauses: Sequence[int], first: int) -> bool:
    for index in range(first - 1, max(-1, first - 1 - NEGATION_REACH), -1):
        if clauses[index] != clauses[first]:
            return False  # "No, there's smoke": the "no" answers something else
        word = tokens[index]
        if word in NEGATORS:
            return True
        if word not in _BRIDGE:
            return False
    return False


def _in_order_occurrences(phrase: _Phrase, keys: Sequence[str],
                          where: Mapping[str, Sequence[int]]) -> Iterable[list[int]]:
    """Each place the phrase's words appear in order, at most one other word between each."""
    starts = sorted(i for key in phrase.terms[0] for i in where.get(key, ()))
    for start in starts:
        positions, at = [start], start
        for term in phrase.terms[1:]:
            following = [i for i in range(at + 1, min(len(keys), at + 3)) if keys[i] in term]
            if not following:
                break
            at = following[0]
            positions.append(at)
        if len(positions) == len(phrase.terms):
            yield positions
