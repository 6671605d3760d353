"""Scrub provider error text before it reaches an operator's terminal or a log line.

Provider errors echo request URLs and bodies, which carry phone numbers (and, for a few Twilio
resources, credentials). We keep the useful part of the message and mask those.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

# E.164 and most national formats: 7+ digits, optionally led by + and split by spaces/dashes/dots,
# also URL-encoded ("%2B1555...").
_NUMBER = re.compile(r"(?<![A-Za-z0-9])(?:\+|%2B)?\d(?:[\s.\-()]?\d){6,}(?![A-Za-z0-9])",
                     re.IGNORECASE)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# scheme://user:password@host...: the userinfo part
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
_AUTH = re.compile(r"(?i)(password|auth_?token|secret)([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,}]+")


def redact(text: str, *, secrets: tuple[str, ...] = ()) -> str:
    """`text` with phone-number-like runs, `key=value` credentials, URL userinfo and `secrets`
    masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    text = strip_url_credentials(text)
    text = _AUTH.sub(lambda m: f"{m.group(1)}{m.group(2)}[secret]", text)
    return _NUMBER.sub(_mask_number, text)


def _mask_number(match: re.Match[str]) -> str:
    # API versions and dates in paths ("2010-04-01") are not phone numbers
    return match.group(0) if _DATE.fullmatch(match.group(0)) else "[number]"


def url_for_display(url: str) -> str:
    """`url` without user name and password (`wss://user:pw@host` -> `wss://host`) and without
    its query (tokens travel there); safe to print or log."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return strip_url_credentials(url.split("?", 1)[0])
    if ":" in host:
        host = f"[{host}]"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def strip_url_credentials(text: str) -> str:
    """Every `scheme://userinfo@` in `text` without its userinfo."""
    return _URL_USERINFO.sub(lambda m: m.group(1), text)
