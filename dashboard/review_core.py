"""What the call page shows and what its forms do, over `state.review` and the agent's rules
(`tools.outcome_review`). Views only render these models and map errors to responses.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from state import review
from state.postgres_record import OUTCOME_TOP_LEVEL, PostgresRecordStore
from tools.outcome_review import (
    ESCALATION_CHOICES,
    ESCALATION_REASON,
    FieldEditErrors,
    derive_outcome,
    normalize_changes,
)
from tools.playbook import Playbook, PlaybookError, load_playbook

logger = logging.getLogger(__name__)

# events shown inline in the transcript; slot changes and the outcome have their own panels
TIMELINE_KINDS = frozenset({"tool_call", "escalation", "status", "takeover"})


class PlaybookCache:
    """Playbooks by path, reloaded when the file changes; the default for missing ones."""

    def __init__(self, default_path: Path) -> None:
        self.default_path = default_path
        self._cache: dict[str, tuple[float, Playbook]] = {}

    def get(self, path: str | None) -> Playbook:
        for candidate in (path, str(self.default_path)):
            if not candidate:
                continue
            try:
                mtime = Path(candidate).stat().st_mtime
            except OSError:
                continue
            cached = self._cache.get(candidate)
            if cached is not None and cached[0] == mtime:
                return cached[1]
            try:
                playbook = load_playbook(candidate)
            except PlaybookError:
                logger.warning("console: playbook does not load, using the default",
                               extra={"playbook": candidate})
                continue
            self._cache[candidate] = (mtime, playbook)
            return playbook
        raise PlaybookError(str(self.default_path), ["no playbook could be loaded"])


@dataclass(frozen=True)
class FieldRow:
    name: str
    type: str
    required: bool
    confirm: bool
    value: str | None
    state: str  # "missing", "unconfirmed", "ok", "not_asked", "extra"
    source_seq: int | None
    choices: Sequence[str] = ()
    source_at: str | None = None  # when the caller said it


@dataclass
class CallPage:
    record: dict[str, Any]
    playbook: Playbook
    timeline: list[dict[str, Any]]
    fields: list[FieldRow]
    revisions: list[dict[str, Any]]
    escalation_choices: Sequence[str] = ESCALATION_CHOICES
    # set when a save was refused: what the operator typed, and why
    form_values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    conflict: bool = False

    @property
    def outcome(self) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self.record["outcome"]
        return result

    @property
    def missing_required(self) -> list[FieldRow]:
        return [f for f in self.fields if f.state in ("missing", "unconfirmed")]

    @property
    def optional_not_asked(self) -> list[FieldRow]:
        return [f for f in self.fields if f.state == "not_asked"]


def _source_seqs(record: Mapping[str, Any]) -> dict[str, int]:
    """Field -> transcript seq of the caller turn its value came from. Slots remember the
    caller-turn number (1 = the first caller turn), not the stream seq."""
    caller_seqs = [t["seq"] for t in record["turns"] if t["role"] == "caller"]
    sources: dict[str, int] = {}
    for event in record["events"]:
        if event["kind"] != "slot_changed":
            continue
        payload = event["payload"]
        turn = payload.get("source_turn")
        name = payload.get("field")
        if isinstance(name, str) and isinstance(turn, int) and 1 <= turn <= len(caller_seqs):
            sources[name] = caller_seqs[turn - 1]
    return sources


def field_rows(playbook: Playbook, record: Mapping[str, Any]) -> list[FieldRow]:
    outcome = record["outcome"] or {}
    values: dict[str, Any] = outcome.get("fields") or {}
    unconfirmed = set(outcome.get("unconfirmed_fields") or [])
    sources = _source_seqs(record)
    turn_at = {t["seq"]: t["at"] for t in record["turns"]}
    rows: list[FieldRow] = []
    for name, spec in playbook.fields.items():
        value = values.get(name)
        value = value if isinstance(value, str) else None
        if value is None:
            state = "missing" if spec.required else "not_asked"
        elif name in unconfirmed:
            state = "unconfirmed"
        else:
            state = "ok"
        source = sources.get(name) if value is not None else None
        rows.append(FieldRow(name, spec.type, spec.required, spec.confirm, value, state,
                             source, tuple(spec.enum_values), turn_at.get(source)))
    for name, value in values.items():
        if name not in playbook.fields:
            rows.append(FieldRow(name, "free_text", False, False, str(value), "extra",
                                 sources.get(name), (), turn_at.get(sources.get(name))))
    return rows


def timeline(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"type": "turn", **t} for t in record["turns"]]
    items += [{"type": e["kind"], "seq": e["seq"], "at": e["at"], "payload": e["payload"]}
              for e in record["events"] if e["kind"] in TIMELINE_KINDS]
    items += [{"type": "booking", "seq": None, "at": b["at"], "payload": b}
              for b in record.get("bookings") or []]
    items.sort(key=lambda item: (item["at"] or "", item["seq"] or 0))
    return items


def revision_rows(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for rev in reversed(record["revisions"]):
        before, after = rev["before"], rev["after"]
        changes = []
        names = sorted(set(before.get("fields", {})) | set(after.get("fields", {})))
        for name in names:
            old, new = before.get("fields", {}).get(name), after.get("fields", {}).get(name)
            if old != new:
                changes.append((name, old, new))
        for name in (*OUTCOME_TOP_LEVEL, "approval_status"):
            if before.get(name) != after.get(name):
                changes.append((name, before.get(name), after.get(name)))
        rows.append({**rev, "changes": changes})
    return rows


async def load_call_page(store: PostgresRecordStore, playbooks: PlaybookCache,
                         call_id: str) -> CallPage | None:
    record = await review.show_call(store, call_id)
    if record is None:
        return None
    playbook = playbooks.get(record["call"]["playbook"])
    return CallPage(record, playbook, timeline(record), field_rows(playbook, record),
                    revision_rows(record))


class SaveRefused(Exception):
    """The edit was not saved; `errors` (field -> why) or `conflict` says why."""

    def __init__(self, errors: dict[str, str] | None = None, *, conflict: bool = False) -> None:
        super().__init__("edit refused")
        self.errors = errors or {}
        self.conflict = conflict


def submitted_changes(page: CallPage, form: Mapping[str, str]) -> dict[str, str | None]:
    """The inputs whose text differs from what is stored (unchanged inputs are no edit)."""
    outcome = page.outcome or {}
    stored: dict[str, Any] = dict(outcome.get("fields") or {})
    stored[ESCALATION_REASON] = outcome.get(ESCALATION_REASON)
    changes: dict[str, str | None] = {}
    for row in page.fields:
        if row.state == "extra":
            continue
        key = f"field.{row.name}"
        if key in form and form[key].strip() != (stored.get(row.name) or ""):
            changes[row.name] = form[key]
    if ESCALATION_REASON in form and form[ESCALATION_REASON].strip() != (
            stored.get(ESCALATION_REASON) or ""):
        changes[ESCALATION_REASON] = form[ESCALATION_REASON]
    return changes


async def save_edit(store: PostgresRecordStore, page: CallPage, form: Mapping[str, str], *,
                    by: str, version: int) -> bool:
    """Validate and save; False if nothing changed. Raises SaveRefused."""
    if page.outcome is None:
        raise SaveRefused({"": "This call has no outcome yet."})
    if int(page.outcome["version"]) != version:
        raise SaveRefused(conflict=True)
    changes = submitted_changes(page, form)
    if not changes:
        return False
    call_start = datetime.fromisoformat(page.record["call"]["started_at"] or
                                        datetime.now(UTC).isoformat())
    try:
        normalized = normalize_changes(page.playbook, changes, call_start=call_start)
    except FieldEditErrors as exc:
        raise SaveRefused({e.field: e.message for e in exc.errors}) from None
    bookings = page.record.get("bookings") or []
    try:
        await review.edit_outcome(
            store, page.record["call"]["call_id"], normalized, by=by, expected_version=version,
            derive=lambda after: derive_outcome(page.playbook, after, bookings))
    except review.OutcomeConflictError:
        raise SaveRefused(conflict=True) from None
    return True


async def approve(store: PostgresRecordStore, call_id: str, *, by: str, version: int) -> None:
    try:
        await review.approve_outcome(store, call_id, by=by, expected_version=version)
    except review.OutcomeConflictError:
        raise SaveRefused(conflict=True) from None


async def reopen(store: PostgresRecordStore, call_id: str, *, by: str) -> None:
    await review.reopen_outcome(store, call_id, by=by)
