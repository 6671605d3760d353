"""A job's dispatch metadata and the call id taken from it (or from the room name)."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any

logger = logging.getLogger("intake.job")


def parse_job_metadata(raw: str | None) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError:
        logger.warning("job metadata is not JSON; ignoring it")
        return {}
    return data if isinstance(data, dict) else {}


def call_id_for(room_name: str, metadata: dict[str, Any]) -> str:
    """The call's id: from the dispatch metadata, else the room name's random part.

    SIP dispatch rules name rooms `<prefix>_<number>_<random>`; only the random part is taken,
    so no phone number ever becomes an id that is logged.
    """
    explicit = metadata.get("call_id")
    if isinstance(explicit, str) and explicit:
        return explicit
    if "_" in room_name:
        suffix = room_name.rsplit("_", 1)[1]
        if suffix:
            return suffix
    if room_name.startswith("call-") and len(room_name) > len("call-"):
        return room_name[len("call-"):]
    return uuid.uuid4().hex


def lease_owner(metadata: dict[str, Any], worker_id: str) -> str:
    """The worker id the call's heartbeat lease is held under (a replacement keeps the claim)."""
    owner = metadata.get("lease_owner")
    return owner if isinstance(owner, str) and owner else worker_id
