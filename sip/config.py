"""Telephony settings from the environment; every key is documented in .env.example.

Secrets (the Twilio auth token, the outbound trunk password, the LiveKit API secret) are held as
`pydantic.SecretStr`, so a settings object that ends up in a log line or a traceback shows
`**********`.
Errors name the variable and never echo its value: values here are credentials or phone numbers.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlparse

import phonenumbers
from pydantic import SecretStr

DEFAULT_AGENT_NAME = "intake-agent"
DEFAULT_ROOM_PREFIX = "call-"
DEFAULT_RESOURCE_NAME = "intake"
DEFAULT_ORIGINATION_PRIORITY = 10
DEFAULT_ORIGINATION_WEIGHT = 10

OutboundTransport = Literal["auto", "udp", "tcp", "tls"]
_TRANSPORTS: tuple[OutboundTransport, ...] = ("auto", "udp", "tcp", "tls")


class SipConfigError(Exception):
    """Missing or wrong telephony configuration; the message names the variable, never its value."""


@dataclass(frozen=True)
class LiveKitCredentials:
    url: str
    api_key: str
    api_secret: SecretStr = field(repr=False)


@dataclass(frozen=True)
class TwilioCredentials:
    account_sid: str
    auth_token: SecretStr = field(repr=False)
    # Tests and the local stack point the Twilio client's HTTP layer here; unset in production.
    api_base: str | None = None


@dataclass(frozen=True)
class OutboundTrunkSettings:
    address: str
    transport: OutboundTransport
    numbers: tuple[str, ...]
    username: str | None = None
    password: SecretStr | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SipSettings:
    """What the telephony front door should look like, on both the LiveKit and Twilio sides."""

    phone_numbers: tuple[str, ...]
    agent_name: str = DEFAULT_AGENT_NAME
    room_prefix: str = DEFAULT_ROOM_PREFIX
    # Names our resources on both sides, so plan can find them again: "<name>-inbound", ...
    resource_name: str = DEFAULT_RESOURCE_NAME
    allowed_addresses: tuple[str, ...] = ()
    livekit: LiveKitCredentials | None = None
    twilio: TwilioCredentials | None = None
    livekit_sip_uri: str | None = None
    origination_priority: int = DEFAULT_ORIGINATION_PRIORITY
    origination_weight: int = DEFAULT_ORIGINATION_WEIGHT
    secure_trunking: bool = False
    outbound: OutboundTrunkSettings | None = None

    @property
    def inbound_trunk_name(self) -> str:
        return f"{self.resource_name}-inbound"

    @property
    def outbound_trunk_name(self) -> str:
        return f"{self.resource_name}-outbound"

    @property
    def dispatch_rule_name(self) -> str:
        return f"{self.resource_name}-dispatch"

    @property
    def twilio_trunk_name(self) -> str:
        return self.resource_name


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    return value or None


def _split(value: str | None) -> list[str]:
    if not value:
        return []
    return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]


def normalize_number(raw: str, variable: str, position: int) -> str:
    """E.164 form of one configured number; an error names the variable and the entry's place."""
    try:
        parsed = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_possible_number(parsed):
        raise SipConfigError(
            f"{variable}: entry {position} is not a phone number in E.164 form (+15551234567)"
        )
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def _numbers(variable: str, values: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for position, raw in enumerate(values, start=1):
        seen.setdefault(normalize_number(raw, variable, position), None)
    return tuple(seen)


def _addresses(values: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for position, raw in enumerate(values, start=1):
        try:
            if "/" in raw:
                out.append(str(ipaddress.ip_network(raw, strict=False)))
            else:
                out.append(str(ipaddress.ip_address(raw)))
        except ValueError:
            raise SipConfigError(
                f"SIP_ALLOWED_ADDRESSES: entry {position} is not an IP address or CIDR block"
            ) from None
    return tuple(dict.fromkeys(out))


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SipConfigError(f"{name} must be an integer from {low} to {high}") from None
    if not low <= value <= high:
        raise SipConfigError(f"{name} must be an integer from {low} to {high}")
    return value


def _bool(env: Mapping[str, str], name: str) -> bool:
    raw = (_get(env, name) or "false").lower()
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SipConfigError(f"{name} must be true or false")


def _sip_uri(value: str | None) -> str | None:
    if value is None:
        return None
    if not value.startswith("sip:") or len(value) <= len("sip:"):
        # Twilio origination URLs must use the sip: scheme (sips: is not accepted)
        raise SipConfigError("LIVEKIT_SIP_URI must be a sip: URI, e.g. sip:sip.example.com:5060")
    return value


def _http_url(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    parsed = urlparse(value)
    if parsed.scheme not in {"http", "https"} or not parsed.hostname:
        raise SipConfigError(f"{name} must be an http:// or https:// URL")
    return value.rstrip("/")


def load_sip_settings(env: Mapping[str, str] | None = None) -> SipSettings:
    """Read and check the telephony settings; which parts are required is up to the caller."""
    env = os.environ if env is None else env
    numbers_var = "TWILIO_PHONE_NUMBERS" if _get(env, "TWILIO_PHONE_NUMBERS") else (
        "TWILIO_PHONE_NUMBER")
    phone_numbers = _numbers(numbers_var, _split(_get(env, numbers_var)))

    livekit: LiveKitCredentials | None = None
    lk_url, lk_key, lk_secret = (_get(env, "LIVEKIT_URL"), _get(env, "LIVEKIT_API_KEY"),
                                 _get(env, "LIVEKIT_API_SECRET"))
    if lk_url or lk_key or lk_secret:
        if not lk_url:
            raise SipConfigError("LIVEKIT_URL is not set (e.g. ws://127.0.0.1:7880)")
        parsed = urlparse(lk_url)
        if parsed.scheme not in {"ws", "wss", "http", "https"} or not parsed.hostname:
            raise SipConfigError("LIVEKIT_URL is not a ws:// or wss:// URL")
        if not lk_key or not lk_secret:
            raise SipConfigError("LIVEKIT_API_KEY and LIVEKIT_API_SECRET must both be set")
        livekit = LiveKitCredentials(url=lk_url, api_key=lk_key, api_secret=SecretStr(lk_secret))

    twilio: TwilioCredentials | None = None
    sid, token = _get(env, "TWILIO_ACCOUNT_SID"), _get(env, "TWILIO_AUTH_TOKEN")
    if sid or token:
        if not sid or not token:
            raise SipConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must both be set")
        if not (sid.startswith("AC") and len(sid) == 34):
            raise SipConfigError("TWILIO_ACCOUNT_SID must look like AC followed by 32 hex digits")
        twilio = TwilioCredentials(account_sid=sid, auth_token=SecretStr(token),
                                   api_base=_http_url(_get(env, "TWILIO_API_BASE"),
                                                      "TWILIO_API_BASE"))

    outbound: OutboundTrunkSettings | None = None
    out_address = _get(env, "SIP_OUTBOUND_ADDRESS")
    if out_address:
        transport = (_get(env, "SIP_OUTBOUND_TRANSPORT") or "auto").lower()
        if transport not in _TRANSPORTS:
            raise SipConfigError("SIP_OUTBOUND_TRANSPORT must be one of auto, udp, tcp, tls")
        out_numbers_raw = _split(_get(env, "SIP_OUTBOUND_NUMBERS"))
        out_numbers = (_numbers("SIP_OUTBOUND_NUMBERS", out_numbers_raw)
                       if out_numbers_raw else phone_numbers)
        username = _get(env, "SIP_OUTBOUND_USERNAME")
        password = _get(env, "SIP_OUTBOUND_PASSWORD")
        if bool(username) != bool(password):
            raise SipConfigError(
                "SIP_OUTBOUND_USERNAME and SIP_OUTBOUND_PASSWORD must be set together")
        outbound = OutboundTrunkSettings(
            address=out_address,
            transport=transport,  # checked against _TRANSPORTS
            numbers=out_numbers,
            username=username,
            password=SecretStr(password) if password else None,
        )

    room_prefix = _get(env, "SIP_ROOM_PREFIX") or DEFAULT_ROOM_PREFIX
    return SipSettings(
        phone_numbers=phone_numbers,
        agent_name=_get(env, "INTAKE_AGENT_NAME") or DEFAULT_AGENT_NAME,
        room_prefix=room_prefix,
        resource_name=_get(env, "SIP_RESOURCE_NAME") or DEFAULT_RESOURCE_NAME,
        allowed_addresses=_addresses(_split(_get(env, "SIP_ALLOWED_ADDRESSES"))),
        livekit=livekit,
        twilio=twilio,
        livekit_sip_uri=_sip_uri(_get(env, "LIVEKIT_SIP_URI")),
        origination_priority=_int(env, "TWILIO_ORIGINATION_PRIORITY",
                                  DEFAULT_ORIGINATION_PRIORITY, 0, 65535),
        origination_weight=_int(env, "TWILIO_ORIGINATION_WEIGHT",
                                DEFAULT_ORIGINATION_WEIGHT, 1, 65535),
        secure_trunking=_bool(env, "TWILIO_SECURE_TRUNKING"),
        outbound=outbound,
    )


def require_livekit(settings: SipSettings) -> LiveKitCredentials:
    if settings.livekit is None:
        raise SipConfigError("LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET must be set")
    if not settings.phone_numbers:
        raise SipConfigError("TWILIO_PHONE_NUMBERS is not set (the numbers callers dial)")
    if not settings.allowed_addresses:
        # An inbound trunk without allowed addresses accepts INVITEs from anyone on the internet.
        raise SipConfigError(
            "SIP_ALLOWED_ADDRESSES is not set (the IPs/CIDRs your SIP provider sends calls from)")
    return settings.livekit


def require_twilio(settings: SipSettings) -> TwilioCredentials:
    if settings.twilio is None:
        raise SipConfigError("TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN must be set")
    if not settings.phone_numbers:
        raise SipConfigError("TWILIO_PHONE_NUMBERS is not set (the numbers callers dial)")
    if not settings.livekit_sip_uri:
        raise SipConfigError("LIVEKIT_SIP_URI is not set (where Twilio sends calls, "
                             "e.g. sip:sip.example.com:5060)")
    if settings.secure_trunking and "transport=tls" not in settings.livekit_sip_uri.lower():
        # Secure trunking sends TLS signalling and SRTP; a plain UDP origination URI would fail
        raise SipConfigError("TWILIO_SECURE_TRUNKING=true needs LIVEKIT_SIP_URI to end in "
                             ";transport=tls")
    return settings.twilio
