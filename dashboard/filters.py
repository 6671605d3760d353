"""The list's query string -> a `CallFilter`, shared by the list page and the export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

from state.console_queries import LIST_FILTERS, CallFilter, ListFilter

FILTER_LABELS = {
    "all": "All calls", "needs_review": "Needs review", "approved": "Approved",
    "escalated": "Escalated", "incomplete": "Incomplete",
}
MAX_PAGE = 10_000


@dataclass(frozen=True)
class ListQuery:
    status: str
    date_from: date | None
    date_to: date | None
    search: str
    page: int
    errors: tuple[str, ...] = ()

    def call_filter(self, zone: ZoneInfo) -> CallFilter:
        since = (datetime.combine(self.date_from, time(), zone)
                 if self.date_from is not None else None)
        before = (datetime.combine(self.date_to + timedelta(days=1), time(), zone)
                  if self.date_to is not None else None)
        return CallFilter(cast(ListFilter, self.status), since, before, self.search or None)

    def query_string(self, **overrides: object) -> str:
        values: dict[str, object] = {
            "filter": self.status, "q": self.search,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "", "page": self.page}
        values.update(overrides)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, "all", 1)})


def _date(raw: str | None, name: str, errors: list[str]) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors.append(f"{name}: not a date (use YYYY-MM-DD)")
        return None


def parse_list_query(params: QueryParams) -> ListQuery:
    errors: list[str] = []
    status = params.get("filter") or "all"
    if status not in LIST_FILTERS:
        errors.append("unknown filter")
        status = "all"
    date_from = _date(params.get("from"), "from", errors)
    date_to = _date(params.get("to"), "to", errors)
    if date_from and date_to and date_to < date_from:
        errors.append("the end date is before the start date")
        date_to = None
    try:
        page = min(MAX_PAGE, max(1, int(params.get("page") or 1)))
    except ValueError:
        page = 1
    search = (params.get("q") or "").strip()[:64]
    return ListQuery(status, date_from, date_to, search, page, tuple(errors))
