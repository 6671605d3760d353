"""One call: transcript, missing-fields panel, outcome, recording player; edit, approve,
reopen (adding it to the eval bank is views/eval_case.py)."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

import dashboard.review_core as review_core
from dashboard.guard import CSP
from dashboard.permissions import Permission, require
from dashboard.rendering import render
from dashboard.services import services
from dashboard.views.eval_bank import case_exists, case_name
from dashboard.views.recording_audio import player_for
from state.review import OutcomeNotFoundError

logger = logging.getLogger(__name__)


async def load_page(request: Request) -> review_core.CallPage:
    console = services(request)
    call_id = request.path_params["call_id"]
    page = await review_core.load_call_page(console.store, console.playbooks, call_id)
    if page is None:
        raise HTTPException(404, "No call with that id.")
    return page


def show_page(request: Request, page: review_core.CallPage, *, status_code: int = 200,
              alert: str | None = None) -> Response:
    call_id = page.record["call"]["call_id"]
    response = render(request, "call.html", {
        "page": page, "call": page.record["call"], "outcome": page.outcome,
        "notice": request.query_params.get("notice"), "page_title": "Call",
        "player": player_for(page.record), "alert": alert,
        "eval_case": case_name(call_id) if case_exists(call_id) else None},
        status_code=status_code)
    # the guard's policy plus same-origin media, for the recording player
    response.headers["content-security-policy"] = f"{CSP}; media-src 'self'"
    return response


def _version(form_value: object) -> int:
    try:
        return int(str(form_value))
    except ValueError:
        raise HTTPException(400, "The form is missing its version.") from None


def _back(request: Request, notice: str) -> Response:
    return RedirectResponse(f"/calls/{request.path_params['call_id']}?notice={notice}",
                            status_code=303)


async def call_page(request: Request) -> Response:
    require(request, Permission.VIEW_CALLS)
    return show_page(request, await load_page(request))


async def edit(request: Request) -> Response:
    user = require(request, Permission.EDIT_OUTCOME)
    page = await load_page(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        changed = await review_core.save_edit(services(request).store, page, form, by=user.name,
                                              version=_version(form.get("version")))
    except review_core.SaveRefused as exc:
        page.form_values = form
        page.errors = exc.errors
        page.conflict = exc.conflict
        return show_page(request, page, status_code=409 if exc.conflict else 422)
    if changed:
        logger.info("console: outcome edited", extra={"call_id": page.record["call"]["call_id"],
                                                      "user": user.name})
    return _back(request, "saved" if changed else "unchanged")


async def approve(request: Request) -> Response:
    user = require(request, Permission.APPROVE_OUTCOME)
    page = await load_page(request)
    form = await request.form()
    try:
        await review_core.approve(services(request).store, page.record["call"]["call_id"],
                                  by=user.name, version=_version(form.get("version")))
    except review_core.SaveRefused:
        page.conflict = True
        return show_page(request, page, status_code=409)
    except OutcomeNotFoundError:
        raise HTTPException(409, "This call has no outcome to approve yet.") from None
    return _back(request, "approved")


async def reopen(request: Request) -> Response:
    user = require(request, Permission.REOPEN_OUTCOME)
    page = await load_page(request)
    try:
        await review_core.reopen(services(request).store, page.record["call"]["call_id"],
                                 by=user.name)
    except OutcomeNotFoundError:
        raise HTTPException(409, "This call has no outcome.") from None
    return _back(request, "reopened")


routes = [
    Route("/calls/{call_id}", call_page, methods=["GET"], name="call"),
    Route("/calls/{call_id}/edit", edit, methods=["POST"], name="call_edit"),
    Route("/calls/{call_id}/approve", approve, methods=["POST"], name="call_approve"),
    Route("/calls/{call_id}/reopen", reopen, methods=["POST"], name="call_reopen"),
]
