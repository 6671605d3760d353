"""`TrunkProvider` (sip.twilio_provisioning) over the official `twilio` client.

The client is built by `twilio_client`; with TWILIO_API_BASE set (tests, the local stack) only
its HTTP layer is redirected to that base URL, so the same resource code talks to the simulator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from sip.config import TwilioCredentials
from sip.plan import (
    ProvisioningError,
)
from sip.redaction import redact
from sip.twilio_provisioning import (
    OriginationUrl,
    PhoneNumber,
    TwilioTrunk,
)

T = TypeVar("T")
# the twilio library logs whole requests at INFO (numbers, credentials' account); keep it quiet
_HTTP_LOGGER = logging.getLogger("sip.twilio_http")
_HTTP_LOGGER.setLevel(logging.WARNING)


def _http_client_class() -> type[Any]:
    from twilio.http.http_client import TwilioHttpClient

    class BaseUrlHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
        """Twilio's own HTTP client with scheme and host replaced by one base URL."""

        def __init__(self, base_url: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            parts = urlsplit(base_url)
            self._scheme, self._netloc = parts.scheme, parts.netloc
            self._prefix = parts.path.rstrip("/")

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            parts = urlsplit(url)
            url = urlunsplit((self._scheme, self._netloc, self._prefix + parts.path,
                              parts.query, parts.fragment))
            return super().request(method, url, *args, **kwargs)

    return BaseUrlHttpClient


def twilio_client(credentials: TwilioCredentials, *, timeout: float = 15.0) -> Any:
    """A `twilio.rest.Client` for these credentials (redirected when `api_base` is set)."""
    from twilio.http.http_client import TwilioHttpClient
    from twilio.rest import Client

    if credentials.api_base:
        http_client = _http_client_class()(credentials.api_base, timeout=timeout,
                                           logger=_HTTP_LOGGER)
    else:
        http_client = TwilioHttpClient(timeout=timeout, logger=_HTTP_LOGGER)
    return Client(credentials.account_sid, credentials.auth_token.get_secret_value(),
                  http_client=http_client)


class TwilioTrunkProvider:
    """`TrunkProvider` over the official client; blocking calls run in a worker thread."""

    def __init__(self, credentials: TwilioCredentials, client: Any | None = None) -> None:
        self._credentials = credentials
        self._client = client if client is not None else twilio_client(credentials)

    async def _call(self, what: str, fn: Callable[[], T]) -> T:
        from requests.exceptions import RequestException
        from twilio.base.exceptions import TwilioException, TwilioRestException

        try:
            return await asyncio.to_thread(fn)
        except TwilioRestException as exc:
            if exc.status == 401:
                raise ProvisioningError(
                    "Twilio rejected the credentials (TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN)"
                ) from None
            token = self._credentials.auth_token.get_secret_value()
            raise ProvisioningError(
                f"Twilio API error during {what} (HTTP {exc.status}, code {exc.code}): "
                f"{redact(str(exc.msg), secrets=(token,))}") from None
        except (RequestException, OSError):
            where = self._credentials.api_base or "api.twilio.com"
            raise ProvisioningError(f"Twilio API unreachable at {where} during {what}") from None
        except TwilioException:
            raise ProvisioningError(f"Twilio client error during {what}") from None

    @property
    def _trunks(self) -> Any:
        return self._client.trunking.v1.trunks

    async def verify_credentials(self) -> None:
        sid = self._credentials.account_sid
        # the response carries the auth token; it is dropped here and never printed
        await self._call("credential check",
                         lambda: self._client.api.v2010.accounts(sid).fetch())

    async def list_trunks(self) -> list[TwilioTrunk]:
        items = await self._call("list SIP trunks", lambda: self._trunks.list())
        return [_trunk(item) for item in items]

    async def create_trunk(self, friendly_name: str, secure: bool) -> TwilioTrunk:
        item = await self._call("create SIP trunk", lambda: self._trunks.create(
            friendly_name=friendly_name, secure=secure))
        return _trunk(item)

    async def update_trunk(self, trunk_sid: str, secure: bool) -> TwilioTrunk:
        item = await self._call("update SIP trunk",
                                lambda: self._trunks(trunk_sid).update(secure=secure))
        return _trunk(item)

    async def delete_trunk(self, trunk_sid: str) -> None:
        await self._call("delete SIP trunk", lambda: self._trunks(trunk_sid).delete())

    async def list_origination_urls(self, trunk_sid: str) -> list[OriginationUrl]:
        items = await self._call("list origination URLs",
                                 lambda: self._trunks(trunk_sid).origination_urls.list())
        return [_origination_url(item) for item in items]

    async def create_origination_url(self, trunk_sid: str,
                                     url: OriginationUrl) -> OriginationUrl:
        item = await self._call("create origination URL",
                                lambda: self._trunks(trunk_sid).origination_urls.create(
                                    weight=url.weight, priority=url.priority,
                                    enabled=url.enabled, friendly_name=url.friendly_name,
                                    sip_url=url.sip_url))
        return _origination_url(item)

    async def update_origination_url(self, trunk_sid: str, url_sid: str,
                                     url: OriginationUrl) -> OriginationUrl:
        item = await self._call("update origination URL",
                                lambda: self._trunks(trunk_sid).origination_urls(url_sid).update(
                                    weight=url.weight, priority=url.priority,
                                    enabled=url.enabled, friendly_name=url.friendly_name,
                                    sip_url=url.sip_url))
        return _origination_url(item)

    async def delete_origination_url(self, trunk_sid: str, url_sid: str) -> None:
        await self._call("delete origination URL",
                         lambda: self._trunks(trunk_sid).origination_urls(url_sid).delete())

    async def find_phone_number(self, e164: str) -> PhoneNumber | None:
        items = await self._call(
            "phone number lookup",
            lambda: self._client.api.v2010.accounts(self._credentials.account_sid)
            .incoming_phone_numbers.list(phone_number=e164))
        matches = [_number(item) for item in items if item.phone_number == e164]
        return matches[0] if matches else None

    async def list_trunk_phone_numbers(self, trunk_sid: str) -> list[PhoneNumber]:
        items = await self._call("list trunk phone numbers",
                                 lambda: self._trunks(trunk_sid).phone_numbers.list())
        return [_number(item) for item in items]

    async def associate_phone_number(self, trunk_sid: str, number_sid: str) -> None:
        await self._call("associate phone number",
                         lambda: self._trunks(trunk_sid).phone_numbers.create(
                             phone_number_sid=number_sid))

    async def remove_phone_number(self, trunk_sid: str, number_sid: str) -> None:
        await self._call("remove phone number",
                         lambda: self._trunks(trunk_sid).phone_numbers(number_sid).delete())


def _trunk(item: Any) -> TwilioTrunk:
    return TwilioTrunk(sid=str(item.sid), friendly_name=str(item.friendly_name or ""),
                       secure=bool(item.secure))


def _origination_url(item: Any) -> OriginationUrl:
    return OriginationUrl(sid=str(item.sid), sip_url=str(item.sip_url),
                          priority=int(item.priority), weight=int(item.weight),
                          enabled=bool(item.enabled),
                          friendly_name=str(item.friendly_name or ""))


def _number(item: Any) -> PhoneNumber:
    return PhoneNumber(sid=str(item.sid), phone_number=str(item.phone_number),
                       trunk_sid=str(item.trunk_sid) if item.trunk_sid else None)
