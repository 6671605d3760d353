"""A deterministic guard over the caller's words: escalation does not depend on the model alone.

Each playbook trigger phrase matches on whole words, ignoring case, punctuation and
apostrophes ("Let me talk to a PERSON!" matches "talk to a person"; "spice" never matches
"price"). When one utterance matches several categories, the playbook's priority order wins
(urgent, human request, legal, pricing).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tools.playbook import ESCALATION_CATEGORIES, EscalationCategory, Playbook

_APOSTROPHES = re.compile(r"['’‘`´]")
_NON_WORD = re.compile(r"[^\w]+")


def _plain(text: str) -> str:
    """Casefolded words separated by single spaces, apostrophes dropped ("don't" -> "dont")."""
    return " ".join(_NON_WORD.sub(" ", _APOSTROPHES.sub("", text.casefold())).split())


@dataclass(frozen=True)
class EscalationMatch:
    category: EscalationCategory
    phrase: str  # the playbook phrase that matched, as written in the playbook


class EscalationGuard:
    """Compiled once per playbook; `check` is a pure function of the text."""

    def __init__(self, triggers: Mapping[EscalationCategory, Sequence[str]]) -> None:
        self._patterns: list[tuple[EscalationCategory, re.Pattern[str], dict[str, str]]] = []
        for category in ESCALATION_CATEGORIES:
            phrases = {_plain(p): p for p in triggers.get(category, ()) if _plain(p)}
            if not phrases:
                continue
            # longest first so "how much does it cost" is reported over "how much"
            alternatives = sorted(phrases, key=len, reverse=True)
            pattern = re.compile(
                r"(?<!\w)(" + "|".join(re.escape(p) for p in alternatives) + r")(?!\w)"
            )
            self._patterns.append((category, pattern, phrases))

    @classmethod
    def from_playbook(cls, playbook: Playbook) -> EscalationGuard:
        return cls({category: trigger.phrases
                    for category, trigger in playbook.escalation.items()})

    def check(self, text: str) -> EscalationMatch | None:
        """The highest-priority category the text triggers, or None."""
        plain = _plain(text)
        if not plain:
            return None
        for category, pattern, phrases in self._patterns:
            match = pattern.search(plain)
            if match is not None:
                return EscalationMatch(category, phrases[match.group(1)])
        return None
