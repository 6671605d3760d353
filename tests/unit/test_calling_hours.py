"""Calling hours for outbound calls: the playbook's window and the callee's local 8:00-21:00."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.calling_hours import callee_time_zones, check_calling_hours, next_allowed_time
from tests.unit.test_tools_fakes import EXAMPLE_PLAYBOOK
from tools.playbook import Playbook, WeeklyHours, load_playbook

pytestmark = pytest.mark.unit

CHICAGO = ZoneInfo("America/Chicago")
AUSTIN = "+15125550100"  # America/Chicago
NEW_YORK = "+12125550100"
HONOLULU = "+18085550100"
AUSTRALIAN_MOBILE = "+61412345678"  # every Australian zone, Perth to Lord Howe
FREEPHONE = "+80012345678"  # international freephone: no time zone


def example() -> Playbook:
    return load_playbook(EXAMPLE_PLAYBOOK)


def with_calling_hours(playbook: Playbook, spec: str, time_zone: str | None = None) -> Playbook:
    every_day = WeeklyHours(**{day: spec for day in ("monday", "tuesday", "wednesday",
                                                     "thursday", "friday", "saturday",
                                                     "sunday")})
    hours = playbook.business_hours
    if time_zone is not None:
        hours = hours.model_copy(update={"time_zone": time_zone})
    return playbook.model_copy(update={
        "business_hours": hours,
        "outbound": playbook.outbound.model_copy(update={"calling_hours": every_day})})


def chicago(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHICAGO)


def test_inside_both_windows_may_call() -> None:
    # Monday 3 March 2025, 10:00 in Chicago: the playbook's calling hours are 9:00-19:00
    assert check_calling_hours(example(), AUSTIN, chicago(2025, 3, 3, 10, 0)) is None


def test_before_the_playbooks_calling_hours_names_them_and_the_opening() -> None:
    closed = check_calling_hours(example(), AUSTIN, chicago(2025, 3, 3, 8, 30))
    assert closed is not None
    assert closed.reason == "calling_hours"
    assert closed.next_allowed == chicago(2025, 3, 3, 9, 0)
    assert closed.message(example()) == (
        "not calling: outside the playbook's calling hours; next allowed time "
        "2025-03-03T09:00-06:00 (America/Chicago)")


def test_calling_hours_default_to_the_business_hours() -> None:
    playbook = example()
    playbook = playbook.model_copy(update={
        "outbound": playbook.outbound.model_copy(update={"calling_hours": None})})
    # business hours open at 8:00 on weekdays; the example's calling hours at 9:00
    assert check_calling_hours(playbook, AUSTIN, chicago(2025, 3, 3, 8, 30)) is None


def test_a_closed_weekend_points_to_monday_across_a_dst_change() -> None:
    # Saturday 16:00 (calling hours end at 13:00), Sunday closed; DST starts Sunday 9 March
    closed = check_calling_hours(example(), AUSTIN, chicago(2025, 3, 8, 16, 0))
    assert closed is not None and closed.reason == "calling_hours"
    assert closed.next_allowed == chicago(2025, 3, 10, 9, 0)
    assert closed.next_allowed.utcoffset() == chicago(2025, 3, 10, 9, 0).utcoffset()


def test_too_early_for_the_callee_even_inside_the_business_hours() -> None:
    # 10:00 in Chicago is 06:00 in Honolulu
    closed = check_calling_hours(example(), HONOLULU, chicago(2025, 3, 3, 10, 0))
    assert closed is not None
    assert closed.reason == "callee_local_time"
    assert closed.next_allowed == datetime(2025, 3, 3, 8, 0, tzinfo=ZoneInfo("Pacific/Honolulu"))
    assert "outside 8:00-21:00 in the callee's local time" in closed.message(example())


def test_too_late_for_the_callee() -> None:
    playbook = with_calling_hours(example(), "08:00-23:00")
    # 20:30 in Chicago is 21:30 in New York; the next morning at 8:00 there is 7:00 here
    closed = check_calling_hours(playbook, NEW_YORK, chicago(2025, 3, 3, 20, 30))
    assert closed is not None and closed.reason == "callee_local_time"
    assert closed.next_allowed == chicago(2025, 3, 4, 8, 0)
    assert check_calling_hours(playbook, NEW_YORK, chicago(2025, 3, 3, 19, 59)) is None


def test_a_number_spanning_several_zones_needs_every_zone_inside_the_window() -> None:
    playbook = with_calling_hours(example(), "00:00-24:00", time_zone="UTC")
    zones = {zone.key for zone in callee_time_zones(AUSTRALIAN_MOBILE)}
    assert {"Australia/Perth", "Australia/Sydney", "Indian/Cocos"} <= zones
    # 22:00 UTC: 09:00 in Sydney but 06:00 in Perth
    now = datetime(2025, 3, 3, 22, 0, tzinfo=UTC)
    closed = check_calling_hours(playbook, AUSTRALIAN_MOBILE, now)
    assert closed is not None and closed.reason == "callee_local_time"
    # the last zone to reach 8:00 is Cocos (UTC+6:30); Lord Howe (UTC+11) is still before 21:00
    assert closed.next_allowed == datetime(2025, 3, 4, 1, 30, tzinfo=UTC)
    assert next_allowed_time(playbook, callee_time_zones(AUSTRALIAN_MOBILE),
                             closed.next_allowed) == closed.next_allowed


def test_a_number_without_a_time_zone_is_never_called() -> None:
    closed = check_calling_hours(with_calling_hours(example(), "00:00-24:00"), FREEPHONE,
                                 chicago(2025, 3, 3, 12, 0))
    assert closed is not None
    assert closed.reason == "callee_time_zone_unknown"
    assert closed.next_allowed is None
    assert "time zone" in closed.message(example())


def test_windows_that_never_overlap_have_no_next_time() -> None:
    # 04:00-06:00 UTC is the middle of the night in Chicago
    playbook = with_calling_hours(example(), "04:00-06:00", time_zone="UTC")
    closed = check_calling_hours(playbook, AUSTIN, datetime(2025, 3, 3, 5, 0, tzinfo=UTC))
    assert closed is not None and closed.reason == "callee_local_time"
    assert closed.next_allowed is None
    assert "no allowed time in the next 7 days" in closed.message(playbook)
