"""The owner's overview for a date range, as server-rendered SVG charts."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import dashboard.charts as charts
from dashboard.formatting import label
from dashboard.permissions import Permission, require
from dashboard.rendering import render
from dashboard.services import services

DEFAULT_DAYS = 30
MAX_DAYS = 366


def _range(request: Request, today: date) -> tuple[date, date, list[str]]:
    errors: list[str] = []

    def parse(name: str, default: date) -> date:
        raw = request.query_params.get(name)
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            errors.append(f"{name}: not a date (use YYYY-MM-DD)")
            return default

    end = parse("to", today)
    start = parse("from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        errors.append("the start date is after the end date")
        start = end - timedelta(days=DEFAULT_DAYS - 1)
    if (end - start).days >= MAX_DAYS:
        errors.append(f"at most {MAX_DAYS} days at a time")
        start = end - timedelta(days=MAX_DAYS - 1)
    return start, end, errors


async def overview(request: Request) -> Response:
    require(request, Permission.VIEW_OVERVIEW)
    console = services(request)
    zone = console.zone
    start, end, errors = _range(request, datetime.now(zone).date())
    since = datetime.combine(start, time(), zone)
    before = datetime.combine(end + timedelta(days=1), time(), zone)
    figures = await console.queries.overview(since, before, str(zone))
    by_day = {d["day"]: d for d in figures["days"]}
    days = [(start + timedelta(days=i)).isoformat() for i in range((end - start).days + 1)]
    short = [d[5:] for d in days]
    totals = figures["totals"]
    rendered = {
        "calls_per_day": charts.column_chart(
            [(s, float(by_day[d]["calls"]) if d in by_day else 0.0)
             for s, d in zip(short, days, strict=True)], title="Calls per day"),
        "median_duration": charts.column_chart(
            [(s, by_day[d]["median_duration_s"] if d in by_day else None)
             for s, d in zip(short, days, strict=True)],
            title="Median call duration per day (seconds)", color=charts.ACCENT,
            fmt=lambda v: f"{v:.0f}s"),
        "completion": charts.share_bar(totals["complete"], totals["with_outcome"],
                                       title="Calls with every required field collected"),
        "touched": charts.share_bar(totals["touched"], totals["with_outcome"],
                                    title="Calls a person had to edit", color=charts.ACCENT),
        "escalations": charts.bar_list(
            [(label(k), v) for k, v in figures["escalations"]], total=totals["calls"],
            title="Escalations by reason"),
        "transfers": charts.bar_list([(label(k), v) for k, v in figures["transfers"]],
                                     title="Transfer outcomes"),
        "bookings": charts.bar_list([(label(k), v) for k, v in figures["bookings"]],
                                    title="Callbacks and appointments booked"),
        "missing": charts.bar_list([(label(k), v) for k, v in figures["missing_fields"]],
                                   total=totals["with_outcome"], color=charts.ACCENT,
                                   title="Fields most often missing or unconfirmed"),
    }
    return render(request, "overview.html", {
        "start": start, "end": end, "errors": errors, "totals": totals, "charts": rendered,
        "page_title": "Overview"})


routes = [Route("/overview", overview, methods=["GET"], name="overview")]
