"""`intake eval [BANK]` and `intake eval add-call CALL_ID BANK`: registered by agent/cli.py."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from devstack.paths import project_root

DEFAULT_BANK = project_root() / "evals" / "bank"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "eval", help="replay a bank of call cases on the local stack and score them",
        description="intake eval [BANK] [options]  |  intake eval add-call CALL_ID BANK")
    parser.add_argument("target", nargs="*", metavar="BANK",
                        help=f"folder of case files (default: {DEFAULT_BANK}); or "
                        "'add-call CALL_ID BANK'")
    parser.add_argument("--parallel", type=int, default=1, metavar="N",
                        help="calls at once (one simulator and worker each)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--report", type=Path, metavar="DIR",
                        help="write a self-contained HTML report (index.html) here")
    parser.add_argument("--baseline", type=Path, metavar="FILE",
                        help="an earlier run's --json output; a case that passed there and "
                        "fails now is a regression")
    parser.add_argument("--case", action="append", dest="only", metavar="NAME",
                        help="run only this case (repeatable)")
    parser.add_argument("--playbook", type=Path, default=None,
                        help="playbook YAML (default: INTAKE_PLAYBOOK or the example)")
    parser.add_argument("--name", help="add-call: the new case's name (default: call-<id>)")
    parser.set_defaults(func=_dispatch)


def _dispatch(args: argparse.Namespace) -> int:
    from agent.cli import CommandError

    if args.target and args.target[0] == "add-call":
        if len(args.target) != 3:
            raise CommandError("usage: intake eval add-call CALL_ID BANK", 2)
        from evals.add_call import run_add_call

        return run_add_call(args.target[1], Path(args.target[2]), name=args.name)
    if len(args.target) > 1:
        raise CommandError("intake eval takes one BANK folder", 2)
    bank = Path(args.target[0]) if args.target else DEFAULT_BANK
    if not bank.is_dir():
        raise CommandError(f"bank folder not found: {bank}", 2)
    if args.parallel < 1 or args.parallel > 8:
        raise CommandError("--parallel takes 1 to 8", 2)
    return asyncio.run(run_eval(bank, parallel=args.parallel, as_json=args.json,
                                report_dir=args.report, baseline_path=args.baseline,
                                only=args.only, playbook=args.playbook))


async def run_eval(bank_dir: Path, *, parallel: int = 1, as_json: bool = False,
                   report_dir: Path | None = None, baseline_path: Path | None = None,
                   only: list[str] | None = None, playbook: Path | None = None) -> int:
    from agent.cli import CommandError
    from devstack.services import ToolMissingError
    from evals.case import load_bank
    from evals.results import Baseline, BaselineError, all_good, run_json, summary_table
    from evals.runner import CaseResult, EvalStack, real_model_wanted, run_bank

    # the local stack's dev key is short by design; PyJWT's warning would bury the progress
    warnings.filterwarnings("ignore", message="The HMAC key is")
    baseline = None
    if baseline_path is not None:
        try:
            baseline = Baseline.load(baseline_path)
        except BaselineError as exc:
            raise CommandError(str(exc), 2) from None
    bank = load_bank(bank_dir)
    cases = bank.cases
    if only:
        unknown = sorted(set(only) - {c.name for c in cases})
        if unknown:
            raise CommandError(f"no such case in the bank: {', '.join(unknown)}", 2)
        cases = [c for c in cases if c.name in only]
        if baseline is not None:
            # a chosen few: the cases left out are not gone from the bank
            baseline = baseline.only(only)
    out = sys.stderr if as_json else sys.stdout
    for error in bank.errors:
        print(f"bad case file {error.source}:", file=out)
        for problem in error.problems:
            print(f"  {problem.where}: {problem.message}", file=out)
    use_real = real_model_wanted()
    model = "OpenAI Realtime API" if use_real else "Realtime simulator"
    playbook = playbook or (Path(os.environ["INTAKE_PLAYBOOK"])
                            if os.environ.get("INTAKE_PLAYBOOK") else None)
    lanes = max(1, min(parallel, len(cases)))
    print(f"intake eval: {len(cases)} cases from {bank_dir}, {lanes} lanes, {model}",
          file=out, flush=True)
    started = time.monotonic()
    done = 0

    def on_start(case: Any, lane: int) -> None:
        print(f"  [lane {lane}] {case.name} ...", file=out, flush=True)

    def on_result(result: CaseResult) -> None:
        nonlocal done
        done += 1
        verdict = "pass" if result.passed else "FAIL"
        print(f"  [{done}/{len(cases)}] {verdict} {result.name} ({result.seconds:.0f} s)",
              file=out, flush=True)
        for reason in result.reasons:
            print(f"        {reason}", file=out, flush=True)

    results: list[CaseResult] = []
    if cases:
        try:
            async with EvalStack(lanes=lanes, playbook=playbook,
                                 use_simulator=not use_real) as stack:
                print(f"  stack up in {time.monotonic() - started:.0f} s", file=out, flush=True)
                results = await run_bank(stack, cases, on_result=on_result, on_start=on_start)
        except ToolMissingError as exc:
            raise CommandError(str(exc)) from None
    summary = run_json(results, bank.errors, baseline, wall_seconds=time.monotonic() - started,
                       lanes=lanes, model=model)
    if report_dir is not None:
        from evals.report import write_report

        path = await asyncio.to_thread(write_report, summary, report_dir)
        print(f"report: {path}", file=out)
    if as_json:
        print(json.dumps(summary, indent=2, default=str))
    else:
        print()
        print(summary_table(summary))
    return 0 if all_good(summary) else 1
