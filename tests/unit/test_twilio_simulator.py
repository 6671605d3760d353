"""The Twilio simulator's wire format: auth, form bodies, JSON bodies and paging, byte for byte
where Twilio documents them; and the official client reading those bodies back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest

from twilio_simulator import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, TwilioSimulator

pytestmark = pytest.mark.unit

AUTH = {"Authorization": "Basic " + base64.b64encode(
    f"{DEFAULT_ACCOUNT_SID}:{DEFAULT_AUTH_TOKEN}".encode()).decode()}


@pytest.fixture
async def sim() -> AsyncIterator[TwilioSimulator]:
    simulator = TwilioSimulator()
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def test_unauthenticated_requests_get_twilios_401(sim: TwilioSimulator) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{sim.base_url}/v1/Trunks",
                        headers={"Authorization": "Basic " + base64.b64encode(
                            f"{DEFAULT_ACCOUNT_SID}:wrong".encode()).decode()}) as response:
        assert response.status == 401
        assert response.headers["WWW-Authenticate"] == 'Basic realm="Twilio API"'
        assert await response.json() == {
            "code": 20003, "message": "Authenticate",
            "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}
    assert sim.requests[0].authorized is False


async def test_create_and_list_trunks_wire_format(sim: TwilioSimulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sim.base_url}/v1/Trunks", headers=AUTH,
                             data={"FriendlyName": "intake", "Secure": "true"}) as response:
            assert response.status == 201
            created = await response.json()
        async with http.get(f"{sim.base_url}/v1/Trunks?PageSize=1", headers=AUTH) as response:
            page = await response.json()
    sid = created["sid"]
    assert sid == "TK" + f"{1:032x}"
    assert created["friendly_name"] == "intake" and created["secure"] is True
    assert created["url"] == f"https://trunking.twilio.com/v1/Trunks/{sid}"
    assert created["links"]["origination_urls"] == (
        f"https://trunking.twilio.com/v1/Trunks/{sid}/OriginationUrls")
    assert created["date_created"].endswith("Z")
    assert page["trunks"] == [created]
    assert page["meta"] == {
        "first_page_url": "https://trunking.twilio.com/v1/Trunks?PageSize=1&Page=0",
        "key": "trunks", "next_page_url": None, "page": 0, "page_size": 1,
        "previous_page_url": None,
        "url": "https://trunking.twilio.com/v1/Trunks?PageSize=1&Page=0"}
    assert sim.requests[0].brief() == (
        "POST", "/v1/Trunks", {"FriendlyName": "intake", "Secure": "true"})


async def test_validation_and_not_found_errors(sim: TwilioSimulator) -> None:
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{sim.base_url}/v1/Trunks", headers=AUTH, data={}) as response:
            sid = (await response.json())["sid"]
        async with http.post(f"{sim.base_url}/v1/Trunks/{sid}/OriginationUrls", headers=AUTH,
                             data={"Weight": "1", "Priority": "1", "Enabled": "true",
                                   "FriendlyName": "x"}) as response:
            assert response.status == 400
            assert (await response.json())["message"] == (
                "Missing required parameter SipUrl in the post body")
        async with http.get(f"{sim.base_url}/v1/Trunks/TK404", headers=AUTH) as response:
            assert response.status == 404
            assert await response.json() == {
                "code": 20404,
                "message": "The requested resource /v1/Trunks/TK404 was not found",
                "more_info": "https://www.twilio.com/docs/errors/20404", "status": 404}


async def test_number_lookup_uses_2010_paging(sim: TwilioSimulator) -> None:
    pn = sim.add_phone_number("+15550100001")
    sim.add_phone_number("+15550100002")
    path = f"/2010-04-01/Accounts/{DEFAULT_ACCOUNT_SID}/IncomingPhoneNumbers.json"
    async with aiohttp.ClientSession() as http, http.get(f"{sim.base_url}{path}", headers=AUTH,
                        params={"PhoneNumber": "+15550100001"}) as response:
        body = await response.json()
    assert [n["sid"] for n in body["incoming_phone_numbers"]] == [pn]
    assert body["incoming_phone_numbers"][0]["trunk_sid"] is None
    assert {k: body[k] for k in ("page", "page_size", "start", "end", "next_page_uri")} == {
        "page": 0, "page_size": 50, "start": 0, "end": 0, "next_page_uri": None}
    assert body["uri"] == f"{path}?PhoneNumber=%2B15550100001&PageSize=50&Page=0"


def test_official_client_follows_pages_through_the_redirected_http_layer() -> None:
    from pydantic import SecretStr

    from sip.config import TwilioCredentials
    from sip.twilio_trunk_api import twilio_client

    sim = TwilioSimulator()
    with sim.running() as base_url:
        client = twilio_client(TwilioCredentials(DEFAULT_ACCOUNT_SID,
                                                 SecretStr(DEFAULT_AUTH_TOKEN), base_url))
        for index in range(5):
            client.trunking.v1.trunks.create(friendly_name=f"t{index}")
        names = [t.friendly_name for t in client.trunking.v1.trunks.list(page_size=2)]
        account = client.api.v2010.accounts(DEFAULT_ACCOUNT_SID).fetch()
    assert names == ["t0", "t1", "t2", "t3", "t4"]
    assert account.status == "active"
    pages = [r.query_dict for r in sim.requests if r.method == "GET" and r.path == "/v1/Trunks"]
    assert pages == [
        {"PageSize": "2"},
        {"PageSize": "2", "Page": "1", "PageToken": "PA" + f"{1:032x}"},
        {"PageSize": "2", "Page": "2", "PageToken": "PA" + f"{2:032x}"},
    ]
