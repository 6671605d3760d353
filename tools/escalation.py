"""A deterministic guard over the caller's words: escalation does not depend on the model alone.

A playbook trigger is a plain phrase ("burst pipe", "talk to a person"). It matches a caller's
turn when every word of it is there, in any order, within a short window; words compare by
lemma, then stem, a category's synonyms stand in, its ignore phrases block their words, and a
negated mention does not fire (tools/escalation_phrases.py says how).

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
(tools/escalation_legal.py); part of the building coming down and a person who can't get up are
urgent cues of their own (tools/escalation_harm.py), as are a person trapped, faint beside gas
or hurt in a fall (tools/escalation_danger.py) and a child or frail person locked in
(tools/escalation_locked_in.py); a call or a person asked for in word order ("get
the scheduler to ring me") is a human request (tools/escalation_callbacks.py). `check` is a
pure function of the text.

When no phrase matched at all (and none was set aside by the words around it), a model learned
from the playbook's `escalation_examples` may still fire, when sure (tools/escalation_model.py):
on the never-tuned blind split it lifted urgent recall from 0.85 to 0.95 and human requests from
0.78 to 0.93 (README, guard figures).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from tools.escalation_callbacks import CALL_RULE, asks_for_a_call
from tools.escalation_context import (
    UrgentStanding,
    talked_about,
    urgent_standing,
    wants_a_visit,
)
from tools.escalation_danger import (
    COOLING_RULE,
    FALL_RULE,
    FUMES_INDOORS_RULE,
    FUMES_RULE,
    TRAPPED_RULE,
    fall_and_hurt,
    fumes_and_faint,
    fumes_indoors,
    no_cooling_and_unwell,
    someone_smokes,
    someone_trapped,
)
from tools.escalation_detectors import names_a_detector
from tools.escalation_explained import taken_back
from tools.escalation_figures import (
    ASKS_FOR_SOMEONE,
    asks_for_someone,
    capitalised_names,
    figure_of_speech,
    not_a_request,
    quoting_someone,
    time_cost,
)
from tools.escalation_harm import (
    COLD_RULE,
    GAVE_WAY_RULE,
    HURT_RULE,
    UNDER_WATER_RULE,
    cannot_get_up,
    cold_and_vulnerable,
    gave_way,
    under_water,
)
from tools.escalation_jobs import the_callers_job
from tools.escalation_legal import (
    BLAME_RULE,
    EXPENSE_RULE,
    LAWSUIT_RULE,
    at_your_expense,
    damage_blamed_on_us,
    hazard_caused_by_us,
    lawsuit_word,
    lawyer_told_of,
)
from tools.escalation_locked_in import LOCKED_IN_RULE, someone_locked_in
from tools.escalation_model import SentenceModel, model_for
from tools.escalation_money import device_charging, how_much_to_do, price_of_the_repair
from tools.escalation_names import part_of_a_name
from tools.escalation_phrases import (
    CategoryRules,
    case_kept_words,
    filler_counts,
    key_index,
    negated,
    words_and_clauses,
)
from tools.escalation_settled import settled_price, warranty_offered
from tools.playbook import ESCALATION_CATEGORIES, EscalationCategory, EscalationTrigger, Playbook

# what a match found by the model learned from the playbook's examples names as its trigger
LEARNED_TRIGGER = "the playbook's examples"
# phrases tried per category after the words around one set it aside
LOOKS_PER_CATEGORY = 3


class _SetAside(Enum):
    THIS_MATCH = "this match"  # another phrase in the turn may still fire
    NAME = "name"  # part of a name: the same phrase again is read so too


@dataclass(frozen=True)
class EscalationMatch:
    category: EscalationCategory
    phrase: str  # the playbook phrase that matched, as written; or LEARNED_TRIGGER
    heard: str = ""  # the caller's words that matched it, from first to last
    probability: float | None = None  # the learned model's, when it found the match


# (tokens, clauses) -> the span of the cue, or None
WordOrderCue = Callable[[Sequence[str], Sequence[int]], tuple[int, int] | None]
# cues of a category matched in word order, tried in turn when none of its phrases matched:
# a phrase would ignore the order ("ceiling came down" in "come down and see the ceiling")
_WORD_ORDER_CUES: dict[str, tuple[tuple[str, WordOrderCue], ...]] = {
    "urgent": ((GAVE_WAY_RULE, gave_way), (HURT_RULE, cannot_get_up),
               (UNDER_WATER_RULE, under_water),
               (COLD_RULE, lambda tokens, _clauses: cold_and_vulnerable(tokens)),
               (TRAPPED_RULE, someone_trapped), (FUMES_RULE, fumes_and_faint),
               (FALL_RULE, fall_and_hurt), (FUMES_INDOORS_RULE, fumes_indoors),
               (COOLING_RULE, no_cooling_and_unwell), (LOCKED_IN_RULE, someone_locked_in)),
    "legal": ((BLAME_RULE, damage_blamed_on_us), (EXPENSE_RULE, at_your_expense)),
}


class EscalationGuard:
    """Compiled once per playbook; `check` is a pure function of the text."""

    def __init__(self, triggers: Mapping[EscalationCategory, EscalationTrigger | Sequence[str]],
                 model: SentenceModel | None = None, *, overrule: bool = True) -> None:
        self._model = model
        self._overrule = overrule and model is not None
        self._rules: list[tuple[EscalationCategory, CategoryRules]] = []
        for category in ESCALATION_CATEGORIES:
            trigger = triggers.get(category)
            if trigger is None:
                continue
            if isinstance(trigger, EscalationTrigger):
                rules = CategoryRules(trigger.phrases, trigger.synonyms, trigger.ignore)
            else:
                rules = CategoryRules(list(trigger), {}, [])
            if rules.phrases:
                self._rules.append((category, rules))

    @classmethod
    def from_playbook(cls, playbook: Playbook, *, learned: bool = True,
                      overrule: bool = True) -> EscalationGuard:
        """`learned=False`: the phrase rules alone, without the playbook's example model;
        `overrule=False`: the model only adds matches, it never sets a rule's aside."""
        paths = [Path(p) for p in playbook.escalation_examples] if learned else []
        return cls(dict(playbook.escalation), model_for(paths), overrule=overrule)

    def check(self, text: str) -> EscalationMatch | None:
        """The highest-priority category the text triggers, or None.

        An urgent match that is stale or hypothetical does not fire, and a plain one yields to
        a legal cue in the same turn (tools/escalation_context.py says which is which)."""
        tokens, clauses = words_and_clauses(text)
        if not tokens:
            return None
        keys, where = key_index(tokens)
        names = capitalised_names(tokens, clauses, case_kept_words(text))
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
        fillers = filler_counts(tokens)
        read_in_context = False
        for category, rules in self._rules:
            # a phrase set aside does not hide another one further on ("the flue has come
            # loose and it's pouring smoke into the bedroom"); a phrase read as a name is read
            # so again ("Price is my last name, Jennifer Price")
            blocked = rules.ignored_positions(keys, where)  # once per turn, not per look
            names_read: set[str] = set()
            for _ in range(LOOKS_PER_CATEGORY):
                found = self._find_in(category, rules, keys, where, tokens, clauses, fillers,
                                      names, blocked)
                if found is None or found[0] in names_read:
                    break
                phrase, span = found
                reading = self._set_aside(category, rules, span, tokens, clauses, keys, where,
                                          fillers)
                if reading is None:
                    heard = " ".join(tokens[span[0]:span[1] + 1])
                    return EscalationMatch(category, phrase, heard), False
                read_in_context = True
                blocked.update(range(span[0], span[1] + 1))
                if reading is _SetAside.NAME:
                    names_read.add(phrase)
        return None, read_in_context

    def _set_aside(self, category: EscalationCategory, rules: CategoryRules,
                   span: tuple[int, int], tokens: list[str], clauses: list[int],
                   keys: Sequence[str], where: Mapping[str, Sequence[int]],
                   fillers: Sequence[int]) -> _SetAside | None:
        """Whether the words around a match say it is not the category after all."""
        standing = None
        set_aside = False
        if category == "urgent":
            standing = urgent_standing(tokens, clauses, span, rules.keys, keys)
            if standing is UrgentStanding.PLAIN and cold_and_vulnerable(tokens) is not None:
                standing = UrgentStanding.ACTIVE  # "ninety year old gran, no heating"
            if standing is UrgentStanding.ACTIVE and hazard_caused_by_us(tokens, clauses, span):
                standing = UrgentStanding.PLAIN  # "the fire your electrician caused"
            set_aside = (standing is UrgentStanding.STALE or names_a_detector(tokens, span)
                         or figure_of_speech(tokens, span) or taken_back(tokens, clauses, span)
                         or someone_smokes(tokens, span)
                         or (standing is UrgentStanding.PLAIN
                             and (self._legal_cue(keys, where, tokens, clauses, fillers)
                                  or price_of_the_repair(tokens, clauses, span))))
        elif category == "human_request":
            set_aside = (wants_a_visit(tokens, span) or talked_about(tokens, span)
                         or not_a_request(tokens, span))
        elif category == "pricing":
            set_aside = (time_cost(tokens, span) or quoting_someone(tokens, clauses, span)
                         or device_charging(tokens, span) or how_much_to_do(tokens, span)
                         or settled_price(tokens, clauses, span))
        elif category == "legal":
            set_aside = lawyer_told_of(tokens, span) or warranty_offered(tokens, clauses, span)
        if part_of_a_name(tokens, span):
            return _SetAside.NAME
        set_aside = set_aside or the_callers_job(tokens, clauses, span)
        if set_aside or self._examples_overrule(category, tokens, standing):
            return _SetAside.THIS_MATCH
        return None

    def _examples_overrule(self, category: EscalationCategory, tokens: Sequence[str],
                           standing: UrgentStanding | None) -> bool:
        """The learned model, sure the words are ordinary, sets the match aside; never for an
        urgent match happening now ("a fire in the kitchen", "screaming now")."""
        if self._model is None or not self._overrule or standing is UrgentStanding.ACTIVE:
            return False
        return self._model.overrules(category, tokens)

    def _find_in(self, category: EscalationCategory, rules: CategoryRules, keys: Sequence[str],
                 where: Mapping[str, Sequence[int]], tokens: Sequence[str],
                 clauses: Sequence[int], fillers: Sequence[int], names: Sequence[bool] = (),
                 blocked: Collection[int] | None = None,
                 ) -> tuple[str, tuple[int, int]] | None:
        found = rules.find(keys, where, tokens, clauses, fillers, blocked)
        if found is None and category in _WORD_ORDER_CUES:
            for rule, cue in _WORD_ORDER_CUES[category]:
                span = cue(tokens, clauses)
                if span is not None:
                    return rule, span
        if found is None and category == "human_request":
            span = asks_for_someone(tokens, clauses, names)
            if span is not None:
                return ASKS_FOR_SOMEONE, span
            span = asks_for_a_call(tokens, clauses)
            return (CALL_RULE, span) if span is not None else None
        if found is None and category == "legal":
            at = lawsuit_word(tokens)
            if at is not None and not negated(tokens, clauses, at):
                return LAWSUIT_RULE, (at, at)
        return found

    def _legal_cue(self, keys: Sequence[str], where: Mapping[str, Sequence[int]],
                   tokens: Sequence[str], clauses: Sequence[int], fillers: Sequence[int]) -> bool:
        return any(category == "legal"
                   and self._find_in(category, rules, keys, where, tokens, clauses,
                                     fillers) is not None
                   for category, rules in self._rules)
