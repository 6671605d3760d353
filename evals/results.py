"""A bank run as one JSON object, the summary table, and the comparison with a baseline."""

from __future__ import annotations

import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evals.case import CaseError
from evals.runner import CaseResult


class BaselineError(ValueError):
    pass


@dataclass(frozen=True)
class Baseline:
    passed: dict[str, bool]
    """Case name -> passed, from an earlier run's `--json` output."""

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise BaselineError(f"cannot read baseline {path} ({exc.strerror})") from None
        except json.JSONDecodeError as exc:
            raise BaselineError(f"baseline {path} is not JSON (line {exc.lineno})") from None
        cases = data.get("cases") if isinstance(data, dict) else None
        if not isinstance(cases, list) or not all(
                isinstance(c, dict) and isinstance(c.get("name"), str)
                and isinstance(c.get("passed"), bool) for c in cases):
            raise BaselineError(f"baseline {path} has no 'cases' list of {{name, passed}} "
                                "(use the output of `intake eval --json`)")
        return cls({c["name"]: c["passed"] for c in cases})

    def only(self, names: Sequence[str]) -> Baseline:
        return Baseline({n: p for n, p in self.passed.items() if n in names})


def regressions(results: Sequence[CaseResult], baseline: Baseline | None) -> list[str]:
    """Cases that passed in the baseline and fail now, or are gone from the run."""
    if baseline is None:
        return []
    now = {r.name: r.passed for r in results}
    return sorted(name for name, passed in baseline.passed.items()
                  if passed and not now.get(name, False))


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return round(ordered[index], 1)


def latency_summary(results: Sequence[CaseResult]) -> dict[str, Any]:
    greeting = [r.metrics.greeting_ms for r in results if r.metrics.greeting_ms is not None]
    response = [v for r in results for v in r.metrics.response_ms]
    barge = [v for r in results for v in r.metrics.barge_in_ms]
    out: dict[str, Any] = {}
    for name, values in (("greeting_ms", greeting), ("response_ms", response),
                         ("barge_in_ms", barge)):
        out[name] = {"n": len(values), "p50": _percentile(values, 0.5),
                     "p95": _percentile(values, 0.95),
                     "mean": round(statistics.fmean(values), 1) if values else None}
    return out


def run_json(results: Sequence[CaseResult], bad_files: Sequence[CaseError],
             baseline: Baseline | None, *, wall_seconds: float, lanes: int,
             model: str) -> dict[str, Any]:
    regressed = regressions(results, baseline)
    passed = sum(r.passed for r in results)
    return {
        "model": model,
        "lanes": lanes,
        "wall_seconds": round(wall_seconds, 1),
        "totals": {"cases": len(results), "passed": passed, "failed": len(results) - passed,
                   "bad_files": len(bad_files), "regressed": len(regressed)},
        "regressed": regressed,
        "baseline": None if baseline is None else {
            "cases": len(baseline.passed), "passed": sum(baseline.passed.values())},
        "bad_files": [{"file": e.source, "problems": [
            {"where": p.where, "message": p.message} for p in e.problems]} for e in bad_files],
        "latency": latency_summary(results),
        "cases": [r.as_json() for r in results],
    }


def all_good(summary: dict[str, Any]) -> bool:
    totals: dict[str, int] = summary["totals"]
    return (totals["failed"] == 0 and totals["bad_files"] == 0 and totals["regressed"] == 0
            and totals["cases"] > 0)


def summary_table(summary: dict[str, Any]) -> str:
    lines = [f"{'CASE':<34} {'RESULT':<7} {'SECS':>5}  REASON"]
    regressed = set(summary["regressed"])
    for case in summary["cases"]:
        verdict = "pass" if case["passed"] else ("REGRESS" if case["name"] in regressed
                                                 else "FAIL")
        reason = case["reasons"][0] if case["reasons"] else ""
        more = f" (+{len(case['reasons']) - 1} more)" if len(case["reasons"]) > 1 else ""
        lines.append(f"{case['name'][:34]:<34} {verdict:<7} {case['seconds']:>5.0f}  "
                     f"{reason[:90]}{more}")
    for bad in summary["bad_files"]:
        lines.append(f"{Path(bad['file']).name[:34]:<34} {'BAD':<7} {'':>5}  "
                     f"{bad['problems'][0]['where']}: {bad['problems'][0]['message']}")
    missing = [name for name in regressed if name not in {c["name"] for c in summary["cases"]}]
    for name in missing:
        lines.append(f"{name[:34]:<34} {'REGRESS':<7} {'':>5}  passed in the baseline, not run")
    totals = summary["totals"]
    lat = summary["latency"]
    lines.append("")
    lines.append(f"{totals['passed']}/{totals['cases']} passed, {totals['failed']} failed, "
                 f"{totals['bad_files']} bad files, {totals['regressed']} regressed; "
                 f"{summary['wall_seconds']:.0f} s on {summary['lanes']} lanes "
                 f"({summary['model']})")
    lines.append("latency p50/p95 ms: " + ", ".join(
        f"{k.removesuffix('_ms')} {v['p50']}/{v['p95']} (n={v['n']})" for k, v in lat.items()))
    return "\n".join(lines)
