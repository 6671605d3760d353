"""The calls list: newest first, filtered, searched, paged."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.filters import FILTER_LABELS, parse_list_query
from dashboard.permissions import Permission, require
from dashboard.rendering import render
from dashboard.services import services


async def calls_list(request: Request) -> Response:
    require(request, Permission.VIEW_CALLS)
    console = services(request)
    query = parse_list_query(request.query_params)
    size = console.settings.page_size
    rows, has_next = await console.queries.list_page(
        query.call_filter(console.zone), limit=size, offset=(query.page - 1) * size)
    reveal = request.query_params.get("reveal") == "1"
    return render(request, "calls.html", {
        "rows": rows, "query": query, "has_next": has_next, "reveal": reveal,
        "filters": FILTER_LABELS, "page_title": "Calls"})


routes = [Route("/calls", calls_list, methods=["GET"], name="calls")]
