"""The recorder's retained events: kept until Postgres confirms them, and the ones a Redis
restart would lose are exactly those Redis confirmed and Postgres did not."""

from __future__ import annotations

import pytest

from state.protocols import CallEvent
from state.recorder_parts import LoggedEvent
from state.retained_events import RetainedEvents

pytestmark = pytest.mark.unit


def _logged(seq: int, *, confirmed: bool = True) -> LoggedEvent:
    return LoggedEvent(seq=seq, event=CallEvent(kind="status", payload={"n": seq}),
                       fields={}, token=f"t:{seq}", confirmed=confirmed)


def test_confirmed_events_go_once_postgres_has_them() -> None:
    retained = RetainedEvents(max_events=100)
    for seq in (1, 2, 3):
        retained.keep(_logged(seq))
    retained.confirm_persisted(2)
    assert sorted(retained.by_seq()) == [3]
    assert [e.seq for e in retained.lost_with_redis()] == [3]


def test_an_event_redis_never_took_is_kept_past_the_persisted_seq() -> None:
    retained = RetainedEvents(max_events=100)
    retained.keep(_logged(1, confirmed=False))
    retained.keep(_logged(2))
    retained.confirm_persisted(2)
    # the unconfirmed head holds the queue: it is still to be sent, not lost
    assert sorted(retained.by_seq()) == [1, 2]
    assert list(retained.lost_with_redis()) == []


def test_the_oldest_go_past_the_limit() -> None:
    retained = RetainedEvents(max_events=2)
    for seq in (1, 2, 3):
        retained.keep(_logged(seq))
    assert sorted(retained.by_seq()) == [2, 3]
