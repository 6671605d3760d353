"""Budgets as callers say them: amounts and ranges in words or digits, into the playbook's
money buckets."""

from __future__ import annotations

import math
import re

from tools.caller_input import DIGIT_WORDS, NormalizationError, Normalized, guard_input
from tools.playbook import FieldSpec

# Spoken amounts ("about two grand", "fifteen hundred") are parsed here because no
# dependency of ours reads number words; the grammar is kept to what callers say about budgets.
_UNITS = {word: i for i, word in enumerate((
    *DIGIT_WORDS, "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen",
))}
_TENS = {word: 10 * i for i, word in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), start=2
)}
_THOUSANDS = {"thousand": 1_000, "grand": 1_000, "k": 1_000, "million": 1_000_000}
# no caller's budget is larger: a longer run of digits is noise (and 310 nines are infinite)
MAX_AMOUNT = 1e12
_UNKNOWN_BUDGET = re.compile(
    r"\b(?:not sure|unsure|no idea|don'?t know|dunno|unknown|no budget|not yet|depends)\b"
)


def parse_amounts(text: str) -> list[float]:
    """Every money amount in the text: '$1,500' -> [1500], 'two to 3k' -> [2, 3000]."""
    text = text.casefold().replace(",", "")
    tokens = re.findall(r"\d+(?:\.\d+)?|[a-z]+", text)
    amounts: list[float] = []
    total = 0.0
    current: float | None = None

    def flush() -> None:
        nonlocal total, current
        if current is not None or total:
            amounts.append(total + (current or 0.0))
        total, current = 0.0, None

    for index, token in enumerate(tokens):
        following = tokens[index + 1] if index + 1 < len(tokens) else ""
        if token[0].isdigit():
            flush()
            current = float(token)
        elif token in _UNITS or token in _TENS:
            value = float(_UNITS.get(token, _TENS.get(token, 0)))
            if current is not None and current % 100 >= 20 and current % 10 == 0 and value < 10:
                current += value  # "twenty five"
            elif current is not None and current % 100 == 0 and current >= 100:
                current += value  # "two hundred fifty"
            else:
                if current is not None:
                    flush()
                current = value
        elif token in ("a", "an") and following in ("hundred", *_THOUSANDS):
            current = 1.0
        elif token == "couple":
            current = 2.0
        elif token == "few":
            current = 3.0
        elif token == "hundred":
            current = (current if current is not None else 1.0) * 100
        elif token in _THOUSANDS:
            if current is None and not total:
                continue
            total += (current if current is not None else 1.0) * _THOUSANDS[token]
            current = None
        elif token in ("of", "dollars", "dollar", "bucks", "usd"):
            continue
        else:
            flush()
    flush()
    return amounts


def normalize_budget(text: str, spec: FieldSpec) -> Normalized:
    """A budget bucket: amounts bucket by the playbook's thresholds (a range by its top)."""
    again = "Sorry, roughly what budget do you have in mind?"
    cleaned = guard_input(text, again=again)
    buckets = spec.buckets or []
    lowered = cleaned.casefold()
    for name in spec.enum_values:
        if re.fullmatch(rf"\W*{re.escape(name)}\W*", lowered):
            return Normalized(name, name)
    amounts = [a for a in parse_amounts(cleaned) if math.isfinite(a) and a <= MAX_AMOUNT]
    if not amounts:
        if spec.unknown_bucket and _UNKNOWN_BUDGET.search(lowered):
            return Normalized(spec.unknown_bucket, "not sure yet")
        raise NormalizationError("no amount", again)
    # A caller's range tops out at what they are willing to spend, so bucket by its top.
    amount = max(amounts)
    for bucket in buckets:
        if bucket.up_to is None or amount <= bucket.up_to:
            spoken = f"about {_spoken_amount(amount)}"
            return Normalized(bucket.name, spoken, {"amount": amount})
    raise NormalizationError("no bucket", again)  # unreachable: the last bucket is unbounded


def _spoken_amount(amount: float) -> str:
    if amount >= 1000 and amount % 1000 == 0:
        return f"{amount / 1000:g} thousand dollars"
    return f"{amount:,.0f} dollars"
