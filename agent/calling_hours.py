"""When a lead may be called: the playbook's calling hours and the callee's local 8:00-21:00.

Both must hold at the moment of dialing. The callee's time zones come from the number
(`phonenumbers.timezone`); a number that spans several zones (a country-wide mobile range, a
border area code) is called only when every one of them is inside the window, and a number
whose zone is unknown is not called at all: the legal window cannot be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from tools.playbook import LEGAL_CALLING_WINDOW, OpenInterval, Playbook

ClosedReason = Literal["calling_hours", "callee_local_time", "callee_time_zone_unknown"]
# how far ahead the next allowed time is looked for
SEARCH_DAYS = 8


@dataclass(frozen=True)
class CallingWindowClosed:
    reason: ClosedReason
    # the earliest moment both windows are open (UTC-aware); None: none within SEARCH_DAYS
    next_allowed: datetime | None

    def message(self, playbook: Playbook) -> str:
        """One line for the operator: why not now, and when (in the business's time zone)."""
        why = {
            "calling_hours": "outside the playbook's calling hours",
            "callee_local_time": "outside 8:00-21:00 in the callee's local time",
            "callee_time_zone_unknown": "the callee's time zone cannot be told from the number",
        }[self.reason]
        if self.reason == "callee_time_zone_unknown":
            return f"not calling: {why}"
        if self.next_allowed is None:
            return f"not calling: {why}; no allowed time in the next {SEARCH_DAYS - 1} days"
        local = self.next_allowed.astimezone(playbook.zone)
        return (f"not calling: {why}; next allowed time {local.isoformat(timespec='minutes')} "
                f"({playbook.business_hours.time_zone})")


def callee_time_zones(e164: str) -> tuple[ZoneInfo, ...]:
    """The IANA zones the number may be in; empty when unknown."""
    parsed = phonenumbers.parse(e164, None)
    zones = []
    for name in phone_timezone.time_zones_for_number(parsed):
        try:
            zones.append(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # "Etc/Unknown" and names this system's tz database lacks
    return tuple(zones)


def _inside(interval: OpenInterval | None, local: datetime) -> bool:
    return interval is not None and interval.opens <= local.time() < interval.closes


def _callee_awake(zones: tuple[ZoneInfo, ...], at: datetime) -> bool:
    return all(_inside(LEGAL_CALLING_WINDOW, at.astimezone(zone)) for zone in zones)


def _allowed(playbook: Playbook, zones: tuple[ZoneInfo, ...], at: datetime) -> bool:
    return playbook.calling_hours.is_open(at) and _callee_awake(zones, at)


def _window_starts(zone: ZoneInfo, first_day: date, opens_on: list[OpenInterval | None],
                   ) -> list[datetime]:
    """Each day's opening moment in `zone` for SEARCH_DAYS days from `first_day`."""
    starts = []
    for offset in range(-1, SEARCH_DAYS):
        day = first_day + timedelta(days=offset)
        interval = opens_on[day.weekday()]
        if interval is not None:
            starts.append(datetime.combine(day, interval.opens, tzinfo=zone))
    return starts


def next_allowed_time(playbook: Playbook, zones: tuple[ZoneInfo, ...],
                      now: datetime) -> datetime | None:
    """The earliest moment at or after `now` when the number may be called.

    The allowed times are an intersection of daily intervals, so the first of them is `now`
    itself or the opening of one of those intervals: only those moments are checked.
    """
    if _allowed(playbook, zones, now):
        return now
    hours = playbook.calling_hours
    business_days = [hours.interval(day) for day in range(7)]
    candidates = _window_starts(hours.zone, now.astimezone(hours.zone).date(), business_days)
    for zone in zones:
        candidates += _window_starts(zone, now.astimezone(zone).date(),
                                     [LEGAL_CALLING_WINDOW] * 7)
    for candidate in sorted(c for c in candidates if c > now):
        if _allowed(playbook, zones, candidate):
            return candidate
    return None


def check_calling_hours(playbook: Playbook, e164: str,
                        now: datetime) -> CallingWindowClosed | None:
    """None when the number may be called at `now` (aware); else why not and when."""
    zones = callee_time_zones(e164)
    if not zones:
        return CallingWindowClosed("callee_time_zone_unknown", None)
    if _allowed(playbook, zones, now):
        return None
    reason: ClosedReason = ("calling_hours" if not playbook.calling_hours.is_open(now)
                            else "callee_local_time")
    return CallingWindowClosed(reason, next_allowed_time(playbook, zones, now))


__all__ = ["CallingWindowClosed", "callee_time_zones", "check_calling_hours",
           "next_allowed_time"]
