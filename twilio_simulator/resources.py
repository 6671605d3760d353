"""Twilio's REST wire format for the resources the simulator serves: JSON bodies and list pages.

Shapes follow Twilio's published API reference: Trunking v1 resources use ISO 8601 dates, absolute
`url`s and a `meta` paging block; the 2010-04-01 API uses RFC 2822 dates, relative `uri`s and
top-level paging keys. Absolute URLs name the real hosts (trunking.twilio.com, api.twilio.com):
the client under test follows them through the same redirected HTTP layer as every other request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

TRUNKING_BASE = "https://trunking.twilio.com"
API_BASE = "https://api.twilio.com"
API_VERSION = "2010-04-01"


def iso(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822(ts: datetime) -> str:
    return format_datetime(ts.astimezone(UTC))


@dataclass
class Account:
    sid: str
    auth_token: str
    friendly_name: str = "Simulated account"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{self.sid}"
        return {
            # Twilio returns the token in this response; the simulator does too, so tests can
            # show our code never prints it
            "auth_token": self.auth_token,
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.created),
            "friendly_name": self.friendly_name,
            "owner_account_sid": self.sid,
            "sid": self.sid,
            "status": "active",
            "subresource_uris": {
                "incoming_phone_numbers": f"{uri}/IncomingPhoneNumbers.json",
                "calls": f"{uri}/Calls.json",
            },
            "type": "Full",
            "uri": f"{uri}.json",
        }


@dataclass
class IncomingNumber:
    sid: str
    account_sid: str
    phone_number: str
    trunk_sid: str | None = None
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def uri(self) -> str:
        return f"/{API_VERSION}/Accounts/{self.account_sid}/IncomingPhoneNumbers/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "address_sid": None,
            "api_version": API_VERSION,
            "beta": False,
            "bundle_sid": None,
            "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
            "date_created": rfc2822(self.created),
            "date_updated": rfc2822(self.updated),
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": self.phone_number,
            "identity_sid": None,
            "origin": "twilio",
            "phone_number": self.phone_number,
            "sid": self.sid,
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "",
            "status": "in-use",
            "status_callback": "",
            "status_callback_method": "POST",
            "subresource_uris": {
                "assigned_add_ons": self.uri.removesuffix(".json") + "/AssignedAddOns.json",
            },
            "trunk_sid": self.trunk_sid,
            "uri": self.uri,
            "voice_application_sid": None,
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": None,
            "voice_method": "POST",
            "voice_receive_mode": "voice",
            "voice_url": None,
            "type": "local",
        }

    def to_trunk_json(self) -> dict[str, Any]:
        """The same number as a Trunking v1 PhoneNumber resource under its trunk."""
        body = self.to_json()
        for key in ("subresource_uris", "uri", "emergency_status", "emergency_address_status",
                    "origin", "status", "type", "bundle_sid", "identity_sid",
                    "voice_receive_mode"):
            body.pop(key, None)
        body["date_created"] = iso(self.created)
        body["date_updated"] = iso(self.updated)
        body["links"] = {"phone_number": f"{API_BASE}{self.uri}"}
        body["url"] = f"{TRUNKING_BASE}/v1/Trunks/{self.trunk_sid}/PhoneNumbers/{self.sid}"
        return body


@dataclass
class Trunk:
    sid: str
    account_sid: str
    friendly_name: str | None
    secure: bool = False
    domain_name: str | None = None
    disaster_recovery_url: str | None = None
    disaster_recovery_method: str | None = None
    transfer_mode: str = "disable-all"
    transfer_caller_id: str = "from-transferee"
    cnam_lookup_enabled: bool = False
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def url(self) -> str:
        return f"{TRUNKING_BASE}/v1/Trunks/{self.sid}"

    def to_json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "auth_type": "",
            "auth_type_set": [],
            "cnam_lookup_enabled": self.cnam_lookup_enabled,
            "date_created": iso(self.created),
            "date_updated": iso(self.updated),
            "disaster_recovery_method": self.disaster_recovery_method,
            "disaster_recovery_url": self.disaster_recovery_url,
            "domain_name": self.domain_name,
            "friendly_name": self.friendly_name,
            "links": {
                "origination_urls": f"{self.url}/OriginationUrls",
                "credential_lists": f"{self.url}/CredentialLists",
                "ip_access_control_lists": f"{self.url}/IpAccessControlLists",
                "phone_numbers": f"{self.url}/PhoneNumbers",
                "recording": f"{self.url}/Recording",
            },
            "recording": {"mode": "do-not-record", "trim": "do-not-trim"},
            "secure": self.secure,
            "sid": self.sid,
            "symmetric_rtp_enabled": False,
            "transfer_caller_id": self.transfer_caller_id,
            "transfer_mode": self.transfer_mode,
            "url": self.url,
        }


@dataclass
class OriginationUrl:
    sid: str
    account_sid: str
    trunk_sid: str
    sip_url: str
    friendly_name: str
    priority: int
    weight: int
    enabled: bool
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_json(self) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "date_created": iso(self.created),
            "date_updated": iso(self.updated),
            "enabled": self.enabled,
            "friendly_name": self.friendly_name,
            "priority": self.priority,
            "sid": self.sid,
            "sip_url": self.sip_url,
            "trunk_sid": self.trunk_sid,
            "url": f"{TRUNKING_BASE}/v1/Trunks/{self.trunk_sid}/OriginationUrls/{self.sid}",
            "weight": self.weight,
        }


def _page_params(query: dict[str, str]) -> tuple[int, int]:
    try:
        size = int(query.get("PageSize", "50"))
        page = int(query.get("Page", "0"))
    except ValueError:
        size, page = 50, 0
    return max(1, min(size, 1000)), max(0, page)


def v1_page(items: list[dict[str, Any]], key: str, path: str,
            query: dict[str, str]) -> dict[str, Any]:
    """A Trunking v1 list page: the items under `key` and a `meta` block with absolute URLs."""
    size, page = _page_params(query)
    chunk = items[page * size:(page + 1) * size]
    extra = {k: v for k, v in query.items() if k not in ("PageSize", "Page", "PageToken")}

    def url(number: int) -> str:
        params = {**extra, "PageSize": str(size), "Page": str(number)}
        if number > 0:
            params["PageToken"] = f"PA{number:032x}"
        return f"{TRUNKING_BASE}{path}?{urlencode(params)}"

    has_next = (page + 1) * size < len(items)
    return {
        key: chunk,
        "meta": {
            "first_page_url": url(0),
            "key": key,
            "next_page_url": url(page + 1) if has_next else None,
            "page": page,
            "page_size": size,
            "previous_page_url": url(page - 1) if page > 0 else None,
            "url": url(page),
        },
    }


def v2010_page(items: list[dict[str, Any]], key: str, path: str,
               query: dict[str, str]) -> dict[str, Any]:
    """A 2010-04-01 list page: items under `key`, paging keys at the top with relative URIs."""
    size, page = _page_params(query)
    chunk = items[page * size:(page + 1) * size]
    extra = {k: v for k, v in query.items() if k not in ("PageSize", "Page", "PageToken")}

    def uri(number: int) -> str:
        params = {**extra, "PageSize": str(size), "Page": str(number)}
        if number > 0:
            params["PageToken"] = f"PA{number:032x}"
        return f"{path}?{urlencode(params)}"

    has_next = (page + 1) * size < len(items)
    start = page * size
    return {
        key: chunk,
        "end": max(start, start + len(chunk) - 1),
        "first_page_uri": uri(0),
        "next_page_uri": uri(page + 1) if has_next else None,
        "page": page,
        "page_size": size,
        "previous_page_uri": uri(page - 1) if page > 0 else None,
        "start": start,
        "uri": uri(page),
    }


def error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
