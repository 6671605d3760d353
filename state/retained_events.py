"""The events a call recorder keeps in memory until the writer confirms them in Postgres.

They are what the recorder can put back if Redis restarts empty, and what `recent_events`
answers from without a round trip.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from state.protocols import CallEvent
from state.recorder_parts import LoggedEvent


class RetainedEvents:
    def __init__(self, max_events: int) -> None:
        self._max = max_events
        self._events: deque[LoggedEvent] = deque()
        self._persisted_seq = 0

    def keep(self, logged: LoggedEvent) -> None:
        self._events.append(logged)
        while len(self._events) > self._max:
            self._events.popleft()

    def confirm_persisted(self, persisted: int) -> None:
        """Postgres holds every seq up to `persisted`: those Redis confirmed are let go."""
        self._persisted_seq = max(self._persisted_seq, persisted)
        while (self._events and self._events[0].confirmed
               and self._events[0].seq <= self._persisted_seq):
            self._events.popleft()

    def by_seq(self) -> dict[int, CallEvent]:
        return {logged.seq: logged.event for logged in self._events}

    def lost_with_redis(self) -> Iterator[LoggedEvent]:
        """What Redis had confirmed but Postgres had not: gone if Redis restarted empty."""
        for logged in list(self._events):
            if logged.confirmed and logged.seq > self._persisted_seq:
                yield logged
