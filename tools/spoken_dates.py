"""Dates as callers say them, which dateparser does not read: holidays ("before Thanksgiving",
"by Christmas", "after New Year's"), "end of the month", "in two weeks", "the week of the 15th".

Each resolves against the call's local date to the next occurrence that is not in the past. A
range keeps its bound: "before Thanksgiving" is a deadline of Thanksgiving, "after New Year's"
starts the day after. Every date resolved here is one the caller did not say outright, so it
is marked for a read-back that names it ("Friday, December 25th, is that right?").

Holiday dates come from the `holidays` library for the business's country (the playbook's
phone region); a few days it does not list as public holidays (Christmas Eve, New Year's Eve,
Halloween, Valentine's Day, Easter from dateutil) are fixed here.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Literal

import holidays
from dateutil.easter import easter

Relation = Literal["on", "by", "before", "after", "week_of"]

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "couple": 2,
    "a couple": 2, "a couple of": 2, "couple of": 2, "few": 3, "a few": 3,
}
_RELATION = r"(?:(?P<rel>by|before|until|till|no later than|after|on|around|for)\s+)?"
# the name a caller says -> (how to say it back, the holidays-library name or None)
_HOLIDAYS: dict[str, tuple[str, str | None]] = {
    r"thanksgiving(?: day)?": ("Thanksgiving", "Thanksgiving"),
    r"christmas eve|xmas eve": ("Christmas Eve", None),
    r"christmas(?: day)?|xmas": ("Christmas", "Christmas Day"),
    r"new year'?s eve": ("New Year's Eve", None),
    r"(?:the )?new year'?s?(?: day)?": ("New Year's Day", "New Year's Day"),
    r"(?:the )?fourth of july|july (?:4th|fourth)|independence day": (
        "the Fourth of July", "Independence Day"),
    r"memorial day": ("Memorial Day", "Memorial Day"),
    r"labor day|labour day": ("Labor Day", "Labor Day"),
    r"veterans'? day": ("Veterans Day", "Veterans Day"),
    r"(?:mlk|martin luther king(?: jr\.?)?) day": ("Martin Luther King Day", "Martin Luther King"),
    r"presidents'? day|washington'?s birthday": ("Presidents' Day", "Washington's Birthday"),
    r"juneteenth": ("Juneteenth", "Juneteenth"),
    r"columbus day": ("Columbus Day", "Columbus Day"),
    r"halloween": ("Halloween", None),
    r"valentine'?s(?: day)?": ("Valentine's Day", None),
    r"easter(?: sunday)?": ("Easter", None),
}
_FIXED: dict[str, Callable[[int], date]] = {
    "Christmas Eve": lambda year: date(year, 12, 24),
    "New Year's Eve": lambda year: date(year, 12, 31),
    "Halloween": lambda year: date(year, 10, 31),
    "Valentine's Day": lambda year: date(year, 2, 14),
    "Easter": easter,
}
_HOLIDAY_RE = re.compile(
    _RELATION + r"(?P<name>" + "|".join(f"(?:{p})" for p in _HOLIDAYS) + r")\b")
_END_OF = re.compile(_RELATION + r"(?:the )?(?P<edge>end|beginning|start) of (?:the |this )?"
                     r"(?P<next>next )?(?P<unit>month|year|week)\b")
_IN_N = re.compile(_RELATION + r"(?:in |within )(?P<n>\d+|a couple of|a couple|couple of|a few|"
                   r"few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve) "
                   r"(?P<unit>day|week|month)s?(?: from (?:now|today))?\b"
                   r"|" + r"(?P<n2>\d+|two|three|four|five|six|a couple of) (?P<unit2>day|week|"
                   r"month)s? from (?:now|today)\b")
_WEEK_OF = re.compile(r"(?:the )?week of (?P<rest>.+)$")


@dataclass(frozen=True)
class SpokenDate:
    day: date  # what the record keeps: the deadline, or the first day after
    relation: Relation
    anchor: date  # the day the caller named (the holiday, the end of the month...)
    said_as: str  # how to name the anchor back: "Thanksgiving", "the end of the month"


def resolve_spoken_date(phrase: str, today: date, country: str = "US") -> SpokenDate | None:
    """A date said as a holiday, an edge of a period or a span from now; None otherwise.

    `phrase` is what the caller said, casefolded. `today` is the call's local date.
    """
    text = " ".join(phrase.replace("’", "'").split())
    match = _HOLIDAY_RE.search(text)
    if match is not None:
        said_as, library_name = _holiday(match.group("name"))
        anchor = _next_holiday(said_as, library_name, today, country,
                               after=_relation(match.group("rel")) == "after")
        if anchor is None:
            return None
        return _with_relation(_relation(match.group("rel")), anchor, said_as)
    match = _END_OF.search(text)
    if match is not None:
        anchor, said_as = _edge(match.group("edge"), bool(match.group("next")),
                                match.group("unit"), today)
        return _with_relation(_relation(match.group("rel")), anchor, said_as)
    match = _IN_N.search(text)
    if match is not None:
        count = _count(match.group("n") or match.group("n2"))
        unit = match.group("unit") or match.group("unit2")
        anchor = _plus(today, count, unit)
        said_as = f"in {count} {unit}{'s' if count != 1 else ''}"
        return _with_relation(_relation(match.group("rel")), anchor, said_as)
    return None


def week_of_phrase(phrase: str) -> str | None:
    """'the week of the 15th' -> 'the 15th' (the caller's anchor for a week), else None."""
    match = _WEEK_OF.search(" ".join(phrase.split()))
    return match.group("rest") if match is not None else None


def _relation(word: str | None) -> Relation:
    if word in ("before", "until", "till"):
        return "before"
    if word == "after":
        return "after"
    if word in ("by", "no later than"):
        return "by"
    return "on"


def _with_relation(relation: Relation, anchor: date, said_as: str) -> SpokenDate:
    day = anchor + timedelta(days=1) if relation == "after" else anchor
    return SpokenDate(day=day, relation=relation, anchor=anchor, said_as=said_as)


def _holiday(name: str) -> tuple[str, str | None]:
    for pattern, value in _HOLIDAYS.items():
        if re.fullmatch(pattern, name):
            return value
    raise AssertionError("the holiday pattern matched no name")  # the regex is built from them


def _next_holiday(said_as: str, library_name: str | None, today: date, country: str, *,
                  after: bool) -> date | None:
    """This year's date, or next year's once it has passed ('after' it: once it is over)."""
    for year in (today.year, today.year + 1):
        day = _holiday_on(said_as, library_name, year, country)
        if day is None:
            return None
        if day >= today or (after and day + timedelta(days=1) >= today):
            return day
    return None


def _holiday_on(said_as: str, library_name: str | None, year: int, country: str) -> date | None:
    fixed = _FIXED.get(said_as)
    if fixed is not None:
        return fixed(year)
    assert library_name is not None
    for day, name in _country_holidays(country, year).items():
        if name.startswith(library_name) and "observed" not in name:
            return day
    return None


@lru_cache(maxsize=32)
def _country_holidays(country: str, year: int) -> dict[date, str]:
    try:
        return dict(holidays.country_holidays(country, years=year))
    except NotImplementedError:  # a country the library does not know
        return dict(holidays.country_holidays("US", years=year))


def _edge(edge: str, following: bool, unit: str, today: date) -> tuple[date, str]:
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=int(following))
        if edge == "end":  # the end of a working week: Friday
            friday = monday + timedelta(days=4)
            if friday < today:
                friday += timedelta(weeks=1)
            return friday, f"the end of {'next' if following else 'the'} week"
        start = monday if monday >= today else monday + timedelta(weeks=1)
        return start, f"the start of {'next' if following else 'the'} week"
    if unit == "year":
        year = today.year + int(following)
        day = date(year, 12, 31) if edge == "end" else date(year, 1, 1)
        if day < today:
            day = date(year + 1, day.month, day.day)
        return day, f"the {'end' if edge == 'end' else 'start'} of the year"
    year, month = today.year, today.month
    if following:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if edge == "end":
        day = date(year, month, calendar.monthrange(year, month)[1])
    else:
        day = date(year, month, 1)
        if day < today:  # "the beginning of the month" already passed: the next one
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
            day = date(year, month, 1)
    which = "next month" if following else "the month"
    return day, f"the {'end' if edge == 'end' else 'start'} of {which}"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word]


def _plus(today: date, count: int, unit: str) -> date:
    if unit == "day":
        return today + timedelta(days=count)
    if unit == "week":
        return today + timedelta(weeks=count)
    month_index = today.month - 1 + count
    year, month = today.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))
