"""Sign-in and sign-out. Wrong name, wrong password and disabled account read the same."""

from __future__ import annotations

import logging
import secrets

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from dashboard.auth import GENERIC_LOGIN_ERROR, LOGIN_CSRF_COOKIE, SESSION_COOKIE
from dashboard.services import services

logger = logging.getLogger(__name__)


def _secure(request: Request) -> bool:
    return services(request).settings.secure_cookies or request.url.scheme == "https"


def _safe_next(target: str | None) -> str:
    """Only a local path: never an absolute or scheme-relative URL (open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/calls"
    return target


def _login_page(request: Request, *, error: str | None = None, name: str = "",
                status_code: int = 200) -> Response:
    console = services(request)
    if request.scope.get("console_user") is not None and error is None:
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)
    token = secrets.token_urlsafe(32)
    response = console.templates.TemplateResponse(
        request, "login.html", {"csrf_token": token, "error": error, "name": name,
                                "next": _safe_next(request.query_params.get("next")),
                                "user": None}, status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, max_age=3600, httponly=True,
                        samesite="strict", secure=_secure(request), path="/login")
    return response


async def login_form(request: Request) -> Response:
    return _login_page(request)


async def login(request: Request) -> Response:
    console = services(request)
    form = await request.form()
    name = str(form.get("name", "")).strip().lower()[:64]
    password = str(form.get("password", ""))[:1024]
    address = request.client.host if request.client else "unknown"
    wait = console.throttle.retry_after(name, address)
    if wait > 0:
        logger.warning("console sign-in throttled", extra={"client": address})
        minutes = max(1, round(wait / 60))
        return _login_page(request, name=name, status_code=429,
                           error=f"Too many attempts. Try again in {minutes} minute"
                                 f"{'s' if minutes != 1 else ''}.")
    token = await console.sessions.sign_in(name, password)
    if token is None:
        console.throttle.failed(name, address)
        logger.info("console sign-in refused", extra={"client": address})
        return _login_page(request, error=GENERIC_LOGIN_ERROR, name=name, status_code=401)
    console.throttle.succeeded(name)
    logger.info("console sign-in", extra={"user": name})
    response = RedirectResponse(_safe_next(str(form.get("next", ""))), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(console.settings.session_hours * 3600),
                        httponly=True, samesite="strict", secure=_secure(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


async def logout(request: Request) -> Response:
    await services(request).sessions.sign_out(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def home(request: Request) -> Response:
    return RedirectResponse("/calls", status_code=303)


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


routes = [
    Route("/", home, name="home"),
    Route("/healthz", healthz, name="healthz"),
    Route("/login", login_form, methods=["GET"], name="login"),
    Route("/login", login, methods=["POST"], name="login_submit"),
    Route("/logout", logout, methods=["POST"], name="logout"),
]
