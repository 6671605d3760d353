"""The console over plain HTTP (the ASGI app in-process, real Postgres): sessions, CSRF,
roles, markup, edits through the agent's normalizers, conflicts, export, and logs."""

from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dashboard.auth import GENERIC_LOGIN_ERROR, token_hash
from state.accounts import AccountStore
from state.postgres_record import create_pool
from tests.console_support import (
    add_user,
    console_client,
    csrf_from,
    seed_call,
    sign_in,
)

pytestmark = pytest.mark.integration

HOSTILE = "<script>window.pwned = 1</script> my <b>sink</b> leaks"


@pytest.fixture
async def call_id(database_url: str) -> str:
    call_id = uuid.uuid4().hex
    await seed_call(database_url, call_id, caller_text=HOSTILE)
    for name, role in (("olive", "operator"), ("sam", "supervisor"), ("ada", "admin")):
        await add_user(database_url, name, role)
    return call_id


async def _page_token(client: httpx.AsyncClient, path: str) -> str:
    response = await client.get(path)
    assert response.status_code == 200, response.text
    return csrf_from(response.text)


async def test_no_page_or_api_without_a_session(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        for path in ("/calls", f"/calls/{call_id}", "/overview", "/export.csv", "/"):
            response = await client.get(path)
            assert response.status_code in (303, 401), path
            if path != "/":
                assert response.status_code == 303
                assert response.headers["location"].startswith("/login?next=")
        api = await client.get("/export.json", headers={"accept": "application/json"})
        assert api.status_code == 401
        post = await client.post(f"/calls/{call_id}/approve", data={"version": "1"})
        assert post.status_code == 401
        login = await client.get("/login")
        assert login.status_code == 200
        csp = login.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "unsafe-inline" not in csp


async def test_wrong_credentials_read_the_same(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        unknown = await sign_in(client, "nobody")
        wrong = await sign_in(client, "olive", "not the password")
        assert unknown.status_code == wrong.status_code == 401
        assert GENERIC_LOGIN_ERROR in unknown.text and GENERIC_LOGIN_ERROR in wrong.text
        good = await sign_in(client, "olive")
        assert good.status_code == 303 and good.headers["location"] == "/calls"
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert (await client.get("/calls")).status_code == 200


async def test_sign_in_is_rate_limited(database_url: str, call_id: str) -> None:
    async with console_client(database_url, login_attempts=3) as client:
        for _ in range(3):
            assert (await sign_in(client, "olive", "wrong password")).status_code == 401
        limited = await sign_in(client, "olive")
        assert limited.status_code == 429 and "Too many attempts" in limited.text
        assert "intake_session" not in limited.headers.get("set-cookie", "")


async def test_every_post_needs_the_session_csrf_token(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        page = await client.get("/login")
        no_token = await client.post("/login", data={"name": "olive", "password": "x"})
        assert no_token.status_code == 403
        forged = await client.post("/login", data={"name": "olive", "password": "x",
                                                   "csrf_token": "forged"})
        assert forged.status_code == 403
        assert csrf_from(page.text)
        assert (await sign_in(client, "olive")).status_code == 303
        token = await _page_token(client, f"/calls/{call_id}")
        form = {"version": "1", "field.phone": "512 555 0142"}
        assert (await client.post(f"/calls/{call_id}/edit", data=form)).status_code == 403
        wrong = await client.post(f"/calls/{call_id}/edit", data={**form, "csrf_token": "x"})
        assert wrong.status_code == 403
        as_json = await client.post(f"/calls/{call_id}/edit", json={**form, "csrf_token": token})
        assert as_json.status_code == 403
        # a token from another session is no good either
        async with console_client(database_url) as other:
            await sign_in(other, "sam")
            other_token = await _page_token(other, "/calls")
        stolen = await client.post(f"/calls/{call_id}/edit",
                                   data={**form, "csrf_token": other_token})
        assert stolen.status_code == 403
        ok = await client.post(f"/calls/{call_id}/edit", data={**form, "csrf_token": token})
        assert ok.status_code == 303
        logout = await client.post("/logout", data={})
        assert logout.status_code == 403


async def test_roles_are_enforced(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        assert (await client.get("/overview")).status_code == 403
        token = await _page_token(client, f"/calls/{call_id}")
        approve = await client.post(f"/calls/{call_id}/approve",
                                    data={"version": "1", "csrf_token": token})
        assert approve.status_code == 303
        reopen = await client.post(f"/calls/{call_id}/reopen", data={"csrf_token": token})
        assert reopen.status_code == 403
        assert "Reopen" not in (await client.get(f"/calls/{call_id}")).text
    async with console_client(database_url) as client:
        await sign_in(client, "sam")
        assert (await client.get("/overview")).status_code == 200
    async with console_client(database_url) as client:
        await sign_in(client, "ada")
        token = await _page_token(client, f"/calls/{call_id}")
        reopen = await client.post(f"/calls/{call_id}/reopen", data={"csrf_token": token})
        assert reopen.status_code == 303
        page = await client.get(f"/calls/{call_id}")
        assert "Needs review" in page.text and "Reopen</strong> by ada" in page.text


async def test_markup_in_a_transcript_is_text(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        page = await client.get(f"/calls/{call_id}")
        assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page.text
        assert "<script>window.pwned" not in page.text and "<b>sink</b>" not in page.text
        assert "<script" not in page.text  # the console serves no inline or external script


async def test_edit_uses_the_agents_normalizers(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        token = await _page_token(client, f"/calls/{call_id}")
        bad = await client.post(f"/calls/{call_id}/edit", data={
            "csrf_token": token, "version": "1", "field.phone": "512 555 0142",
            "field.deadline": "2019-02-30", "field.followup_channel": "pigeon"})
        assert bad.status_code == 422
        assert "Deadline: not a date" in bad.text
        assert "Followup channel: must be one of phone, sms, email" in bad.text
        assert 'value="2019-02-30"' in bad.text  # the input is kept
        past = await client.post(f"/calls/{call_id}/edit", data={
            "csrf_token": token, "version": "1", "field.deadline": "2020-01-01"})
        assert past.status_code == 422 and "before the call" in past.text
        good = await client.post(f"/calls/{call_id}/edit", data={
            "csrf_token": token, "version": "1", "field.phone": "512 555 0142",
            "field.followup_channel": "text message"})
        assert good.status_code == 303
        page = await client.get(good.headers["location"])
        assert 'value="+15125550142"' in page.text
        assert '<option value="sms" selected>' in page.text
        assert "Phone: <del>empty</del> → <ins>+15125550142</ins>" in page.text
        assert "Edit</strong> by olive" in page.text


async def test_a_stale_save_is_refused_and_keeps_the_input(database_url: str,
                                                           call_id: str) -> None:
    async with console_client(database_url) as first, console_client(database_url) as second:
        await sign_in(first, "olive")
        await sign_in(second, "sam")
        first_token = await _page_token(first, f"/calls/{call_id}")
        second_token = await _page_token(second, f"/calls/{call_id}")
        saved = await first.post(f"/calls/{call_id}/edit", data={
            "csrf_token": first_token, "version": "1", "field.name": "Dana Smith"})
        assert saved.status_code == 303
        late = await second.post(f"/calls/{call_id}/edit", data={
            "csrf_token": second_token, "version": "1", "field.name": "Dan Smythe"})
        assert late.status_code == 409
        assert "changed since you opened it" in late.text
        assert 'value="Dan Smythe"' in late.text and "Saved now: Dana Smith" in late.text
        approve = await second.post(f"/calls/{call_id}/approve",
                                    data={"csrf_token": second_token, "version": "1"})
        assert approve.status_code == 409


async def test_disabling_an_account_ends_its_session(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        assert (await client.get("/calls")).status_code == 200
        pool = await create_pool(database_url, max_size=1)
        try:
            assert await AccountStore(pool).disable_user("olive", datetime.now(UTC))
        finally:
            await pool.close()
        assert (await client.get("/calls")).status_code == 303
        assert (await sign_in(client, "olive")).status_code == 401


async def test_sessions_expire(database_url: str, call_id: str) -> None:
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        token = client.cookies.get("intake_session")
        assert token
        pool = await create_pool(database_url, max_size=1)
        try:
            async with pool.acquire() as conn:
                await conn.execute(
                    "UPDATE console_sessions SET expires_at = $2 WHERE token_hash = $1",
                    token_hash(token), datetime.now(UTC) - timedelta(seconds=1))
        finally:
            await pool.close()
        assert (await client.get("/calls")).status_code == 303


async def test_list_masks_numbers_filters_and_exports_approved(database_url: str,
                                                               call_id: str) -> None:
    other = uuid.uuid4().hex
    await seed_call(database_url, other, fields={
        "problem": "no heat", "location": "Austin", "deadline": "2030-01-01",
        "followup_channel": "phone", "name": "=HYPERLINK(\"x\")", "phone": "+15125550142"},
        missing=[], escalation="pricing",
        bookings=[{"kind": "callback", "reference": "CB-7", "when": "morning",
                   "at": datetime.now(UTC).isoformat()}])
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        listing = await client.get("/calls")
        assert "+1 512 ••• ••42" in listing.text and "+1 512-555-0142" not in listing.text
        assert "+1 512-555-0142" in (await client.get("/calls?reveal=1")).text
        escalated = await client.get("/calls?filter=escalated")
        assert other in escalated.text and call_id not in escalated.text
        found = await client.get(f"/calls?q={call_id[:10]}")
        assert call_id in found.text and other not in found.text
        assert other in (await client.get("/calls?q=0142")).text
        assert "No calls match" in (await client.get("/calls?from=2001-01-01&to=2001-01-02")).text
        token = await _page_token(client, f"/calls/{other}")
        await client.post(f"/calls/{other}/approve", data={"csrf_token": token, "version": "1"})
        exported = await client.get("/export.json")
        records = json.loads(exported.text)["records"]
        assert [r["call_id"] for r in records] == [other]
        assert records[0]["bookings"] == [{"kind": "callback", "reference": "CB-7",
                                           "when": "morning"}]
        csv_text = (await client.get("/export.csv?filter=all")).text
        assert other in csv_text and call_id not in csv_text
        # filtered like the list: approved and (here) incomplete is none of them
        assert json.loads((await client.get("/export.json?filter=incomplete")).text) == {
            "records": []}
        assert "'=HYPERLINK" in csv_text and ",+15125550142," in csv_text


async def test_the_console_logs_no_caller_data(database_url: str, call_id: str,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        await client.get("/calls?q=5125550142")
        token = await _page_token(client, f"/calls/{call_id}?reveal=1")
        await client.post(f"/calls/{call_id}/edit", data={
            "csrf_token": token, "version": "1", "field.phone": "512 555 0177",
            "field.name": "Dana Smith"})
        await client.get("/export.csv")
    # the test's own HTTP client logs its requests; everything else is the console's
    console_records = [r for r in caplog.records
                       if r.name.split(".")[0] not in ("httpx", "httpcore")]
    assert any(r.name == "dashboard.access" for r in console_records)
    for record in console_records:
        text = record.getMessage() + " " + json.dumps(
            {k: str(v) for k, v in record.__dict__.items()}, default=str)
        for secret in ("5125550142", "555 0177", "5550177", "Dana", "pwned"):
            assert secret not in text, (record.name, record.getMessage())


async def test_the_cli_and_the_console_agree(database_url: str, call_id: str) -> None:
    import asyncio
    import os
    import sys

    approved = uuid.uuid4().hex
    await seed_call(database_url, approved, escalation="legal", fields={"problem": "fence"})
    async with console_client(database_url) as client:
        await sign_in(client, "olive")
        token = await _page_token(client, f"/calls/{approved}")
        await client.post(f"/calls/{approved}/approve", data={"csrf_token": token,
                                                                "version": "1"})
        web_json = (await client.get("/export.json?filter=escalated")).text
        web_csv = (await client.get("/export.csv")).text
        listing = (await client.get("/calls?filter=needs_review")).text

    async def cli(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agent.cli", "calls", *args,
            env={**os.environ, "INTAKE_DATABASE_URL": database_url},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        assert proc.returncode == 0, err.decode()
        return out.decode()

    assert json.loads(await cli("export", "--format", "json", "--filter", "escalated")) == \
        json.loads(web_json)
    assert (await cli("export")).replace("\r\n", "\n") == web_csv.replace("\r\n", "\n")
    rows = json.loads(await cli("list", "--filter", "needs_review", "--json"))["calls"]
    assert [r["call_id"] for r in rows] == [call_id]
    assert call_id in listing and f'href="/calls/{approved}"' not in listing
