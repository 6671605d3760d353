"""One way to render a page: the signed-in user, their permissions and the CSRF token are in
every template's context."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from dashboard.permissions import Permission, allowed, current_user
from dashboard.services import services


def render(request: Request, template: str, context: dict[str, Any] | None = None, *,
           status_code: int = 200) -> Response:
    console = services(request)
    user = current_user(request)
    full = {
        "user": user, "csrf_token": user.csrf_token, "zone": console.zone,
        "can": {p.value: allowed(user, p) for p in Permission},
        **(context or {}),
    }
    return console.templates.TemplateResponse(request, template, full, status_code=status_code)
