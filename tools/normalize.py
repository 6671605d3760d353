"""Normalizers: what the caller said -> the value the record keeps, plus how to read it back.

Every normalizer raises `NormalizationError` whose `spoken` text is what the caller should hear
("sorry, could you repeat the number?"); the reason is for logs and tests only and never
carries the caller's words.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dateparser
import phonenumbers

from tools.playbook import FieldSpec

# A tool argument longer than this is not something a caller said in one breath.
MAX_INPUT_CHARS = 1000
# Dates further out than this are almost always a mishearing ("2052" for "the 25th").
MAX_DAYS_AHEAD = 2 * 366

_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SPOKEN_DIGIT = {str(i): word for i, word in enumerate(_DIGIT_WORDS)}
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

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


# ---------------------------------------------------------------------------- phone numbers


def normalize_phone(text: str, region: str) -> Normalized:
    """A phone number in E.164, read back digit by digit in its national groups."""
    again = "Sorry, could you repeat the number?"
    cleaned = guard_input(text, again=again)
    dialable = _words_to_digits(cleaned)
    if len(dialable.lstrip("+")) < 3:
        raise NormalizationError("no digits", again)
    try:
        parsed = phonenumbers.parse(dialable, region)
    except phonenumbers.NumberParseException:
        raise NormalizationError("unparseable phone number", again) from None
    if not phonenumbers.is_valid_number(parsed):
        raise NormalizationError("invalid phone number", again)
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    return Normalized(e164, spoken_phone(e164, region))


def _words_to_digits(text: str) -> str:
    """'five one two, double five ...' -> '+?digits'. Everything else is dropped."""
    out: list[str] = []
    repeat = 1
    for token in re.findall(r"\+|\d|[a-z]+", text.casefold()):
        if token in ("double", "triple"):
            repeat = 2 if token == "double" else 3
            continue
        if token == "plus" or token == "+":
            if not out:
                out.append("+")
            continue
        digit = token if token.isdigit() else (
            "0" if token == "oh" else
            str(_DIGIT_WORDS.index(token)) if token in _DIGIT_WORDS else None
        )
        if digit is not None:
            out.append(digit * repeat)
        repeat = 1
    return "".join(out)


def spoken_phone(e164: str, region: str) -> str:
    """'+15125550100' -> 'five one two, five five five, zero one zero zero'."""
    parsed = phonenumbers.parse(e164, None)
    if phonenumbers.region_code_for_number(parsed) == region:
        formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        prefix = ""
    else:
        formatted = phonenumbers.format_number(
            parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        prefix = "plus "
    groups = re.findall(r"\d+", formatted)
    return prefix + ", ".join(spoken_digits(group) for group in groups)


def spoken_digits(digits: str) -> str:
    """'0100' -> 'zero one zero zero'."""
    return " ".join(_SPOKEN_DIGIT[d] for d in digits if d in _SPOKEN_DIGIT)


# ---------------------------------------------------------------------------- dates


def normalize_date(text: str, call_start: datetime, zone: ZoneInfo) -> Normalized:
    """A date resolved against the call's start in the business's time zone; never in the past.

    "next Friday", "tomorrow", "March 3rd", "the 15th": relative words count from the moment
    the call started, as a clock on the business's wall reads it.
    """
    again = "Sorry, what date was that?"
    cleaned = guard_input(text, again=again)
    local_start = call_start.astimezone(zone)
    today = local_start.date()
    phrase, weekday = _split_weekday(cleaned.casefold())
    day_only = _DAY_OF_MONTH.fullmatch(phrase)
    if day_only is not None:
        resolved = _next_day_of_month(int(day_only.group(1)), today)
    else:
        resolved = _dateparser_date(phrase, local_start)
    if resolved is None:
        raise NormalizationError("unparseable date", again)
    if resolved < today:
        raise NormalizationError(
            "date in the past", "That date has already passed. What date did you mean?"
        )
    if (resolved - today).days > MAX_DAYS_AHEAD:
        raise NormalizationError("date too far ahead", again)
    if weekday is not None and resolved.weekday() != weekday:
        raise NormalizationError(
            "weekday mismatch",
            f"{spoken_date(resolved)} isn't a {_WEEKDAY_NAMES[weekday].title()}. "
            "Which day did you mean?",
        )
    return Normalized(resolved.isoformat(), spoken_date(resolved))


# dateparser reads a bare "the 7th" as July; a lone day of the month is resolved here.
_DAY_OF_MONTH = re.compile(r"(?:by\s+|on\s+)?(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?")


def _dateparser_date(phrase: str, local_start: datetime) -> date | None:
    parsed = dateparser.parse(
        phrase,
        languages=["en"],
        settings={
            "RELATIVE_BASE": local_start.replace(tzinfo=None),
            "PREFER_DATES_FROM": "future",
            "PREFER_DAY_OF_MONTH": "first",
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    return None if parsed is None else parsed.date()


def _next_day_of_month(day: int, today: date) -> date | None:
    """'the 7th': this month's 7th, or the next month that has one when it has passed."""
    year, month = today.year, today.month
    for _ in range(3):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _split_weekday(text: str) -> tuple[str, int | None]:
    """'friday the 7th' -> ('the 7th', 4): a weekday beside a day number is a cross-check.

    dateparser reads 'friday the 7th' as July; parse the number alone and check the weekday.
    """
    names = "|".join(_WEEKDAY_NAMES)
    match = re.search(rf"\b({names})\b", text)
    if match is None or not re.search(r"\d", text):
        return text, None
    rest = (text[: match.start()] + text[match.end():]).replace(",", " ")
    rest = re.sub(r"\b(?:on|this|next|by)\b", " ", rest)
    return " ".join(rest.split()), _WEEKDAY_NAMES.index(match.group(1))


def spoken_date(value: date) -> str:
    """date(2026, 3, 6) -> 'Friday, March 6th'."""
    return f"{value:%A}, {value:%B} {ordinal(value.day)}"


def ordinal(number: int) -> str:
    suffix = "th" if 11 <= number % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(
        number % 10, "th"
    )
    return f"{number}{suffix}"


# ---------------------------------------------------------------------------- money


# Spoken amounts ("about two grand", "fifteen hundred") are parsed here because no
# dependency of ours reads number words; the grammar is kept to what callers say about budgets.
_UNITS = {word: i for i, word in enumerate((
    *_DIGIT_WORDS, "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
    "seventeen", "eighteen", "nineteen",
))}
_TENS = {word: 10 * i for i, word in enumerate(
    ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"), start=2
)}
_THOUSANDS = {"thousand": 1_000, "grand": 1_000, "k": 1_000, "million": 1_000_000}
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
    amounts = parse_amounts(cleaned)
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


# ---------------------------------------------------------------------------- enums, text


def _plain_words(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold().replace("'", "")).split())


def normalize_enum(text: str, choices: Mapping[str, Sequence[str]]) -> Normalized:
    """One of the playbook's choices, by name or synonym, whole words, small typos forgiven."""
    options = spoken_choices(choices)
    again = f"Sorry, was that {options}?"
    cleaned = _plain_words(guard_input(text, again=again))
    candidates: dict[str, str] = {}
    for name, synonyms in choices.items():
        for phrase in (name, *synonyms):
            candidates[_plain_words(phrase)] = name
    if cleaned in candidates:
        name = candidates[cleaned]
        return Normalized(name, _spoken_choice(name, choices))
    hits = {name for phrase, name in candidates.items()
            if phrase and re.search(rf"\b{re.escape(phrase)}\b", cleaned)}
    if len(hits) == 1:
        name = hits.pop()
        return Normalized(name, _spoken_choice(name, choices))
    if len(hits) > 1:
        raise NormalizationError("ambiguous choice", again)
    close = difflib.get_close_matches(cleaned, list(candidates), n=1, cutoff=0.8)
    if close:
        name = candidates[close[0]]
        return Normalized(name, _spoken_choice(name, choices))
    raise NormalizationError("not a choice", again)


def _spoken_choice(name: str, choices: Mapping[str, Sequence[str]]) -> str:
    synonyms = choices.get(name) or ()
    return synonyms[0] if synonyms else name.replace("_", " ")


def spoken_choices(choices: Mapping[str, Sequence[str]]) -> str:
    words = [_spoken_choice(name, choices) for name in choices]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def normalize_free_text(text: str, max_length: int) -> Normalized:
    """Trimmed, control characters stripped, cut at a word boundary to `max_length`."""
    cleaned = guard_input(text)
    if len(cleaned) > max_length:
        cut = cleaned[:max_length]
        space = cut.rfind(" ")
        cleaned = (cut[:space] if space > max_length // 2 else cut).rstrip(" ,;:-")
    return Normalized(cleaned, cleaned)


# ---------------------------------------------------------------------------- dispatch


def normalize_field(
    spec: FieldSpec, text: str, *, region: str, call_start: datetime, zone: ZoneInfo
) -> Normalized:
    """Normalize a value for a playbook field by its type."""
    if spec.type == "phone":
        return normalize_phone(text, region)
    if spec.type == "date":
        return normalize_date(text, call_start, zone)
    if spec.type == "money_range":
        return normalize_budget(text, spec)
    if spec.type == "enum":
        return normalize_enum(text, spec.choices or {})
    return normalize_free_text(text, spec.max_length)
