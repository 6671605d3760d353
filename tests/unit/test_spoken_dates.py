"""Dates as callers say them, resolved against a fixed call date in the business's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tools.normalize import normalize_date

pytestmark = pytest.mark.unit

CHICAGO = ZoneInfo("America/Chicago")
# Tuesday 2026-12-01, 22:30 in Chicago: already Wednesday the 2nd in UTC
EARLY_DECEMBER = datetime(2026, 12, 2, 4, 30, tzinfo=UTC)
# Monday 2026-06-01, 10:00 in Chicago
EARLY_JUNE = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(("said", "value", "spoken"), [
    ("by Christmas", "2026-12-25", "Christmas, Friday, December 25th"),
    ("Christmas Eve", "2026-12-24", "Christmas Eve, Thursday, December 24th"),
    # Thanksgiving 2026 (Nov 26) has passed: the next one, and the bound is kept
    ("before Thanksgiving", "2027-11-25", "before Thanksgiving, Thursday, November 25th"),
    ("sometime before Thanksgiving would be great", "2027-11-25",
     "before Thanksgiving, Thursday, November 25th"),
    # after a day: the first day after it
    ("after New Year's", "2027-01-02", "after New Year's Day, Friday, January 1st"),
    ("after Christmas", "2026-12-26", "after Christmas, Friday, December 25th"),
    ("end of the month", "2026-12-31", "Thursday, December 31st"),
    ("by the end of next month", "2027-01-31", "Sunday, January 31st"),
    ("in two weeks", "2026-12-15", "Tuesday, December 15th"),
    ("two weeks from now", "2026-12-15", "Tuesday, December 15th"),
    ("in a couple of weeks", "2026-12-15", "Tuesday, December 15th"),
    ("in 3 days", "2026-12-04", "Friday, December 4th"),
    ("the week of the 15th", "2026-12-15", "the week of Tuesday, December 15th"),
])
def test_spoken_dates_in_december(said: str, value: str, spoken: str) -> None:
    result = normalize_date(said, EARLY_DECEMBER, CHICAGO)
    assert (result.value, result.spoken) == (value, spoken)
    assert result.details["read_back"] is True


@pytest.mark.parametrize(("said", "value", "relation"), [
    ("before the Fourth of July", "2026-07-04", "before"),
    ("by Labor Day", "2026-09-07", "by"),
    ("before Thanksgiving", "2026-11-26", "before"),  # this year's is still ahead
    ("Memorial Day", "2027-05-31", "on"),  # 2026-05-25 has passed
    ("the week of the 15th", "2026-06-15", "week_of"),
    ("end of the month", "2026-06-30", "on"),
])
def test_holidays_resolve_to_the_next_one_not_in_the_past(said: str, value: str,
                                                          relation: str) -> None:
    result = normalize_date(said, EARLY_JUNE, CHICAGO)
    assert result.value == value
    assert result.details["relation"] == relation


def test_a_holiday_today_is_today_and_after_it_is_tomorrow() -> None:
    christmas_noon = datetime(2026, 12, 25, 18, 0, tzinfo=UTC)
    assert normalize_date("by Christmas", christmas_noon, CHICAGO).value == "2026-12-25"
    assert normalize_date("after Christmas", christmas_noon, CHICAGO).value == "2026-12-26"


def test_the_business_time_zone_decides_what_today_is() -> None:
    # 04:30 UTC on Jan 1 is still New Year's Eve in Chicago: "by New Year's" is tomorrow there
    new_years_eve = datetime(2027, 1, 1, 4, 30, tzinfo=UTC)
    assert normalize_date("by New Year's", new_years_eve, CHICAGO).value == "2027-01-01"
    assert normalize_date("by New Year's", new_years_eve, ZoneInfo("UTC")).value == "2027-01-01"
    assert normalize_date("end of the month", new_years_eve, CHICAGO).value == "2026-12-31"
    assert normalize_date("end of the month", new_years_eve, ZoneInfo("UTC")).value == (
        "2027-01-31")


def test_plain_dates_still_need_no_extra_read_back() -> None:
    result = normalize_date("March 3rd", EARLY_DECEMBER, CHICAGO)
    assert result.value == "2027-03-03"
    assert "read_back" not in result.details


async def test_the_tool_names_the_resolved_date_in_its_read_back() -> None:
    from tests.unit.test_tools_fakes import ctx, make_call
    from tools.intake_tools import record_field

    ud, _, _ = make_call()  # the call starts on Tuesday, March 4th, 2025 in Chicago
    out = await record_field(ctx(ud), field="deadline", value="by Christmas")
    assert '"Christmas, Thursday, December 25th, is that right?"' in out
    assert ud.checklist.slot("deadline").value == "2025-12-25"
