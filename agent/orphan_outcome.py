"""The outcome of a call whose agent died and whose caller left before a replacement came.

Nobody else would store one: the job is gone, and no replacement is dispatched into an empty
room. The watcher that finds the room empty takes the call's lease (so a job that wakes from a
freeze cannot write after it), computes the outcome from the slots saved in Redis with the
call's own playbook, and appends it; the record writer copies it to Postgres like any other.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

from state.events import OUTCOME, CallEventSerializer, normalize_outcome
from state.protocols import STATUS, CallEvent, LiveCallState
from state.redispatch import claim_orphaned_call, close_orphaned_call
from tools.checklist import SlotChecklist
from tools.playbook import Playbook, PlaybookError, load_playbook

logger = logging.getLogger("intake.orphan_outcome")

ENDED_WITHOUT_AGENT = "ended_without_agent"


def call_playbook(playbook_path: str, fallback: Path) -> Playbook:
    """The playbook the call ran with, or the worker's when that file is gone or broken."""
    if playbook_path:
        try:
            return load_playbook(playbook_path)
        except PlaybookError:
            logger.warning("the call's playbook no longer loads; using the worker's")
    return load_playbook(fallback)


async def store_orphan_outcome(live: LiveCallState, call_id: str, owner: str,
                               fallback_playbook: Path) -> bool:
    """Store the outcome of a call nobody is on any more; False when another worker (or a
    woken job) holds the call."""
    if not await claim_orphaned_call(live, call_id, owner):
        return False
    fields = await live.get_call(call_id)
    playbook = call_playbook(fields.get("playbook", ""), fallback_playbook)
    checklist = SlotChecklist.from_saved_slots(playbook, await live.load_slots(call_id))
    serializer = CallEventSerializer()
    events = ((STATUS, {"status": ENDED_WITHOUT_AGENT}),
              (OUTCOME, normalize_outcome(checklist.outcome())))
    for kind, payload in events:
        encoded = serializer.fields_without_seq(CallEvent(kind=kind, payload=payload))
        # the token makes a retried scan append each event once
        seq = await live.append(call_id, encoded, desired_seq=0,
                                token=f"orphan-outcome:{kind}", owner=owner)
        if seq < 0:
            return False
    await live.set_fields(call_id, {"ended_at": datetime.now(UTC).isoformat()}, owner=owner)
    await close_orphaned_call(live, call_id)
    logger.info("stored the outcome of a call whose agent and caller are gone",
                extra={"call_id": call_id})
    return True
