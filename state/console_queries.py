"""The console's reads over the record: the filtered calls list, the overview figures, the
export. The CLI (`intake calls list --filter ...`, `intake calls export`) and the dashboard
build the same `CallFilter` and run the same SQL, so they agree row for row.

Each query is one statement (no N+1): list rows count missing fields in SQL, the overview is a
handful of aggregates over the chosen range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, get_args

ListFilter = Literal["all", "needs_review", "approved", "escalated", "incomplete"]
LIST_FILTERS: tuple[str, ...] = get_args(ListFilter)
MAX_EXPORT_ROWS = 100_000

_WHERE = """
WHERE ($1::text = 'all'
       OR ($1 = 'needs_review' AND o.approval_status = 'draft')
       OR ($1 = 'approved' AND o.approval_status = 'approved')
       OR ($1 = 'escalated' AND o.escalation_reason IS NOT NULL)
       OR ($1 = 'incomplete' AND (o.missing_fields <> '[]'::jsonb
                                  OR o.unconfirmed_fields <> '[]'::jsonb)))
  AND ($2::timestamptz IS NULL OR c.started_at >= $2)
  AND ($3::timestamptz IS NULL OR c.started_at < $3)
  AND ($4::text IS NULL OR c.call_id LIKE $4 || '%'
       OR ($5::text IS NOT NULL AND c.caller_number LIKE '%' || $5 || '%'))
"""

LIST_PAGE = f"""
SELECT c.call_id, c.status, c.started_at, c.ended_at, c.caller_number,
       coalesce(c.metadata->>'call_direction', 'inbound') AS direction,
       o.approval_status, o.escalation_reason, o.recommended_next_action, o.approved_by,
       coalesce(jsonb_array_length(o.missing_fields), 0) AS missing_count,
       coalesce(jsonb_array_length(o.unconfirmed_fields), 0) AS unconfirmed_count
FROM calls c LEFT JOIN outcomes o USING (call_id)
{_WHERE}
ORDER BY c.started_at DESC, c.call_id
LIMIT $6 OFFSET $7
"""

EXPORT = f"""
SELECT c.call_id, c.started_at, c.ended_at, c.caller_number,
       coalesce(c.metadata->>'call_direction', 'inbound') AS direction,
       o.fields, o.missing_fields, o.unconfirmed_fields, o.escalation_reason,
       o.recommended_next_action, o.approved_by, o.approved_at,
       coalesce((SELECT jsonb_agg(jsonb_build_object('kind', b.kind, 'reference', b.reference,
                                                     'when', b.booked_for)
                                  ORDER BY b.booked_at, b.reference)
                 FROM bookings b WHERE b.call_id = c.call_id), '[]'::jsonb) AS bookings
FROM calls c JOIN outcomes o USING (call_id)
{_WHERE}
  AND o.approval_status = 'approved'
ORDER BY c.started_at DESC, c.call_id
LIMIT $6
"""

# console test calls (metadata.test_call = true, as `supervision.is_test_call` reads it) are kept
# out of every overview figure; the calls list and the export still show them
_NOT_TEST_CALL = "(c.metadata->'test_call') IS DISTINCT FROM 'true'::jsonb"

OVERVIEW_DAYS = f"""
SELECT (c.started_at AT TIME ZONE $3)::date AS day, count(*) AS calls,
       percentile_cont(0.5) WITHIN GROUP (
           ORDER BY extract(epoch FROM c.ended_at - c.started_at))
           FILTER (WHERE c.ended_at IS NOT NULL) AS median_duration_s
FROM calls c WHERE c.started_at >= $1 AND c.started_at < $2 AND {_NOT_TEST_CALL}
GROUP BY 1 ORDER BY 1
"""

OVERVIEW_TOTALS = f"""
SELECT count(*) AS calls,
       count(o.call_id) AS with_outcome,
       count(*) FILTER (WHERE o.missing_fields = '[]'::jsonb
                          AND o.unconfirmed_fields = '[]'::jsonb) AS complete,
       count(*) FILTER (WHERE o.escalation_reason IS NOT NULL) AS escalated,
       count(*) FILTER (WHERE o.approval_status = 'approved') AS approved,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM outcome_revisions r
                                      WHERE r.call_id = c.call_id AND r.action = 'edit'))
           AS touched
FROM calls c LEFT JOIN outcomes o USING (call_id)
WHERE c.started_at >= $1 AND c.started_at < $2 AND {_NOT_TEST_CALL}
"""

OVERVIEW_ESCALATIONS = f"""
SELECT o.escalation_reason AS label, count(*) AS n
FROM calls c JOIN outcomes o USING (call_id)
WHERE c.started_at >= $1 AND c.started_at < $2 AND {_NOT_TEST_CALL}
  AND o.escalation_reason IS NOT NULL
GROUP BY 1 ORDER BY 2 DESC, 1
"""

OVERVIEW_TRANSFERS = f"""
SELECT CASE WHEN (e.payload->>'transferred')::boolean THEN 'connected'
            ELSE coalesce(e.payload->>'reason', 'not connected') END AS label,
       count(*) AS n
FROM calls c JOIN call_events e USING (call_id)
WHERE c.started_at >= $1 AND c.started_at < $2 AND {_NOT_TEST_CALL} AND e.kind = 'escalation'
  AND e.payload ? 'transferred'
GROUP BY 1 ORDER BY 2 DESC, 1
"""

OVERVIEW_BOOKINGS = f"""
SELECT b.kind AS label, count(*) AS n
FROM calls c JOIN bookings b USING (call_id)
WHERE c.started_at >= $1 AND c.started_at < $2 AND {_NOT_TEST_CALL}
GROUP BY 1 ORDER BY 2 DESC, 1
"""

OVERVIEW_MISSING = f"""
SELECT f AS label, count(*) AS n
FROM calls c JOIN outcomes o USING (call_id),
     jsonb_array_elements_text(o.missing_fields || o.unconfirmed_fields) AS f
WHERE c.started_at >= $1 AND c.started_at < $2 AND {_NOT_TEST_CALL}
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10
"""


@dataclass(frozen=True)
class CallFilter:
    """What the list shows: a filter, a start-time range [since, before), a search text."""

    status: ListFilter = "all"
    since: datetime | None = None
    before: datetime | None = None
    search: str | None = None

    def args(self) -> tuple[Any, ...]:
        text = (self.search or "").strip()
        if not text:
            return (self.status, self.since, self.before, None, None)
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        digits = "".join(ch for ch in text if ch.isdigit())
        return (self.status, self.since, self.before, escaped,
                digits if len(digits) >= 3 else None)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _loads(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _duration(started: datetime | None, ended: datetime | None) -> float | None:
    if started is None or ended is None:
        return None
    return round((ended - started).total_seconds(), 1)


class ConsoleQueries:
    """Read-only queries for the console and the CLI, built from an asyncpg pool."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool

    async def list_page(self, flt: CallFilter, *, limit: int, offset: int = 0
                        ) -> tuple[list[dict[str, Any]], bool]:
        """One page of the list, newest first, and whether another page follows."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(LIST_PAGE, *flt.args(), limit + 1, offset)
        page = [{
            "call_id": r["call_id"], "status": r["status"],
            "started_at": _iso(r["started_at"]), "ended_at": _iso(r["ended_at"]),
            "duration_s": _duration(r["started_at"], r["ended_at"]),
            "caller_number": r["caller_number"], "direction": r["direction"],
            "approval_status": r["approval_status"],
            "escalation_reason": r["escalation_reason"],
            "recommended_next_action": r["recommended_next_action"],
            "approved_by": r["approved_by"],
            "missing_count": int(r["missing_count"]) + int(r["unconfirmed_count"]),
        } for r in rows[:limit]]
        return page, len(rows) > limit

    async def export_rows(self, flt: CallFilter) -> list[dict[str, Any]]:
        """The approved records among those the filter lists, newest first."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(EXPORT, *flt.args(), MAX_EXPORT_ROWS)
        return [{
            "call_id": r["call_id"], "started_at": _iso(r["started_at"]),
            "ended_at": _iso(r["ended_at"]),
            "duration_s": _duration(r["started_at"], r["ended_at"]),
            "direction": r["direction"], "caller_number": r["caller_number"],
            "fields": _loads(r["fields"]), "missing_fields": _loads(r["missing_fields"]),
            "unconfirmed_fields": _loads(r["unconfirmed_fields"]),
            "escalation_reason": r["escalation_reason"],
            "recommended_next_action": r["recommended_next_action"],
            "approved_by": r["approved_by"], "approved_at": _iso(r["approved_at"]),
            "bookings": _loads(r["bookings"]),
        } for r in rows]

    async def overview(self, since: datetime, before: datetime, time_zone: str
                       ) -> dict[str, Any]:
        """The owner's figures for calls started in [since, before), days in `time_zone`."""
        async with self.pool.acquire() as conn:
            days = await conn.fetch(OVERVIEW_DAYS, since, before, time_zone)
            totals = await conn.fetchrow(OVERVIEW_TOTALS, since, before)
            groups = {name: [(str(r["label"]), int(r["n"]))
                             for r in await conn.fetch(sql, since, before)]
                      for name, sql in (("escalations", OVERVIEW_ESCALATIONS),
                                        ("transfers", OVERVIEW_TRANSFERS),
                                        ("bookings", OVERVIEW_BOOKINGS),
                                        ("missing_fields", OVERVIEW_MISSING))}
        return {
            "days": [{"day": r["day"].isoformat(), "calls": int(r["calls"]),
                      "median_duration_s": (round(float(r["median_duration_s"]), 1)
                                            if r["median_duration_s"] is not None else None)}
                     for r in days],
            "totals": {k: int(totals[k]) for k in
                       ("calls", "with_outcome", "complete", "escalated", "approved",
                        "touched")},
            **groups,
        }

    async def call_playbook(self, call_id: str) -> str | None:
        async with self.pool.acquire() as conn:
            value = await conn.fetchval("SELECT playbook FROM calls WHERE call_id = $1",
                                        call_id)
        return str(value) if value else None
