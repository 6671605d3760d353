"""The recording player's server side: HTTP byte ranges, and where each turn is heard."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.views.recording_audio import RangeNotSatisfiable, TurnTime, parse_range, player_for

pytestmark = pytest.mark.unit

T0 = datetime(2026, 3, 2, 15, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "expected"), [
    (None, None),
    ("bytes=0-0", (0, 0)),
    ("bytes=0-99", (0, 99)),
    ("bytes=10-", (10, 99)),
    ("bytes=90-500", (90, 99)),
    ("bytes=-30", (70, 99)),
    ("bytes=-500", (0, 99)),
    (" bytes=5-9 ", (5, 9)),
])
def test_ranges_the_browser_sends(header: str | None, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", [
    "bytes=100-", "bytes=100-200", "bytes=9-5", "bytes=-0", "bytes=-", "bytes=0-1,5-6",
    "items=0-5", "bytes=a-b", "bytes 0-5", "",
])
def test_ranges_that_are_refused(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


def test_an_empty_part_has_no_range() -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range("bytes=0-", 0)
    assert parse_range(None, 0) is None


def _record(events: list[dict[str, Any]], turn_offsets: list[float]) -> dict[str, Any]:
    return {
        "call": {"call_id": "c1", "purged_at": None},
        "events": events,
        "turns": [{"seq": i + 1, "role": "caller" if i % 2 else "agent", "text": "x",
                   "at": (T0 + timedelta(seconds=s)).isoformat()}
                  for i, s in enumerate(turn_offsets)],
    }


def _started(part: int, offset_s: float) -> dict[str, Any]:
    return {"kind": "recording", "payload": {
        "stage": "started", "part": part, "uri": f"file:///r/c1/part-00{part}.ogg",
        "started_at": (T0 + timedelta(seconds=offset_s)).isoformat()}}


def test_turns_are_placed_in_their_part_from_the_end_of_the_turn_before() -> None:
    # part 2 starts 20 s into the call (a replacement worker); turns end at 3, 7, 15, 25, 30 s
    record = _record([_started(1, 0.5), {"kind": "recording", "payload": {"stage": "closed"}},
                      _started(2, 20.0)], [3, 7, 15, 25, 30])
    player = player_for(record)
    assert [p.part for p in player.parts] == [1, 2]
    assert player.turns == {
        1: TurnTime(1, 0.0, 2.5),
        2: TurnTime(1, 2.5, 6.5),
        3: TurnTime(1, 6.5, 14.5),
        # the first turn of part 2 is heard from the part's start
        4: TurnTime(2, 0.0, 5.0),
        5: TurnTime(2, 5.0, 10.0),
    }


def test_no_recording_no_player() -> None:
    assert player_for(_record([], [3, 7])).parts == []
    malformed = {"kind": "recording", "payload": {"stage": "started", "part": "x"}}
    assert player_for(_record([malformed], [3])).parts == []
    purged = _record([_started(1, 0)], [3])
    purged["call"]["purged_at"] = T0.isoformat()
    assert player_for(purged).parts == [] and player_for(purged).turns == {}
