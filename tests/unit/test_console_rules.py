"""Console pieces that need no server: edits by the agent's rules, masking, charts, CSV,
the sign-in throttle, list filters, and the guard (CSRF, sessions, headers) on a tiny app."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from dashboard.auth import CurrentUser, LoginThrottle
from dashboard.charts import bar_list, column_chart
from dashboard.config import DEFAULT_PLAYBOOK
from dashboard.filters import parse_list_query
from dashboard.formatting import mask_phone
from dashboard.guard import ConsoleGuard
from dashboard.permissions import Permission, allowed
from state.record_export import to_csv
from state.review import apply_edit
from tools.normalize import normalize_date
from tools.outcome_review import FieldEditErrors, derive_outcome, normalize_changes
from tools.playbook import load_playbook

pytestmark = pytest.mark.unit

PLAYBOOK = load_playbook(DEFAULT_PLAYBOOK)
CALL_START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)  # a Monday


def test_edits_are_normalized_like_the_agents() -> None:
    changes = normalize_changes(PLAYBOOK, {
        "phone": "512 555 0142", "deadline": "next friday", "followup_channel": "text message",
        "budget": "about two grand", "name": "  Dana   Smith ", "decision_maker": ""},
        call_start=CALL_START)
    # the very function the agent's record_field tool uses
    assert normalize_date("next friday", CALL_START, PLAYBOOK.zone).value == "2026-03-06"
    assert changes == {"phone": "+15125550142", "deadline": "2026-03-06",
                       "followup_channel": "sms", "budget": "medium", "name": "Dana Smith",
                       "decision_maker": None}


def test_bad_values_are_refused_with_the_reason() -> None:
    with pytest.raises(FieldEditErrors) as refused:
        normalize_changes(PLAYBOOK, {"deadline": "2026-02-30", "phone": "555",
                                     "followup_channel": "pigeon", "shoe_size": "9",
                                     "escalation_reason": "boredom"}, call_start=CALL_START)
    why = {e.field: e.message for e in refused.value.errors}
    assert why["deadline"].startswith("not a date")
    assert why["phone"] == "not a valid phone number"
    assert why["followup_channel"] == "must be one of phone, sms, email"
    assert why["shoe_size"] == "not a field of this playbook"
    assert why["escalation_reason"].startswith("must be one of urgent")
    with pytest.raises(FieldEditErrors, match="before the call"):
        normalize_changes(PLAYBOOK, {"deadline": "2026-03-01"}, call_start=CALL_START)


def _outcome(**fields: str) -> dict[str, Any]:
    return {"fields": fields, "missing_fields": [], "unconfirmed_fields": ["phone"],
            "escalation_reason": None, "recommended_next_action": "human_review",
            "approval_status": "approved", "approved_by": "olive", "approved_at": "x"}


def test_the_next_action_is_recomputed_by_the_checklist_rule() -> None:
    complete = dict(problem="leak", location="Austin", deadline="2026-03-13",
                    followup_channel="phone", name="Dana", phone="+15125550142")
    before = _outcome(**complete)
    assert derive_outcome(PLAYBOOK, before)["recommended_next_action"] == "human_review"
    after = apply_edit(before, {"phone": "+15125550142", "name": "Dana Smith"})
    assert after["unconfirmed_fields"] == [] and after["approval_status"] == "draft"
    derived = derive_outcome(PLAYBOOK, after)
    assert derived["recommended_next_action"] == "schedule_call"
    assert derived["missing_fields"] == []
    booked = derive_outcome(PLAYBOOK, after, [{"kind": "callback", "reference": "CB-1"}])
    assert booked["recommended_next_action"] == "send_followup"
    escalated = derive_outcome(PLAYBOOK, {**after, "escalation_reason": "pricing"})
    assert escalated["recommended_next_action"] == "human_review"
    cleared = derive_outcome(PLAYBOOK, apply_edit(after, {"location": None}))
    assert cleared["missing_fields"] == ["location"]


def test_caller_numbers_are_masked() -> None:
    assert mask_phone("+15125550142") == "+1 512 ••• ••42"
    assert mask_phone(None) == "unknown"
    assert "0142" not in mask_phone("+15125550142")


def test_chart_labels_cannot_become_markup() -> None:
    svg = str(bar_list([("<script>x</script>", 3)], title="t<i>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "t&lt;i&gt;" in svg
    assert str(column_chart([("03-02", 2.0), ("03-03", None)], title="Calls")).count("<rect") == 1


def test_csv_cells_never_run_as_formulas() -> None:
    rows = [{"call_id": "c1", "started_at": None, "ended_at": None, "duration_s": 1.0,
             "direction": "inbound", "caller_number": "+15125550142",
             "escalation_reason": None, "recommended_next_action": "schedule_call",
             "missing_fields": [], "unconfirmed_fields": [], "bookings": [],
             "approved_by": "olive", "approved_at": None,
             "fields": {"name": "=HYPERLINK(\"http://x\")", "problem": "-leak", "phone": "+1"}}]
    text = to_csv(rows)
    assert "'=HYPERLINK" in text and ",'-leak\r" in text and ",'+1," in text
    assert ",+15125550142," in text
    assert text.splitlines()[0].endswith("field_name,field_phone,field_problem")


def test_the_sign_in_throttle_counts_per_name_and_address() -> None:
    throttle = LoginThrottle(2, 60.0, per_address=3)
    for _ in range(2):
        assert throttle.retry_after("olive", "a", now=0.0) == 0
        throttle.failed("olive", "a", now=0.0)
    assert throttle.retry_after("olive", "b", now=1.0) == pytest.approx(59.0)
    assert throttle.retry_after("olive", "b", now=61.0) == 0
    throttle.failed("sam", "a", now=2.0)
    assert throttle.retry_after("ada", "a", now=3.0) > 0  # the address is at its limit


def test_list_query_is_checked() -> None:
    query = parse_list_query(httpx.QueryParams(
        {"filter": "escalated", "from": "2026-03-01", "to": "nope", "page": "-3", "q": "0142"}))
    assert (query.status, query.page, query.search) == ("escalated", 1, "0142")
    assert query.date_to is None and query.errors == ("to: not a date (use YYYY-MM-DD)",)
    assert parse_list_query(httpx.QueryParams({"filter": "drop table"})).status == "all"


def test_roles_grant_what_the_table_says() -> None:
    operator = CurrentUser(1, "olive", "operator", "t")
    admin = CurrentUser(2, "ada", "admin", "t")
    assert allowed(operator, Permission.EDIT_OUTCOME)
    assert not allowed(operator, Permission.REOPEN_OUTCOME)
    assert not allowed(operator, Permission.VIEW_OVERVIEW)
    assert all(allowed(admin, p) for p in Permission)
    assert not allowed(CurrentUser(3, "x", "intruder", "t"), Permission.VIEW_CALLS)


class _FakeSessions:
    async def resolve(self, token: str | None) -> CurrentUser | None:
        return CurrentUser(1, "olive", "operator", "good-token") if token == "s1" else None


async def _echo(request: Request) -> PlainTextResponse:
    form = await request.form()
    return PlainTextResponse(f"ok {form.get('x')}")


def _guarded() -> httpx.AsyncClient:
    app = Starlette(routes=[Route("/thing", _echo, methods=["GET", "POST"]),
                            Route("/login", _echo, methods=["POST"])])
    guarded = ConsoleGuard(app, sessions=lambda: _FakeSessions())  # type: ignore[arg-type,return-value]
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded),
                             base_url="http://t", headers={"accept": "text/html"})


async def test_the_guard_checks_session_and_csrf_before_any_view() -> None:
    async with _guarded() as client:
        assert (await client.get("/thing")).status_code == 303
        client.cookies.set("intake_session", "s1")
        ok = await client.get("/thing")
        assert ok.status_code == 200
        assert "frame-ancestors 'none'" in ok.headers["content-security-policy"]
        assert ok.headers["cache-control"] == "no-store"
        assert (await client.post("/thing", data={"x": "1"})).status_code == 403
        bad = await client.post("/thing", data={"x": "1", "csrf_token": "bad-token"})
        assert bad.status_code == 403
        good = await client.post("/thing", data={"x": "1", "csrf_token": "good-token"})
        assert (good.status_code, good.text) == (200, "ok 1")
        header = await client.post("/thing", headers={"x-csrf-token": "good-token"})
        assert header.status_code == 200
        big = await client.post("/thing", content=b"x" * 300_000,
                                headers={"x-csrf-token": "good-token"})
        assert big.status_code == 413


async def test_sign_in_checks_its_double_submit_cookie() -> None:
    async with _guarded() as client:
        assert (await client.post("/login", data={"csrf_token": "c"})).status_code == 403
        client.cookies.set("intake_login_csrf", "c")
        assert (await client.post("/login", data={"csrf_token": "d"})).status_code == 403
        assert (await client.post("/login", data={"csrf_token": "c", "x": "2"})).text == "ok 2"


class _DownSessions:
    async def resolve(self, token: str | None) -> CurrentUser | None:
        raise ConnectionRefusedError("postgres is down")


async def test_a_dead_record_store_is_a_clear_503() -> None:
    app = Starlette(routes=[Route("/thing", _echo)])
    guarded = ConsoleGuard(app, sessions=lambda: _DownSessions())  # type: ignore[arg-type,return-value]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=guarded),
                                 base_url="http://t") as client:
        response = await client.get("/thing")
    assert response.status_code == 503 and "not reachable" in response.text
