"""Outcome review: the operator's side of the record (functions now, the web UI later).

At call end the agent's outcome is stored as a draft; an operator edits fields (each edit a
revision with who and when, before and after) and approves it (who and when).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from state.events import normalize_outcome
from state.postgres_record import (
    OUTCOME_TOP_LEVEL,
    OutcomeDraft,
    OutcomeNotFoundError,
    PostgresRecordStore,
)

__all__ = [
    "OutcomeNotFoundError",
    "ReviewError",
    "approve_outcome",
    "edit_outcome",
    "list_calls",
    "show_call",
    "store_draft_outcome",
]


class ReviewError(ValueError):
    """An operator action that cannot apply; the message is safe to show."""


async def store_draft_outcome(store: PostgresRecordStore, call_id: str,
                              outcome: Mapping[str, Any], *, source_seq: int | None = None) -> None:
    """Store the agent's outcome as a draft (the recorder does this through the stream; this
    is for callers that hold no recorder). Never overwrites an edited or approved outcome."""
    draft = normalize_outcome(outcome)
    await store.store_draft_outcome(call_id, OutcomeDraft(
        fields=draft["fields"], missing_fields=draft["missing_fields"],
        escalation_reason=draft["escalation_reason"],
        recommended_next_action=draft["recommended_next_action"], source_seq=source_seq))


async def list_calls(store: PostgresRecordStore, *, limit: int = 50,
                     approval_status: str | None = None) -> list[dict[str, Any]]:
    """Newest first; `approval_status` "draft", "approved" or "none" (no outcome yet)."""
    return await store.list_calls(limit=limit, approval_status=approval_status)


async def show_call(store: PostgresRecordStore, call_id: str) -> dict[str, Any] | None:
    """Call, turns, events, outcome and revisions, JSON-ready; None if there is no such call."""
    return await store.get_call(call_id)


def apply_edit(snapshot: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The outcome after an operator's changes. A name in OUTCOME_TOP_LEVEL sets that column;
    any other names a field. A value of None clears the field and lists it as missing. Any edit
    returns an approved outcome to draft: what was approved is no longer what is there."""
    after = copy.deepcopy(dict(snapshot))
    fields: dict[str, Any] = dict(after["fields"])
    missing: list[str] = list(after["missing_fields"])
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
    after["fields"] = fields
    after["missing_fields"] = missing
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


async def edit_outcome(store: PostgresRecordStore, call_id: str, changes: Mapping[str, Any], *,
                       by: str, at: datetime | None = None) -> dict[str, Any]:
    """Apply an operator's edit; records a revision (who, when, before, after) if anything
    changed. Raises OutcomeNotFoundError if the call has no outcome."""
    who = _who(by)
    if not changes:
        raise ReviewError("nothing to change")
    snapshot, _ = await store.revise_outcome(
        call_id, "edit", who, at or datetime.now(UTC), lambda before: apply_edit(before, changes))
    return snapshot


async def approve_outcome(store: PostgresRecordStore, call_id: str, *, by: str,
                          at: datetime | None = None) -> tuple[dict[str, Any], bool]:
    """Approve the outcome, recording who and when; returns (outcome, changed). Approving an
    approved outcome changes nothing."""
    who = _who(by)
    when = at or datetime.now(UTC)

    def approve(before: Mapping[str, Any]) -> dict[str, Any] | None:
        if before["approval_status"] == "approved":
            return None
        return {**before, "approval_status": "approved", "approved_by": who,
                "approved_at": when.isoformat()}

    return await store.revise_outcome(call_id, "approve", who, when, approve)
