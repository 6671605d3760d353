"""Where the console's "Add to eval bank" writes: INTAKE_EVAL_BANK (default: the shipped bank,
evals/bank). A case is named `call-<id>`, as `intake eval add-call` names it, so the call page
can tell whether a call is in the bank already."""

from __future__ import annotations

import os
from pathlib import Path


def eval_bank_dir() -> Path:
    from evals.cli import DEFAULT_BANK

    return Path(os.environ.get("INTAKE_EVAL_BANK", "").strip() or DEFAULT_BANK)


def case_name(call_id: str) -> str:
    return f"call-{call_id}"


def case_exists(call_id: str) -> bool:
    return (eval_bank_dir() / f"{case_name(call_id)}.yaml").exists()
