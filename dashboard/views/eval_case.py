""""Add to eval bank" on an approved call: what `intake eval add-call CALL_ID BANK` does,
into the bank of `eval_bank.eval_bank_dir()`."""

from __future__ import annotations

import asyncio
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from dashboard.permissions import Permission, require
from dashboard.services import services
from dashboard.views.call_page import load_page, show_page
from dashboard.views.eval_bank import case_exists, case_name, eval_bank_dir
from dashboard.views.recording_audio import player_for, recordings
from evals.add_call import AddCallError, add_call
from recording.store import RecordingStoreError

logger = logging.getLogger(__name__)

NO_RECORDING = "This call has no recording, so it cannot become an eval case."
NOT_APPROVED = "Approve the call first: only an approved call becomes an eval case."


async def add_to_eval_bank(request: Request) -> Response:
    user = require(request, Permission.APPROVE_OUTCOME)
    page = await load_page(request)
    call_id = str(page.record["call"]["call_id"])
    name = case_name(call_id)
    bank = eval_bank_dir()
    if not await asyncio.to_thread(bank.is_dir):
        raise HTTPException(503, "The eval bank folder (INTAKE_EVAL_BANK) is not there.")
    refusal = None
    if not page.outcome or page.outcome.get("approval_status") != "approved":
        refusal = NOT_APPROVED
    elif not player_for(page.record).parts:
        refusal = NO_RECORDING
    elif await asyncio.to_thread(case_exists, call_id):
        refusal = f"This call is in the eval bank already, as the case {name}."
    if refusal is None:
        try:
            await add_call(services(request).store, recordings(request), call_id, bank,
                           name=name)
        except AddCallError as exc:
            refusal = f"Not added to the eval bank: {_reason(exc, call_id)}"
        except RecordingStoreError:
            logger.warning("console: recording not readable for an eval case",
                           extra={"call_id": call_id})
            refusal = "Not added: the call's recording cannot be read right now."
    if refusal is not None:
        return show_page(request, page, status_code=409, alert=refusal)
    logger.info("console: eval case added", extra={"call_id": call_id, "user": user.name,
                                                   "case": name})
    return RedirectResponse(f"/calls/{call_id}?notice=eval_added", status_code=303)


def _reason(exc: AddCallError, call_id: str) -> str:
    """add_call's message without the server's paths."""
    text = str(exc)
    if "exists already" in text:
        return "the case exists already."
    return text.replace(f"call {call_id} ", "the call ")


routes = [
    Route("/calls/{call_id}/eval-case", add_to_eval_bank, methods=["POST"],
          name="call_eval_case"),
]
