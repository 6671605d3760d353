"""How a playbook phrase matches a caller's words (tools/escalation.py uses it).

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
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import simplemma
import snowballstemmer

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
# words whose stem is another word's: "quite" stems to "quit" ("the cupboard's quite narrow" is
# no boiler that quit); "rights" are a legal word, "right up to the rim" is not
_OWN_KEYS = {"quite": "quite", "rights": "rights"}
_keys: dict[str, str] = {}
_KEY_CACHE_LIMIT = 50_000


def words(text: str) -> list[str]:
    """Casefolded words, apostrophes dropped ("Don't" -> "dont")."""
    return _WORD.findall(_APOSTROPHES.sub("", text.casefold()))


def words_and_clauses(text: str) -> tuple[list[str], list[int]]:
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


def case_kept_words(text: str) -> list[str]:
    """The words as written (apostrophes dropped), one per token of `words_and_clauses`."""
    return _WORD.findall(_APOSTROPHES.sub("", text))


def word_key(word: str) -> str:
    """What two forms of a word share: the stem of its lemma ("suing" -> "sue")."""
    key = _keys.get(word) or _OWN_KEYS.get(word)
    if key is None:
        lemma = simplemma.lemmatize(word, lang="en").casefold() if word.isalpha() else word
        # suppletive lemmas ("is" -> "be", "ai" -> "be") would join unrelated words
        key = _stemmer.stemWord(lemma if lemma[:1] == word[:1] else word)
        if len(_keys) >= _KEY_CACHE_LIMIT:
            _keys.clear()
        _keys[word] = key
    return key


@dataclass(frozen=True)
class Phrase:
    text: str
    terms: tuple[frozenset[str], ...]  # per required word, the keys that stand for it
    # "no heat": the negation comes first ("the heater keeps going out, no smell" is not it)
    negation_first: bool = False


class CategoryRules:
    def __init__(self, phrases: Sequence[str], synonyms: Mapping[str, Sequence[str]],
                 ignore: Sequence[str]) -> None:
        by_key: dict[str, set[str]] = {}
        for word, alternatives in synonyms.items():
            keys = by_key.setdefault(word_key(word.casefold()), set())
            keys.update(word_key(w) for alt in alternatives for w in words(alt))

        def compile_phrase(text: str) -> Phrase | None:
            required = [w for w in words(text) if w not in FILLER] or words(text)
            if not required:
                return None
            terms = []
            for word in required:
                key = word_key(word)
                terms.append(frozenset({key, *by_key.get(key, ())}))
            return Phrase(text, tuple(terms), negation_first=required[0] in NEGATORS)

        compiled = [compile_phrase(p) for p in phrases]
        # more words first: the most specific phrase is the one reported
        self.phrases = sorted((p for p in compiled if p is not None), key=lambda p: -len(p.terms))
        # an ignore phrase is taken word for word ("how much of", "deal with")
        self.ignore = [Phrase(i, tuple(frozenset({word_key(w)}) for w in words(i)))
                       for i in ignore if words(i)]
        # by their first word's key: a turn looks only at those whose first word it has
        self._ignore_by_first: dict[str, list[Phrase]] = {}
        for ignored in self.ignore:
            for key in ignored.terms[0]:
                self._ignore_by_first.setdefault(key, []).append(ignored)
        self.keys = frozenset(key for p in self.phrases for term in p.terms for key in term)
        # each phrase under the keys of its least common word: a turn tries only the phrases
        # whose that word it has (every word must be there), in the order above
        uses: dict[str, int] = {}
        for phrase in self.phrases:
            for term in phrase.terms:
                for key in term:
                    uses[key] = uses.get(key, 0) + 1
        self._phrases_by_key: dict[str, list[int]] = {}
        for index, phrase in enumerate(self.phrases):
            rarest = min(phrase.terms, key=lambda term: sum(uses[key] for key in term))
            for key in rarest:
                self._phrases_by_key.setdefault(key, []).append(index)

    def _ignores_here(self, where: Mapping[str, Sequence[int]]) -> Iterable[Phrase]:
        for key in where:
            yield from self._ignore_by_first.get(key, ())

    def ignores(self, keys: Sequence[str], where: Mapping[str, Sequence[int]]) -> bool:
        return any(next(iter(_in_order_occurrences(ignored, keys, where)), None) is not None
                   for ignored in self._ignores_here(where))

    def ignored_positions(self, keys: Sequence[str], where: Mapping[str, Sequence[int]],
                          ) -> set[int]:
        """The words of the turn that the category's ignore phrases block."""
        blocked: set[int] = set()
        for ignored in self._ignores_here(where):
            for positions in _in_order_occurrences(ignored, keys, where):
                blocked.update(positions)
        return blocked

    def find(self, keys: Sequence[str], where: Mapping[str, Sequence[int]],
             tokens: Sequence[str], clauses: Sequence[int], fillers: Sequence[int],
             blocked: Collection[int] | None = None) -> tuple[str, tuple[int, int]] | None:
        """The most specific phrase found, and its span, using no `blocked` word (by default
        those of `ignored_positions`)."""
        if blocked is None:
            blocked = self.ignored_positions(keys, where)
        here = sorted({index for key in where for index in self._phrases_by_key.get(key, ())})
        for index in here:
            phrase = self.phrases[index]
            span = _find(phrase, where, tokens, clauses, blocked, fillers)
            if span is not None:
                return phrase.text, span
        return None


def key_index(tokens: Sequence[str]) -> tuple[list[str], dict[str, list[int]]]:
    """Each token's key (its lemma or stem), and where each key occurs."""
    keys = [word_key(t) for t in tokens]
    where: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        where.setdefault(key, []).append(index)
    return keys, where


def filler_counts(tokens: Sequence[str]) -> list[int]:
    """counts[i]: how many of tokens[:i] are free inside a window."""
    counts = [0]
    for token in tokens:
        counts.append(counts[-1] + (token in FREE_INSIDE))
    return counts


def _find(phrase: Phrase, where: Mapping[str, Sequence[int]], tokens: Sequence[str],
          clauses: Sequence[int], blocked: Collection[int], fillers: Sequence[int],
          ) -> tuple[int, int] | None:
    """(first, last) token of the tightest un-negated occurrence of the phrase, or None."""
    # most phrases miss a word outright: a set check in C before any list is built
    if any(term.isdisjoint(where) for term in phrase.terms):
        return None
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
        if width - free <= limit and not negated(tokens, clauses, first):
            return first, last
    return None


def _distinct_choices(candidates: Sequence[Sequence[int]]) -> Iterable[tuple[int, ...]]:
    for choice in product(*candidates):
        if len(set(choice)) == len(choice):
            yield choice


def negated(tokens: Sequence[str], clauses: Sequence[int], first: int) -> bool:
    for index in range(first - 1, max(-1, first - 1 - NEGATION_REACH), -1):
        if clauses[index] != clauses[first]:
            return False  # "No, there's smoke": the "no" answers something else
        word = tokens[index]
        if word in NEGATORS:
            return True
        if word not in _BRIDGE:
            return False
    return False


def _in_order_occurrences(phrase: Phrase, keys: Sequence[str],
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
