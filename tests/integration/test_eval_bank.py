"""The shipped eval bank, replayed on the real stack in parallel on every test run (CI too).

The gate is the committed baseline, evals/baseline.json (the `--json` output of a full run,
trimmed): every case that passed there must pass here. Cases failing there are printed with
their reasons on every run, never hidden; one that starts passing is printed too, so the
baseline can be refreshed (`intake eval --parallel 3 --json > evals/baseline.json`).
The HTML report and the JSON of this run go to $INTAKE_LOG_DIR/eval-bank/ (or /tmp).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path

import pytest

from devstack.paths import project_root
from evals.case import load_bank
from evals.report import write_report
from evals.results import Baseline, regressions, run_json, summary_table
from evals.runner import EvalStack, run_bank

pytestmark = pytest.mark.integration

BANK = project_root() / "evals" / "bank"
BASELINE = project_root() / "evals" / "baseline.json"
# one call per core: three lanes on a 2-core machine starved every call (response p50 ~1 s)
# and turned ordinary scheduling delays into turn-taking failures
LANES = 2


@pytest.mark.timeout(1800)
async def test_the_bank_shows_no_regression_against_the_baseline() -> None:
    bank = load_bank(BANK)
    assert not bank.errors, "\n".join(str(e) for e in bank.errors)
    baseline = Baseline.load(BASELINE)
    started = time.monotonic()
    async with EvalStack(lanes=LANES, playbook=None, use_simulator=True) as stack:
        results = await run_bank(stack, bank.cases)
    # the replayed calls' audio went to a folder of the run's own, removed with the stack
    assert not await asyncio.to_thread(os.path.exists, stack.worker_env["INTAKE_RECORDING_DIR"])
    summary = run_json(results, bank.errors, baseline, wall_seconds=time.monotonic() - started,
                       lanes=LANES, model="Realtime simulator")
    out = Path(os.environ.get("INTAKE_LOG_DIR", "/tmp")) / "eval-bank"
    write_report(summary, out)
    (out / "result.json").write_text(json.dumps(summary, indent=2, default=str))
    print("\n" + summary_table(summary) + f"\nreport: {out / 'index.html'}")
    newly_passing = sorted(r.name for r in results
                           if r.passed and not baseline.passed.get(r.name, False))
    if newly_passing:
        print(f"passing now, failing in the baseline (refresh it): {', '.join(newly_passing)}")
    regressed = regressions(results, baseline)
    unknown = sorted(r.name for r in results if r.name not in baseline.passed and not r.passed)
    # everything the report holds on a failure, since CI keeps only what this prints
    failed_reasons = {r.name: {"reasons": r.reasons, "notes": r.notes,
                               "transcript": r.transcript}
                      for r in results if r.name in regressed + unknown}
    assert not regressed and not unknown, json.dumps(failed_reasons, indent=2)
