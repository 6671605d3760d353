"""Outcome review: the operator's side of the record (functions now, the web UI later).

At call end the agent's outcome is stored as a draft; an operator edits fields (each edit a
revision with who and when, before and after) and approves it (who and when).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from state.events import normalize_outcome
from state.postgres_record import (
    OUTCOME_TOP_LEVEL,
    OutcomeConflictError,
    OutcomeDraft,
    OutcomeNotFoundError,
)
from state.protocols import RecordStore

__all__ = [
    "OutcomeConflictError",
    "OutcomeNotFoundError",
    "ReviewError",
    "approve_outcome",
    "edit_outcome",
    "list_calls",
    "reopen_outcome",
    "show_call",
    "store_draft_outcome",
]


class ReviewError(ValueError):
    """An operator action that cannot apply; the message is safe to show."""


# Recomputes what follows from the fields (missing, unconfirmed, next action) by the agent's
# rule; state/ knows no playbook, so the caller that does passes it in.
Derive = Callable[[dict[str, Any]], dict[str, Any]]


async def store_draft_outcome(store: RecordStore, call_id: str,
                              outcome: Mapping[str, Any], *, source_seq: int | None = None) -> None:
    """Store the agent's outcome as a draft (the recorder does this through the stream; this
    is for callers that hold no recorder). Never overwrites an edited or approved outcome."""
    draft = normalize_outcome(outcome)
    await store.store_draft_outcome(call_id, OutcomeDraft(
        fields=draft["fields"], missing_fields=draft["missing_fields"],
        escalation_reason=draft["escalation_reason"],
        recommended_next_action=draft["recommended_next_action"], source_seq=source_seq,
        unconfirmed_fields=draft["unconfirmed_fields"], bookings=draft["bookings"]))


async def list_calls(store: RecordStore, *, limit: int = 50,
                     approval_status: str | None = None) -> list[dict[str, Any]]:
    """Newest first; `approval_status` "draft", "approved" or "none" (no outcome yet)."""
    return await store.list_calls(limit=limit, approval_status=approval_status)


async def show_call(store: RecordStore, call_id: str) -> dict[str, Any] | None:
    """Call, turns, events, outcome and revisions, JSON-ready; None if there is no such call."""
    return await store.get_call(call_id)


def apply_edit(snapshot: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome after an operator's changes. A name in OUTCOME_TOP_LEVEL sets that column;
    any other names a field. A value of None clears the field and lists it as missing; a value
    an operator sets counts as confirmed (a person checked it). Any edit returns an approved
    outcome to draft: what was approved is no longer what is there."""
    after = copy.deepcopy(dict(snapshot))
    fields: dict[str, Any] = dict(after["fields"])
    missing: list[str] = list(after["missing_fields"])
    unconfirmed: list[str] = list(after.get("unconfirmed_fields") or [])
    for name, value in changes.items():
        if not name or not isinstance(name, str):
            raise ReviewError("field name must be a non-empty string")
        if name in OUTCOME_TOP_LEVEL:
            if value is not None and not isinstance(value, str):
                raise ReviewError(f"{name} must be text")
            after[name] = value
            continue
        if value is None or value == "":
            fields.pop(name, None)
            if name not in missing:
                missing.append(name)
        else:
            fields[name] = value
            missing = [m for m in missing if m != name]
        unconfirmed = [u for u in unconfirmed if u != name]
    after["fields"] = fields
    after["missing_fields"] = missing
    if "unconfirmed_fields" in after:
        after["unconfirmed_fields"] = unconfirmed
    if after != dict(snapshot):
        after["approval_status"] = "draft"
        after["approved_by"] = None
        after["approved_at"] = None
    return after


def _who(by: str) -> str:
    by = by.strip()
    if not by:
        raise ReviewError("an operator name is required")
    return by


async def edit_outcome(store: RecordStore, call_id: str, changes: Mapping[str, Any], *,
                       by: str, at: datetime | None = None, expected_version: int | None = None,
                       derive: Derive | None = None) -> dict[str, Any]:
    """Apply an operator's edit; records a revision (who, when, before, after) if anything
    changed. Raises OutcomeNotFoundError if the call has no outcome, OutcomeConflictError if
    `expected_version` is given and the outcome has moved on since."""
    who = _who(by)
    if not changes:
        raise ReviewError("nothing to change")

    def change(before: Mapping[str, Any]) -> dict[str, Any]:
        after = apply_edit(before, changes)
        return derive(after) if derive is not None else after

    snapshot, _ = await store.revise_outcome(
        call_id, "edit", who, at or datetime.now(UTC), change, expected_version=expected_version)
    return snapshot


async def reopen_outcome(store: RecordStore, call_id: str, *, by: str,
                         at: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Return an approved outcome to draft (an admin's call), as a revision."""
    who = _who(by)

    def reopen(before: Mapping[str, Any]) -> dict[str, Any] | None:
        if before["approval_status"] != "approved":
            return None
        return {**before, "approval_status": "draft", "approved_by": None, "approved_at": None}

    return await store.revise_outcome(call_id, "reopen", who, at or datetime.now(UTC), reopen)


async def approve_outcome(store: RecordStore, call_id: str, *, by: str,
                          at: datetime | None = None, expected_version: int | None = None
                          ) -> tuple[dict[str, Any], bool]:
    """Approve the outcome, recording who and when; returns (outcome, changed). Approving an
    approved outcome changes nothing."""
    who = _who(by)
    when = at or datetime.now(UTC)

    def approve(before: Mapping[str, Any]) -> dict[str, Any] | None:
        if before["approval_status"] == "approved":
            return None
        return {**before, "approval_status": "approved", "approved_by": who,
                "approved_at": when.isoformat()}

    return await store.revise_outcome(call_id, "approve", who, when, approve,
                                      expected_version=expected_version)
