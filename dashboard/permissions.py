"""Who may do what: the one table every view asks (`require`), never a role test in a view.

Supervising (`SUPERVISE_CALLS`) goes to the roles `supervision.can_supervise` names, the rule
the token minting asks too (a unit test keeps the two in step).
"""

from __future__ import annotations

from enum import StrEnum

from starlette.exceptions import HTTPException
from starlette.requests import Request

from dashboard.auth import CurrentUser


class Permission(StrEnum):
    VIEW_CALLS = "view_calls"
    EDIT_OUTCOME = "edit_outcome"
    APPROVE_OUTCOME = "approve_outcome"
    REOPEN_OUTCOME = "reopen_outcome"
    VIEW_OVERVIEW = "view_overview"
    EXPORT = "export"
    # the live board, a live call's page and its commands (supervision.can_supervise)
    SUPERVISE_CALLS = "supervise_calls"


_OPERATOR = frozenset({Permission.VIEW_CALLS, Permission.EDIT_OUTCOME,
                       Permission.APPROVE_OUTCOME, Permission.EXPORT})
GRANTS: dict[str, frozenset[Permission]] = {
    "operator": _OPERATOR,
    "supervisor": _OPERATOR | {Permission.VIEW_OVERVIEW, Permission.SUPERVISE_CALLS},
    "admin": frozenset(Permission),
}


def allowed(user: CurrentUser | None, permission: Permission) -> bool:
    return user is not None and permission in GRANTS.get(user.role, frozenset())


def current_user(request: Request) -> CurrentUser:
    """The signed-in user; the guard middleware lets no request without one reach a view."""
    user = request.scope.get("console_user")
    if not isinstance(user, CurrentUser):
        raise HTTPException(401)
    return user


def require(request: Request, permission: Permission) -> CurrentUser:
    """The signed-in user if their role grants `permission`; else 403."""
    user = current_user(request)
    if not allowed(user, permission):
        raise HTTPException(403, "Your role does not allow this.")
    return user
