"""Business hours in the playbook: weekly opening intervals in the business's time zone, how
they are spoken, and whether the business is open at a moment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    field_validator,
)

from tools.playbook_types import (
    HOURS_RE,
    WEEKDAYS,
    PlaybookModel,
    no_prices,
)


@dataclass(frozen=True)
class OpenInterval:
    opens: time
    closes: time


class WeeklyHours(PlaybookModel):
    """Per weekday "HH:MM-HH:MM" (24 h, business time zone) or "closed"; a missing day is closed."""

    monday: str = "closed"
    tuesday: str = "closed"
    wednesday: str = "closed"
    thursday: str = "closed"
    friday: str = "closed"
    saturday: str = "closed"
    sunday: str = "closed"

    @field_validator(*WEEKDAYS)
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        if value.strip().lower() != "closed":
            _parse_interval(value)
        return value


class BusinessHours(PlaybookModel):
    time_zone: str
    weekly: WeeklyHours
    note: str = ""

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value

    @field_validator("note")
    @classmethod
    def _note_no_prices(cls, value: str) -> str:
        return no_prices(value)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def interval(self, weekday: int) -> OpenInterval | None:
        """Opening hours on a weekday (0 = Monday), or None when closed."""
        spec: str = getattr(self.weekly, WEEKDAYS[weekday])
        if spec.strip().lower() == "closed":
            return None
        return _parse_interval(spec)

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.zone)
        interval = self.interval(local.weekday())
        return interval is not None and interval.opens <= local.time() < interval.closes

    def spoken(self) -> str:
        """Hours as a sentence, consecutive days with the same hours grouped."""
        groups: list[tuple[int, int, OpenInterval | None]] = []
        for day in range(7):
            interval = self.interval(day)
            if groups and groups[-1][2] == interval:
                groups[-1] = (groups[-1][0], day, interval)
            else:
                groups.append((day, day, interval))
        parts = []
        for first, last, interval in groups:
            days = WEEKDAYS[first].title()
            if last > first:
                days += f" to {WEEKDAYS[last].title()}"
            if interval is None:
                parts.append(f"closed {days}")
            else:
                parts.append(f"{days} {_spoken_time(interval.opens)} to "
                             f"{_spoken_time(interval.closes)}")
        return "We're open " + ", ".join(parts) + "."


def _parse_interval(spec: str) -> OpenInterval:
    match = HOURS_RE.match(spec.strip())
    if not match:
        raise ValueError(f"expected 'HH:MM-HH:MM' or 'closed', got {spec!r}")
    oh, om, ch, cm = (int(g) for g in match.groups())
    try:
        opens = time(oh, om)
        closes = time(23, 59, 59) if (ch, cm) == (24, 0) else time(ch, cm)
    except ValueError:
        raise ValueError(f"not a valid time in {spec!r}") from None
    if closes <= opens:
        raise ValueError("closing time must be after opening time")
    return OpenInterval(opens, closes)


def _spoken_time(value: time) -> str:
    hour = value.hour % 12 or 12
    suffix = "AM" if value.hour < 12 else "PM"
    return f"{hour} {suffix}" if value.minute == 0 else f"{hour}:{value.minute:02d} {suffix}"
