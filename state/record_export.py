"""Approved records as CSV and JSON, the artifact a business imports into its CRM. One format
for the console's download and `intake calls export`, so the two agree byte for byte."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

BASE_COLUMNS = ("call_id", "started_at", "ended_at", "duration_s", "direction",
                "caller_number", "escalation_reason", "recommended_next_action",
                "missing_fields", "unconfirmed_fields", "bookings", "approved_by",
                "approved_at")
_E164 = re.compile(r"^\+\d{6,15}$")


def _cell(value: Any) -> str:
    """Text for a cell; text a spreadsheet would run as a formula gets a leading quote
    (a caller can say anything), E.164 numbers excepted."""
    if value is None:
        return ""
    if isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _E164.match(text):
        return "'" + text
    return text


def field_names(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Every field any record holds, by name (records of several playbooks can mix)."""
    return sorted({name for row in rows for name in row["fields"]})


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    names = field_names(rows)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*BASE_COLUMNS, *(f"field_{n}" for n in names)])
    for row in rows:
        writer.writerow([_cell(row[c]) for c in BASE_COLUMNS]
                        + [_cell(row["fields"].get(n)) for n in names])
    return out.getvalue()


def to_json(rows: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"records": list(rows)}, ensure_ascii=False, indent=2)
