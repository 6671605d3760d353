"""What the Twilio simulator records of each request, and how it reads Twilio's form fields
(with Twilio's error codes for a bad value)."""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    form: tuple[tuple[str, str], ...]
    authorized: bool

    @property
    def form_dict(self) -> dict[str, str]:
        return dict(self.form)

    @property
    def query_dict(self) -> dict[str, str]:
        return dict(self.query)

    def brief(self) -> tuple[str, str, dict[str, str]]:
        """(method, path, form): the shape most assertions compare against."""
        return (self.method, self.path, self.form_dict)


@dataclass
class InjectedFailure:
    method: str
    pattern: re.Pattern[str]
    status: int
    code: int
    message: str
    remaining: int


class TwilioApiError(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def form_bool(form: dict[str, str], name: str, default: bool | None = None) -> bool | None:
    if name not in form:
        return default
    value = form[name].strip().lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise TwilioApiError(400, 20001, f"Invalid value for {name}")


def form_int(form: dict[str, str], name: str, low: int, high: int) -> int | None:
    if name not in form:
        return None
    try:
        value = int(form[name])
    except ValueError:
        raise TwilioApiError(400, 20001, f"Invalid value for {name}") from None
    if not low <= value <= high:
        raise TwilioApiError(400, 20001, f"{name} must be between {low} and {high}")
    return value


def required_field(form: dict[str, str], name: str) -> str:
    if name not in form or form[name] == "":
        raise TwilioApiError(400, 20001, f"Missing required parameter {name} in the post body")
    return form[name]
