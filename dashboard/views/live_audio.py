"""Live audio in the browser: per-action LiveKit tokens (listen, take-over, a test call), the
pages that use them, and livekit-client's browser build served from our own server.

Each POST returns one short-lived token for one room; the API secret stays in this process.
Who may mint is `supervision.roles` (asked by the minting functions): an operator gets 403 for
listen and take-over, and any signed-in user may place a test call. The guard has already
checked the session and the CSRF token before a request reaches these views.
"""

from __future__ import annotations

import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from livekit import api
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from dashboard.guard import CSP
from dashboard.permissions import current_user
from dashboard.rendering import render
from supervision import (
    LiveKitSettings,
    RoomToken,
    TokenRefusedError,
    can_supervise,
    mint_listen_token,
    mint_takeover_token,
    start_test_call,
)

logger = logging.getLogger(__name__)

# bootstrap installs livekit-client from npm into this git-ignored folder; an installed
# package (the container image) names its copy with INTAKE_WEB_VENDOR_DIR
VENDOR_DIR = Path(__file__).resolve().parents[2] / ".web-vendor"
CLIENT_DIST = Path("node_modules", "livekit-client", "dist")
LIVEKIT_UMD = "livekit-client.umd.js"
_REFUSALS = {
    "not_allowed": (403, "Your role does not allow this."),
    "bad_account": (403, "Your account name cannot be used for live audio."),
    "bad_room": (404, "No call with that id."),
}


def livekit_settings(request: Request) -> LiveKitSettings:
    """The LiveKit URL and key pair from the environment, read once per app; 503 if unset."""
    settings: LiveKitSettings | None = getattr(request.app.state, "livekit_settings", None)
    if settings is None:
        try:
            settings = LiveKitSettings.from_env()
        except ValueError:
            raise HTTPException(503, "Live audio is not configured on this console "
                                "(LIVEKIT_URL, LIVEKIT_API_KEY, LIVEKIT_API_SECRET).") from None
        request.app.state.livekit_settings = settings
    return settings


def live_media_headers(settings: LiveKitSettings) -> dict[str, str]:
    """Headers for a page that joins a LiveKit room: the console's CSP plus a connection to the
    LiveKit server (signalling socket and its HTTP checks), and the microphone for this origin.
    The guard keeps headers a view has set."""
    origins = " ".join(dict.fromkeys((settings.url.rstrip("/"), settings.http_url.rstrip("/"))))
    # one connect-src: a second one in the same policy would be ignored
    return {"content-security-policy": CSP.replace("connect-src 'self'",
                                                   f"connect-src 'self' {origins}"),
            "permissions-policy": "camera=(), microphone=(self), geolocation=()"}


def _token_json(minted: RoomToken, **extra: Any) -> JSONResponse:
    return JSONResponse({**asdict(minted), **extra})


def _refused(exc: TokenRefusedError) -> JSONResponse:
    status, message = _REFUSALS.get(exc.reason, (403, "Refused."))
    return JSONResponse({"error": exc.reason, "message": message}, status_code=status)


async def _room_is_live(settings: LiveKitSettings, room: str) -> bool:
    async with api.LiveKitAPI(settings.http_url, settings.api_key,
                              settings.api_secret.get_secret_value()) as lkapi:
        listed = await lkapi.room.list_rooms(api.ListRoomsRequest(names=[room]))
    return bool(listed.rooms)


async def _call_token(request: Request, action: str) -> Response:
    user = current_user(request)
    settings = livekit_settings(request)
    call_id = request.path_params["call_id"]
    mint = mint_listen_token if action == "listen" else mint_takeover_token
    try:
        minted = mint(settings, room=f"call-{call_id}", account=user.name, role=user.role)
    except TokenRefusedError as exc:
        return _refused(exc)
    # no token for a room that is gone: joining would create an empty room of that name
    if not await _room_is_live(settings, minted.room):
        return JSONResponse({"error": "call_ended", "message": "This call has ended."},
                            status_code=409)
    logger.info("live audio token minted", extra={"call_id": call_id, "action": action,
                                                  "user": user.name, "ttl_s": minted.ttl_s})
    return _token_json(minted, call_id=call_id)


async def listen_token(request: Request) -> Response:
    return await _call_token(request, "listen")


async def take_over_token(request: Request) -> Response:
    return await _call_token(request, "take_over")


async def test_call_start(request: Request) -> Response:
    user = current_user(request)
    settings = livekit_settings(request)
    try:
        started = await start_test_call(settings, account=user.name, role=user.role)
    except TokenRefusedError as exc:
        return _refused(exc)
    logger.info("test call started", extra={"call_id": started.call_id, "user": user.name})
    return _token_json(started.room, call_id=started.call_id)


async def test_call_page(request: Request) -> Response:
    current_user(request)
    settings = livekit_settings(request)
    response = render(request, "test_call.html", {"page_title": "Test call"})
    response.headers.update(live_media_headers(settings))
    return response


async def live_audio_page(request: Request) -> Response:
    """The listen and take-over controls of one call on a page of their own."""
    user = current_user(request)
    if not can_supervise(user.role):
        raise HTTPException(403, "Your role does not allow this.")
    settings = livekit_settings(request)
    call_id = request.path_params["call_id"]
    call = {"call_id": call_id, "room": f"call-{call_id}"}
    response = render(request, "live_audio.html", {"page_title": "Live audio", "call": call})
    response.headers.update(live_media_headers(settings))
    return response


async def livekit_client_js(request: Request) -> Response:
    vendor = Path(os.environ.get("INTAKE_WEB_VENDOR_DIR") or VENDOR_DIR)
    path = vendor / CLIENT_DIST / LIVEKIT_UMD
    if not path.is_file():
        logger.error("livekit-client is not installed; run scripts/bootstrap")
        raise HTTPException(503, "livekit-client is not installed; run scripts/bootstrap.")
    return FileResponse(path, media_type="text/javascript",
                        headers={"cache-control": "public, max-age=3600"})


routes = [
    Route("/live/{call_id}/audio", live_audio_page, methods=["GET"], name="live_audio"),
    Route("/live/{call_id}/audio/listen", listen_token, methods=["POST"],
          name="live_audio_listen"),
    Route("/live/{call_id}/audio/take-over", take_over_token, methods=["POST"],
          name="live_audio_take_over"),
    Route("/test-call", test_call_page, methods=["GET"], name="test_call"),
    Route("/test-call/start", test_call_start, methods=["POST"], name="test_call_start"),
    Route(f"/static/vendor/{LIVEKIT_UMD}", livekit_client_js, methods=["GET"],
          name="livekit_client_js"),
]
