"""What every normalizer shares: its error and result types, and caller-input hygiene
(control characters, length, text that tries to steer the model)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# A tool argument longer than this is not something a caller said in one breath.
MAX_INPUT_CHARS = 1000

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

# Text that tries to steer the model instead of answering a question. Matched on a
# casefolded, whitespace-collapsed copy; a hit rejects the value, the slot keeps its last one.
_OVERRIDE_PATTERNS = re.compile(
    r"\b(?:ignore|disregard|forget|override|bypass)\b(?:\W+\w+){0,4}?\W+"
    r"(?:instructions?|prompts?|rules|directions|guidelines|programming)\b"
    r"|\b(?:system|developer)\s+(?:prompt|message|mode|instructions?)\b"
    r"|\byou\s+are\s+now\b|\bnew\s+instructions?\b|\bact\s+as\s+(?:an?|the|my)\b"
    r"|\bpretend\s+(?:to\s+be|you\s+are)\b|\bjailbreak\b|\bdo\s+anything\s+now\b"
    r"|</?\s*(?:system|assistant|user|tool)\s*>|\[/?inst\]|<\|im_(?:start|end)\|>",
)


class NormalizationError(ValueError):
    """A value that can't go into the record. `spoken` is what the caller hears."""

    def __init__(self, reason: str, spoken: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.spoken = spoken


@dataclass(frozen=True)
class Normalized:
    value: str  # what the record keeps: E.164, ISO date, bucket or choice name, clean text
    spoken: str  # how the agent reads it back
    details: Mapping[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- input hygiene


def clean_text(text: str) -> str:
    """NFC; control and format characters removed (line breaks become spaces); spaces collapsed."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char in "\t\n\r\v\f":
            kept.append(" ")
        elif category in ("Cc", "Cf", "Co", "Cs"):
            continue
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def storable_text(text: str) -> str:
    """`text` as storage takes it (Postgres text and jsonb hold no NUL, UTF-8 no lone
    surrogates); what the caller said is otherwise kept as said."""
    text = text.replace("\x00", "")
    return text.encode("utf-8", "replace").decode("utf-8") if any(
        "\ud800" <= c <= "\udfff" for c in text) else text


def looks_like_instruction_override(text: str) -> bool:
    """True when the text reads like an attempt to re-instruct the model."""
    return bool(_OVERRIDE_PATTERNS.search(" ".join(text.casefold().split())))


def guard_input(text: str, *, again: str = "Sorry, could you say that again?") -> str:
    """Reject empty, oversized and instruction-override input; returns the cleaned text."""
    if len(text) > MAX_INPUT_CHARS:
        raise NormalizationError("input too long", "Sorry, could you give me the short version?")
    cleaned = clean_text(text)
    if not cleaned:
        raise NormalizationError("empty input", again)
    if looks_like_instruction_override(cleaned):
        raise NormalizationError("instruction override", again)
    return cleaned
