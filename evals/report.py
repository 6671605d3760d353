"""The eval report: one self-contained HTML page (plots inline as SVG, no external files).

Plots are matplotlib Figures (no pyplot state, so no GUI backend): latency per turn type,
greeting / response / barge-in per case, and the pass rate against the baseline.
"""

from __future__ import annotations

import html
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#1b1b1b}
table{border-collapse:collapse;width:100%;margin:1rem 0}
th,td{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.pass{color:#146c2e;font-weight:600}.fail{color:#b3261e;font-weight:600}
details{margin:.4rem 0 1rem}.turn{margin:.1rem 0}.caller{color:#0b57d0}.agent{color:#444}
figure{margin:1rem 0}svg{max-width:100%;height:auto}code{background:#f3f3f3;padding:0 .2rem}
"""


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.find("<svg"):]  # drop the XML prolog and doctype: inline in HTML


def latency_by_turn_type(cases: Sequence[dict[str, Any]]) -> str:
    greeting = [c["latency"]["greeting_ms"] for c in cases
                if c["latency"]["greeting_ms"] is not None]
    response = [v for c in cases for v in c["latency"]["response_ms"]]
    barge = [v for c in cases for v in c["latency"]["barge_in_ms"]]
    fig = Figure(figsize=(7, 3.2))
    ax = fig.subplots()
    data = [greeting or [0.0], response or [0.0], barge or [0.0]]
    ax.boxplot(data, showfliers=True)
    ax.set_xticks([1, 2, 3], [f"greeting (n={len(greeting)})", f"response (n={len(response)})",
                              f"barge-in stop (n={len(barge)})"])
    ax.set_yscale("log")  # one slow outlier must not flatten the rest
    ax.set_ylabel("ms (log scale)")
    ax.set_title("Latency per turn type")
    return _svg(fig)


def latency_per_case(cases: Sequence[dict[str, Any]]) -> str:
    names = [c["name"] for c in cases]
    greeting = [c["latency"]["greeting_ms"] or 0.0 for c in cases]
    response = [max(c["latency"]["response_ms"], default=0.0) for c in cases]
    barge = [max(c["latency"]["barge_in_ms"], default=0.0) for c in cases]
    fig = Figure(figsize=(9, max(3.0, 0.28 * len(cases) + 1)))
    ax = fig.subplots()
    positions = range(len(cases))
    height = 0.27
    ax.barh([p - height for p in positions], greeting, height, label="greeting")
    ax.barh(list(positions), response, height, label="slowest response")
    ax.barh([p + height for p in positions], barge, height, label="slowest barge-in stop")
    ax.set_yticks(list(positions), names, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=100.0)
    ax.set_xlabel("ms (log scale above 100 ms)")
    ax.set_title("Greeting, response and barge-in per case")
    ax.legend(fontsize=7, loc="lower right")
    return _svg(fig)


def pass_rate(summary: dict[str, Any]) -> str:
    totals = summary["totals"]
    labels = ["this run"]
    rates = [100.0 * totals["passed"] / totals["cases"] if totals["cases"] else 0.0]
    baseline = summary.get("baseline")
    if baseline and baseline["cases"]:
        labels.insert(0, "baseline")
        rates.insert(0, 100.0 * baseline["passed"] / baseline["cases"])
    fig = Figure(figsize=(4.5, 2.6))
    ax = fig.subplots()
    bars = ax.bar(labels, rates, color=["#9aa0a6", "#146c2e"][-len(labels):])
    ax.bar_label(bars, fmt="%.0f%%")
    ax.set_ylim(0, 110)
    ax.set_ylabel("cases passed (%)")
    ax.set_title("Pass rate against the baseline")
    return _svg(fig)


def render_report(summary: dict[str, Any]) -> str:
    esc = html.escape
    cases = summary["cases"]
    totals = summary["totals"]
    regressed = set(summary["regressed"])
    rows = []
    for case in cases:
        verdict = ("pass" if case["passed"]
                   else "regressed" if case["name"] in regressed else "fail")
        css = "pass" if case["passed"] else "fail"
        reasons = "<br>".join(esc(r) for r in case["reasons"]) or "&mdash;"
        rows.append(f"<tr><td><a href='#{esc(case['name'])}'>{esc(case['name'])}</a></td>"
                    f"<td class='{css}'>{verdict}</td><td>{reasons}</td>"
                    f"<td>{esc(str(case['end_reason']))}</td><td>{case['seconds']:.0f}</td></tr>")
    details = []
    for case in cases:
        turns = "".join(
            f"<div class='turn {esc(t['role'])}'><b>{esc(t['role'])}:</b> {esc(t['text'])}</div>"
            for t in case["transcript"]) or "<p>no transcript stored</p>"
        notes = "".join(f"<li>{esc(n)}</li>" for n in case["notes"])
        outcome = case["outcome"] or {}
        fields = "".join(f"<li><code>{esc(k)}</code>: {esc(str(v))}</li>"
                         for k, v in (outcome.get("fields") or {}).items())
        details.append(
            f"<details id='{esc(case['name'])}'><summary>{esc(case['name'])} &mdash; "
            f"{'pass' if case['passed'] else 'fail'}</summary>"
            f"<p>call <code>{esc(str(case['call_id']))}</code>, ended: "
            f"{esc(str(case['end_reason']))}, next action: "
            f"{esc(str(outcome.get('recommended_next_action')))}</p>"
            f"<ul>{fields}</ul>{f'<ul>{notes}</ul>' if notes else ''}{turns}</details>")
    bad = "".join(f"<li>{esc(p['where'])}: {esc(p['message'])}</li>"
                  for b in summary["bad_files"] for p in b["problems"])
    plots = ""
    if cases:
        plots = (f"<figure>{latency_by_turn_type(cases)}</figure>"
                 f"<figure>{latency_per_case(cases)}</figure>")
    plots += f"<figure>{pass_rate(summary)}</figure>"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>intake eval: {totals['passed']}/{totals['cases']} passed</title>"
        f"<style>{_CSS}</style></head><body>"
        f"<h1>intake eval</h1><p>{totals['passed']} of {totals['cases']} cases passed, "
        f"{totals['failed']} failed, {totals['bad_files']} bad case files, "
        f"{totals['regressed']} regressed. {esc(summary['model'])}, {summary['lanes']} lanes, "
        f"{summary['wall_seconds']:.0f} s.</p>"
        + (f"<h2>Bad case files</h2><ul>{bad}</ul>" if bad else "")
        + "<h2>Cases</h2><table><thead><tr><th>case</th><th>verdict</th><th>reasons</th>"
        "<th>ended</th><th>s</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
        + "<h2>Latency</h2>" + plots
        + "<h2>Transcripts</h2>" + "".join(details) + "</body></html>")


def write_report(summary: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "index.html"
    path.write_text(render_report(summary), encoding="utf-8")
    return path
