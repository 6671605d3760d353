"""Export of approved records, filtered like the list (`intake calls export` prints the same)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.filters import parse_list_query
from dashboard.permissions import Permission, require
from dashboard.services import services
from state.record_export import to_csv, to_json

logger = logging.getLogger(__name__)


async def export(request: Request) -> Response:
    user = require(request, Permission.EXPORT)
    console = services(request)
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "json"):
        raise HTTPException(404, "Export as .csv or .json.")
    query = parse_list_query(request.query_params)
    rows = await console.queries.export_rows(query.call_filter(console.zone))
    logger.info("console: export", extra={"user": user.name, "rows": len(rows), "format": fmt})
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if fmt == "csv":
        body = to_csv(rows)
        media = "text/csv; charset=utf-8"
    else:
        body = to_json(rows)
        media = "application/json"
    return Response(body, media_type=media, headers={
        "content-disposition": f'attachment; filename="approved-calls-{stamp}.{fmt}"'})


routes = [Route("/export.{fmt:str}", export, methods=["GET"], name="export")]
