"""The eval runner: a bank of call cases replayed on the local stack and scored against the
stored record (`intake eval`)."""

from __future__ import annotations

from evals.case import Bank, CaseError, EvalCase, Expectation, load_bank, load_case

__all__ = ["Bank", "CaseError", "EvalCase", "Expectation", "load_bank", "load_case"]
