"""Which console roles may supervise calls: the one rule the console's permission table and the
token minting both ask."""

from __future__ import annotations

SUPERVISING_ROLES = frozenset({"supervisor", "admin"})
# any signed-in user may place a test call from the console
TEST_CALL_ROLES = frozenset({"operator", "supervisor", "admin"})


def can_supervise(role: str) -> bool:
    """Listen, whisper, take over, hand back, end a call, accept a ringing escalation."""
    return role in SUPERVISING_ROLES


def can_place_test_call(role: str) -> bool:
    return role in TEST_CALL_ROLES
