"""Normalizers: what the caller said -> the value the record keeps, plus how to read it back.

Every normalizer raises `NormalizationError` whose `spoken` text is what the caller should hear
("sorry, could you repeat the number?"); the reason is for logs and tests only and never
carries the caller's words.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

import dateparser
import phonenumbers

from tools.caller_input import (
    DIGIT_WORDS,
    MAX_INPUT_CHARS,
    NormalizationError,
    Normalized,
    clean_text,
    guard_input,
    looks_like_instruction_override,
    storable_text,
)
from tools.money import normalize_budget, parse_amounts
from tools.playbook import FieldSpec
from tools.spoken_dates import SpokenDate, resolve_spoken_date, week_of_phrase

# Dates further out than this are almost always a mishearing ("2052" for "the 25th").
MAX_DAYS_AHEAD = 2 * 366
_SPOKEN_DIGIT = {str(i): word for i, word in enumerate(DIGIT_WORDS)}
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

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
            str(DIGIT_WORDS.index(token)) if token in DIGIT_WORDS else None
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


def normalize_date(text: str, call_start: datetime, zone: ZoneInfo,
                   country: str = "US") -> Normalized:
    """A date resolved against the call's start in the business's time zone; never in the past.

    "next Friday", "tomorrow", "March 3rd", "the 15th": relative words count from the moment
    the call started, as a clock on the business's wall reads it. Holidays, "end of the
    month", "in two weeks" and "the week of the 15th" are read by `tools.spoken_dates` and
    come back with `details["read_back"]`: the agent names the date it resolved.
    """
    again = "Sorry, what date was that?"
    cleaned = guard_input(text, again=again)
    local_start = call_start.astimezone(zone)
    today = local_start.date()
    spoken = resolve_spoken_date(cleaned.casefold(), today, country)
    if spoken is not None:
        return _spoken_date_value(spoken, today, again)
    week_of = week_of_phrase(cleaned.casefold())
    if week_of is not None:
        anchor = normalize_date(week_of, call_start, zone, country)
        return Normalized(anchor.value, f"the week of {anchor.spoken}",
                          {"relation": "week_of", "read_back": True})
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


def _spoken_date_value(spoken: SpokenDate, today: date, again: str) -> Normalized:
    if (spoken.day - today).days > MAX_DAYS_AHEAD:
        raise NormalizationError("date too far ahead", again)
    named = spoken_date(spoken.anchor)
    if spoken.said_as[:1].isupper():  # a holiday: name it and its date
        named = f"{spoken.said_as}, {named}"
    said = {"before": f"before {named}", "after": f"after {named}"}.get(spoken.relation, named)
    details = {"relation": spoken.relation, "anchor": spoken.anchor.isoformat(),
               "said_as": spoken.said_as, "read_back": True}
    return Normalized(spoken.day.isoformat(), said, details)


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
        return normalize_date(text, call_start, zone, region)
    if spec.type == "money_range":
        return normalize_budget(text, spec)
    if spec.type == "enum":
        return normalize_enum(text, spec.choices or {})
    return normalize_free_text(text, spec.max_length)


# the shared types and hygiene moved to tools.caller_input and tools.money; importers of
# this module keep their names
__all__ = ["MAX_INPUT_CHARS", "NormalizationError", "Normalized", "clean_text", "guard_input",
           "looks_like_instruction_override", "normalize_budget", "normalize_date",
           "normalize_enum", "normalize_field", "normalize_free_text", "normalize_phone", "ordinal",
           "parse_amounts", "spoken_choices", "spoken_date", "spoken_digits", "spoken_phone",
           "storable_text"]
