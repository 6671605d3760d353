"""The Twilio simulator's routes under one trunk: its origination URLs and its phone numbers
(Elastic SIP Trunking v1). `TwilioSimulator` mixes them in; they use its account state."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from twilio_simulator.requests import TwilioApiError, form_bool, form_int, required_field
from twilio_simulator.resources import Account, IncomingNumber, OriginationUrl, Trunk, v1_page


class TrunkChildRoutes:
    """Handlers for /v1/Trunks/{trunk}/OriginationUrls and /v1/Trunks/{trunk}/PhoneNumbers."""

    account: Account
    origination_urls: dict[str, OriginationUrl]
    numbers: dict[str, IncomingNumber]

    def _trunk(self, request: web.Request) -> Trunk:
        raise NotImplementedError

    def _form(self, request: web.Request) -> dict[str, str]:
        raise NotImplementedError

    def _sid(self, prefix: str) -> str:
        raise NotImplementedError

    # Trunking v1: origination URLs

    def _url(self, request: web.Request) -> OriginationUrl:
        trunk = self._trunk(request)
        url = self.origination_urls.get(request.match_info["sid"])
        if url is None or url.trunk_sid != trunk.sid:
            raise web.HTTPNotFound()
        return url

    async def _list_urls(self, request: web.Request) -> web.Response:
        trunk = self._trunk(request)
        items = [u.to_json() for u in self.origination_urls.values() if u.trunk_sid == trunk.sid]
        return web.json_response(v1_page(items, "origination_urls", request.path,
                                         dict(request.query)))

    async def _create_url(self, request: web.Request) -> web.Response:
        trunk = self._trunk(request)
        form = self._form(request)
        weight = form_int(form, "Weight", 1, 65535)
        priority = form_int(form, "Priority", 0, 65535)
        enabled = form_bool(form, "Enabled")
        friendly_name = required_field(form, "FriendlyName")
        sip_url = required_field(form, "SipUrl")
        if weight is None:
            required_field(form, "Weight")
        if priority is None:
            required_field(form, "Priority")
        if enabled is None:
            required_field(form, "Enabled")
        if not sip_url.startswith("sip:"):
            raise TwilioApiError(400, 21246, "SipUrl must use the sip: scheme")
        url = OriginationUrl(sid=self._sid("OU"), account_sid=self.account.sid,
                             trunk_sid=trunk.sid, sip_url=sip_url, friendly_name=friendly_name,
                             priority=priority or 0, weight=weight or 0,
                             enabled=bool(enabled))
        self.origination_urls[url.sid] = url
        return web.json_response(url.to_json(), status=201)

    async def _fetch_url(self, request: web.Request) -> web.Response:
        return web.json_response(self._url(request).to_json())

    async def _update_url(self, request: web.Request) -> web.Response:
        url = self._url(request)
        form = self._form(request)
        weight = form_int(form, "Weight", 1, 65535)
        priority = form_int(form, "Priority", 0, 65535)
        enabled = form_bool(form, "Enabled")
        if weight is not None:
            url.weight = weight
        if priority is not None:
            url.priority = priority
        if enabled is not None:
            url.enabled = enabled
        if "FriendlyName" in form:
            url.friendly_name = form["FriendlyName"]
        if "SipUrl" in form:
            if not form["SipUrl"].startswith("sip:"):
                raise TwilioApiError(400, 21246, "SipUrl must use the sip: scheme")
            url.sip_url = form["SipUrl"]
        url.updated = datetime.now(UTC)
        return web.json_response(url.to_json())

    async def _delete_url(self, request: web.Request) -> web.Response:
        del self.origination_urls[self._url(request).sid]
        return web.Response(status=204)

    # Trunking v1: phone numbers on a trunk

    async def _list_trunk_numbers(self, request: web.Request) -> web.Response:
        trunk = self._trunk(request)
        items = [n.to_trunk_json() for n in self.numbers.values() if n.trunk_sid == trunk.sid]
        return web.json_response(v1_page(items, "phone_numbers", request.path,
                                         dict(request.query)))

    async def _associate_number(self, request: web.Request) -> web.Response:
        trunk = self._trunk(request)
        sid = required_field(self._form(request), "PhoneNumberSid")
        number = self.numbers.get(sid)
        if number is None:
            raise TwilioApiError(404, 20404,
                                 f"The requested resource {request.path} was not found")
        number.trunk_sid = trunk.sid
        number.updated = datetime.now(UTC)
        return web.json_response(number.to_trunk_json(), status=201)

    def _trunk_number(self, request: web.Request) -> IncomingNumber:
        trunk = self._trunk(request)
        number = self.numbers.get(request.match_info["sid"])
        if number is None or number.trunk_sid != trunk.sid:
            raise web.HTTPNotFound()
        return number

    async def _fetch_trunk_number(self, request: web.Request) -> web.Response:
        return web.json_response(self._trunk_number(request).to_trunk_json())

    async def _remove_number(self, request: web.Request) -> web.Response:
        number = self._trunk_number(request)
        number.trunk_sid = None
        number.updated = datetime.now(UTC)
        return web.Response(status=204)
