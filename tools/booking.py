"""Booking backends: the business's calendar as the agent sees it.

A booking counts only when the backend says `confirmed` with a reference. Every failure
(timeout, HTTP error, malformed answer) is an unconfirmed result, never an exception, so the
agent speaks a fallback ("someone will call you to set a time") and never claims a booking
the backend did not confirm.

With no calendar to ask (`CallbackRequestBackend`), every booking becomes a callback request:
the result is `requested`, the request lands in the call's outcome, and a person confirms it.
`LocalBookingBackend` confirms everything and is for development, the demo and tests only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

import aiohttp

logger = logging.getLogger(__name__)

TimeWindow = Literal["morning", "afternoon", "evening", "any"]
# What an HTTP backend gets to answer in; a caller is waiting on the line.
HTTP_BUDGET_SECONDS = 0.4
_REFERENCE_RE = re.compile(r"^[A-Za-z0-9-]{1,40}$")


@dataclass(frozen=True)
class AppointmentRequest:
    call_id: str
    date: str  # ISO date, in the business's time zone
    time_window: TimeWindow
    name: str
    phone: str  # E.164
    problem: str | None = None
    location: str | None = None


@dataclass(frozen=True)
class CallbackRequest:
    call_id: str
    time_window: TimeWindow
    name: str
    phone: str  # E.164
    topic: str | None = None


@dataclass(frozen=True)
class BookingResult:
    confirmed: bool
    reference: str | None = None
    failure: str | None = None  # for logs: "timeout", "http_503", "rejected", ...
    # taken down for a person to act on: nothing is confirmed, there is no reference
    requested: bool = False

    @classmethod
    def unconfirmed(cls, failure: str) -> BookingResult:
        return cls(confirmed=False, reference=None, failure=failure)

    @classmethod
    def request_taken(cls) -> BookingResult:
        return cls(confirmed=False, reference=None, failure="callback_only", requested=True)


class BookingBackend(Protocol):
    async def book_appointment(self, request: AppointmentRequest) -> BookingResult: ...

    async def request_callback(self, request: CallbackRequest) -> BookingResult: ...


class HttpBookingBackend:
    """`POST {base}/appointments` and `POST {base}/callbacks`, JSON in and out.

    The answer must be 2xx with `{"confirmed": true, "reference": "..."}`; anything else, or
    no answer within the budget, is unconfirmed. Each request carries an `Idempotency-Key`
    (call id, kind, and for appointments the date and window) so a retried request cannot
    double-book.
    """

    def __init__(self, base_url: str, *, session: aiohttp.ClientSession | None = None,
                 budget_seconds: float = HTTP_BUDGET_SECONDS, api_key: str | None = None) -> None:
        self._base = base_url.rstrip("/")
        self._session = session
        self._owns_session = session is None
        self._budget = budget_seconds
        self._api_key = api_key

    async def book_appointment(self, request: AppointmentRequest) -> BookingResult:
        key = f"{request.call_id}:appointment:{request.date}:{request.time_window}"
        return await self._post("/appointments", asdict(request), key)

    async def request_callback(self, request: CallbackRequest) -> BookingResult:
        return await self._post("/callbacks", asdict(request), f"{request.call_id}:callback")

    async def aclose(self) -> None:
        if self._session is not None and self._owns_session:
            await self._session.close()
        self._session = None

    async def _post(self, path: str, body: dict[str, Any], idempotency_key: str) -> BookingResult:
        headers = {"Idempotency-Key": idempotency_key}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self._budget), self._session.post(
                self._base + path, json=body, headers=headers,
                timeout=aiohttp.ClientTimeout(total=self._budget),
            ) as response:
                if response.status // 100 != 2:
                    logger.warning("booking backend refused", extra={"status": response.status,
                                                                     "path": path})
                    return BookingResult.unconfirmed(f"http_{response.status}")
                data = await response.json(content_type=None)
        except TimeoutError:
            logger.warning("booking backend timed out", extra={"path": path})
            return BookingResult.unconfirmed("timeout")
        except (aiohttp.ClientError, ValueError) as exc:
            logger.warning("booking backend failed", extra={"path": path,
                                                            "error": type(exc).__name__})
            return BookingResult.unconfirmed("error")
        return _parse_result(data)


def _parse_result(data: Any) -> BookingResult:
    if not isinstance(data, dict) or data.get("confirmed") is not True:
        return BookingResult.unconfirmed("rejected")
    reference = data.get("reference")
    if not isinstance(reference, str) or not _REFERENCE_RE.match(reference):
        # a confirmation the caller can't be told a reference for is not one we rely on
        return BookingResult.unconfirmed("bad_reference")
    return BookingResult(confirmed=True, reference=reference)


class LocalBookingBackend:
    """In memory, for the demo and tests: confirms everything unless told `available=False`."""

    def __init__(self, *, available: bool = True, prefix: str = "LOCAL") -> None:
        self.available = available
        self._prefix = prefix
        self._counter = itertools.count(1)
        self.appointments: dict[str, AppointmentRequest] = {}
        self.callbacks: dict[str, CallbackRequest] = {}

    async def book_appointment(self, request: AppointmentRequest) -> BookingResult:
        if not self.available:
            return BookingResult.unconfirmed("unavailable")
        reference = f"{self._prefix}-{next(self._counter):04d}"
        self.appointments[reference] = request
        return BookingResult(confirmed=True, reference=reference)

    async def request_callback(self, request: CallbackRequest) -> BookingResult:
        if not self.available:
            return BookingResult.unconfirmed("unavailable")
        reference = f"{self._prefix}-{next(self._counter):04d}"
        self.callbacks[reference] = request
        return BookingResult(confirmed=True, reference=reference)


class CallbackRequestBackend:
    """No calendar to ask: appointments and callbacks are requests a person confirms later.

    Nothing here is ever `confirmed`; the tools record the request in the call's outcome and
    tell the caller a person will call to confirm. What production uses when the playbook says
    `booking: callback_only`; with a business API configured, callbacks still go to it.
    """

    def __init__(self, callbacks_to: BookingBackend | None = None) -> None:
        self._callbacks_to = callbacks_to

    async def book_appointment(self, request: AppointmentRequest) -> BookingResult:
        return BookingResult.request_taken()

    async def request_callback(self, request: CallbackRequest) -> BookingResult:
        if self._callbacks_to is not None:
            result = await self._callbacks_to.request_callback(request)
            if result.confirmed:
                return result
        return BookingResult.request_taken()
