"""`intake migrate`, `intake calls ...`, `intake retention purge`: the record store's commands.

Registered by agent/cli.py; heavy imports stay inside the handlers. Failures print one line
naming the variable or the call and return a non-zero code.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any


def register(subparsers: Any) -> None:
    migrate = subparsers.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(func=_cmd_migrate)

    calls = subparsers.add_parser("calls", help="review call records")
    calls_sub = calls.add_subparsers(dest="calls_command", metavar="ACTION", required=True)
    listing = calls_sub.add_parser("list", help="list calls, newest first")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--status", choices=["draft", "approved", "none"],
                         help="only calls whose outcome has this approval status")
    listing.add_argument("--json", action="store_true", help="print JSON")
    _filter_arguments(listing)
    listing.set_defaults(func=_cmd_list)
    export = calls_sub.add_parser(
        "export", help="approved records as CSV or JSON, filtered like the console's list")
    export.add_argument("--format", choices=["csv", "json"], default="csv")
    _filter_arguments(export)
    export.set_defaults(func=_cmd_export)
    show = calls_sub.add_parser("show", help="show one call: transcript, events, outcome")
    show.add_argument("call_id", metavar="ID")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(func=_cmd_show)
    edit = calls_sub.add_parser("edit", help="edit outcome fields (recorded as a revision)")
    edit.add_argument("call_id", metavar="ID")
    edit.add_argument("--set", dest="changes", action="append", required=True,
                      metavar="FIELD=VALUE",
                      help="set a field (repeatable); an empty value clears it")
    edit.add_argument("--by", required=True, help="operator name")
    edit.set_defaults(func=_cmd_edit)
    approve = calls_sub.add_parser("approve", help="approve the outcome")
    approve.add_argument("call_id", metavar="ID")
    approve.add_argument("--by", required=True, help="operator name")
    approve.set_defaults(func=_cmd_approve)

    retention = subparsers.add_parser("retention", help="data retention")
    retention_sub = retention.add_subparsers(dest="retention_command", metavar="ACTION",
                                             required=True)
    purge = retention_sub.add_parser(
        "purge", help="delete transcripts and audio references past retention (dry run unless "
        "--apply); outcomes are kept")
    purge.add_argument("--apply", action="store_true", help="delete (default: only count)")
    purge.add_argument("--days", type=int,
                       help="retention days for every call (default: each call's playbook "
                       "value, else INTAKE_RETENTION_DAYS, else 30)")
    purge.set_defaults(func=_cmd_purge)


def _filter_arguments(parser: Any) -> None:
    """The console list's filters; with any of them, `calls list` runs the console's query."""
    from state.console_queries import LIST_FILTERS

    parser.add_argument("--filter", choices=LIST_FILTERS, help="the console's list filter")
    parser.add_argument("--search", metavar="TEXT", help="call id prefix or caller digits")
    parser.add_argument("--since", metavar="YYYY-MM-DD", help="started on or after this day")
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="started on or before this day")
    parser.add_argument("--time-zone", default=None,
                        help="days are in this zone (default INTAKE_DASHBOARD_TIME_ZONE, "
                        "else UTC)")
    parser.add_argument("--page", type=int, default=1)


def _call_filter(args: argparse.Namespace) -> Any:
    import os
    from datetime import date, datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from state.console_queries import CallFilter

    zone = ZoneInfo(args.time_zone or os.environ.get("INTAKE_DASHBOARD_TIME_ZONE") or "UTC")

    def day(raw: str | None, shift: int) -> datetime | None:
        if not raw:
            return None
        return datetime.combine(date.fromisoformat(raw) + timedelta(days=shift), time(), zone)

    return CallFilter(args.filter or "all", day(args.since, 0), day(args.until, 1),
                      args.search or None)


def _fail(message: str, code: int = 1) -> int:
    print(f"intake: {message}", file=sys.stderr)
    return code


def _with_store(action: Callable[[Any], Awaitable[int]]) -> int:
    from state.config import ConfigError, database_url
    from state.postgres_record import PG_UNAVAILABLE, PostgresRecordStore, create_pool

    try:
        url = database_url()
    except ConfigError as exc:
        return _fail(str(exc), 2)

    async def run() -> int:
        pool = await create_pool(url, max_size=2)
        try:
            return await action(PostgresRecordStore(pool))
        finally:
            await pool.close()

    try:
        return asyncio.run(run())
    except PG_UNAVAILABLE:
        return _fail("cannot reach the database at INTAKE_DATABASE_URL")


def _cmd_migrate(args: argparse.Namespace) -> int:
    from state.config import ConfigError, database_url
    from state.migrations import MigrationError, apply_migrations
    from state.postgres_record import PG_UNAVAILABLE

    try:
        url = database_url()
    except ConfigError as exc:
        return _fail(str(exc), 2)
    try:
        applied = asyncio.run(apply_migrations(url))
    except MigrationError as exc:
        return _fail(str(exc))
    except PG_UNAVAILABLE:
        return _fail("cannot reach the database at INTAKE_DATABASE_URL")
    if applied:
        print("applied migrations: " + ", ".join(f"{v:04d}" for v in applied))
    else:
        print("database schema is up to date")
    return 0


def _cmd_list(args: argparse.Namespace) -> int:
    from state.review import list_calls

    if args.filter or args.search or args.since or args.until:
        return _cmd_console_list(args)

    async def action(store: Any) -> int:
        rows = await list_calls(store, limit=args.limit, approval_status=args.status)
        if args.json:
            print(json.dumps(rows, indent=2))
            return 0
        if not rows:
            print("no calls")
            return 0
        print(f"{'CALL':<38} {'STARTED':<25} {'STATUS':<9} {'OUTCOME':<9} TURNS")
        for row in rows:
            print(f"{row['call_id']:<38} {row['started_at'] or '':<25} {row['status']:<9} "
                  f"{row['approval_status'] or '-':<9} {row['turns']}")
        return 0

    return _with_store(action)


def _cmd_console_list(args: argparse.Namespace) -> int:
    from state.console_queries import ConsoleQueries

    try:
        flt = _call_filter(args)
    except ValueError as exc:
        return _fail(f"bad date or time zone: {exc}", 2)

    async def action(store: Any) -> int:
        rows, more = await ConsoleQueries(store.pool).list_page(
            flt, limit=args.limit, offset=(max(1, args.page) - 1) * args.limit)
        if args.json:
            print(json.dumps({"calls": rows, "more": more}, indent=2))
            return 0
        print(f"{'CALL':<34} {'STARTED':<26} {'OUTCOME':<14} {'MISSING':<7} STATUS")
        for row in rows:
            print(f"{row['call_id']:<34} {row['started_at'] or '':<26} "
                  f"{row['recommended_next_action'] or '-':<14} {row['missing_count']:<7} "
                  f"{row['approval_status'] or '-'}")
        if more:
            print(f"(more: --page {max(1, args.page) + 1})")
        return 0

    return _with_store(action)


def _cmd_export(args: argparse.Namespace) -> int:
    from state.console_queries import ConsoleQueries
    from state.record_export import to_csv, to_json

    try:
        flt = _call_filter(args)
    except ValueError as exc:
        return _fail(f"bad date or time zone: {exc}", 2)

    async def action(store: Any) -> int:
        rows = await ConsoleQueries(store.pool).export_rows(flt)
        print(to_json(rows) if args.format == "json" else to_csv(rows), end="")
        return 0

    return _with_store(action)


def _cmd_show(args: argparse.Namespace) -> int:
    from state.review import show_call

    async def action(store: Any) -> int:
        record = await show_call(store, args.call_id)
        if record is None:
            return _fail(f"no call with id {args.call_id}")
        if args.json:
            print(json.dumps(record, indent=2, ensure_ascii=False))
        else:
            print(_render(record))
        return 0

    return _with_store(action)


def _render(record: dict[str, Any]) -> str:
    call = record["call"]
    lines = [f"call {call['call_id']}  room {call['room']}  status {call['status']}",
             f"started {call['started_at']}  ended {call['ended_at'] or '-'}", "", "transcript:"]
    lines += [f"  [{t['seq']}] {t['role']}: {t['text']}" for t in record["turns"]] or ["  -"]
    outcome = record["outcome"]
    lines += ["", "outcome:"]
    if outcome is None:
        lines.append("  none yet")
    else:
        lines.append(f"  status {outcome['approval_status']}"
                     + (f" by {outcome['approved_by']} at {outcome['approved_at']}"
                        if outcome["approved_by"] else ""))
        for name, value in outcome["fields"].items():
            lines.append(f"  {name}: {value}")
        if outcome["missing_fields"]:
            lines.append("  missing: " + ", ".join(outcome["missing_fields"]))
        if outcome["escalation_reason"]:
            lines.append(f"  escalation: {outcome['escalation_reason']}")
        if outcome["recommended_next_action"]:
            lines.append(f"  next action: {outcome['recommended_next_action']}")
    if record["revisions"]:
        lines += ["", "revisions:"]
        lines += [f"  {r['revision']}. {r['action']} by {r['changed_by']} at {r['changed_at']}"
                  for r in record["revisions"]]
    return "\n".join(lines)


def _parse_changes(items: list[str]) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError("--set takes FIELD=VALUE")
        changes[name.strip()] = value if value != "" else None
    return changes


def _cmd_edit(args: argparse.Namespace) -> int:
    from state.review import OutcomeNotFoundError, ReviewError, edit_outcome

    try:
        changes = _parse_changes(args.changes)
    except ValueError as exc:
        return _fail(str(exc), 2)

    async def action(store: Any) -> int:
        try:
            outcome = await edit_outcome(store, args.call_id, changes, by=args.by)
        except OutcomeNotFoundError:
            return _fail(f"call {args.call_id} has no outcome to edit")
        except ReviewError as exc:
            return _fail(str(exc), 2)
        print(f"outcome of {args.call_id} updated; status {outcome['approval_status']}")
        return 0

    return _with_store(action)


def _cmd_approve(args: argparse.Namespace) -> int:
    from state.review import OutcomeNotFoundError, ReviewError, approve_outcome

    async def action(store: Any) -> int:
        try:
            outcome, changed = await approve_outcome(store, args.call_id, by=args.by)
        except OutcomeNotFoundError:
            return _fail(f"call {args.call_id} has no outcome to approve")
        except ReviewError as exc:
            return _fail(str(exc), 2)
        if changed:
            print(f"outcome of {args.call_id} approved by {outcome['approved_by']}")
        else:
            print(f"outcome of {args.call_id} was already approved by {outcome['approved_by']}")
        return 0

    return _with_store(action)


def _cmd_purge(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from state.config import ConfigError, default_retention_days

    if args.days is not None and args.days < 0:
        return _fail("--days must not be negative", 2)
    try:
        default_days = default_retention_days()
    except ConfigError as exc:
        return _fail(str(exc), 2)

    async def action(store: Any) -> int:
        now = datetime.now(UTC)
        if args.apply:
            # the recording store is the composition root's to pick (folder or S3); audio is
            # deleted first, so a failure leaves everything for the next run
            from recording.config import RecordingConfigError, recording_store
            from recording.retention import delete_expired_recordings
            from recording.store import RecordingStoreError

            try:
                recordings = recording_store()
            except RecordingConfigError as exc:
                return _fail(str(exc), 2)
            try:
                parts = await delete_expired_recordings(store, recordings, now, args.days,
                                                        default_days)
            except RecordingStoreError as exc:
                return _fail(f"recordings not deleted, nothing purged: {exc}")
            finally:
                await recordings.aclose()
            print(f"deleted {parts} recording parts")
            counts = await store.retention_purge(now, args.days, default_days)
            verb = "purged"
        else:
            counts = await store.retention_counts(now, args.days, default_days)
            verb = "would purge"
        print(f"{verb}: {counts.calls} calls, {counts.turns} transcript turns, "
              f"{counts.events} events, {counts.audio_refs} audio references "
              "(outcomes kept)")
        if not args.apply:
            print("dry run; pass --apply to delete")
        return 0

    return _with_store(action)
