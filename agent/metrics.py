"""The worker's Prometheus metrics: what an operator graphs.

Job processes are separate processes (livekit-agents forks one per call), so the worker runs
prometheus_client in multiprocess mode: every process writes its samples to memory-mapped
files in one folder per worker (`PROMETHEUS_MULTIPROC_DIR`, set by `metrics_dir` before
prometheus_client is first imported), and the worker's `/metrics` sums them at scrape time.
livekit-agents supports that folder itself (it empties it at start and reads it in its own
metrics handler). Counters from a job process that died still count; gauges written by job
processes are `livesum` and dropped when their process is gone.

The worker's own state (calls active, readiness, storage) is read at scrape time instead:
livekit-agents empties the folder when the worker starts, after this module was imported.

Labels carry only bounded values of ours (reasons, modes, tool names), never caller data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram

_CREATE_LOCK = threading.Lock()

# per-turn latencies sit between tens of milliseconds and a few seconds
LATENCY_BUCKETS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)
TOOL_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# ---- what job processes count. Created on first use, in the job process: a metric created
# in the worker's main process before livekit-agents empties the folder at start would write
# to a deleted file, and so would every later metric of that kind in that process (its own
# lk_agents_* histograms too)
if TYPE_CHECKING:
    CALLS_STARTED: Counter
    CALLS_ENDED: Counter
    ESCALATIONS: Counter
    TRANSFERS: Counter
    BOOKINGS: Counter
    TOOL_CALLS: Counter
    RESPONSE_LATENCY: Histogram
    BARGE_IN_STOP: Histogram
    BARGE_IN_DECISIONS: Counter
    TOOL_DURATION: Histogram
    MODEL_ERRORS: Counter
    MODEL_RECONNECTS: Counter
    RECORDER_BACKLOG: Gauge

_FACTORIES: dict[str, Callable[[], Counter | Gauge | Histogram]] = {
    # calls
    "CALLS_STARTED": lambda: Counter(
        "intake_calls_started_total", "Calls answered (a replacement agent's resumed call "
        "counts once more under resumed=\"true\")", ["resumed"]),
    "CALLS_ENDED": lambda: Counter(
        "intake_calls_ended_total", "Calls ended, by end reason", ["reason"]),
    "ESCALATIONS": lambda: Counter(
        "intake_escalations_total", "Escalations to a person, by reason", ["reason"]),
    "TRANSFERS": lambda: Counter(
        "intake_transfers_total", "Transfers to a person, by mode and result",
        ["mode", "result"]),
    "BOOKINGS": lambda: Counter(
        "intake_bookings_total", "Appointments and callbacks, by kind and result",
        ["kind", "result"]),
    "TOOL_CALLS": lambda: Counter(
        "intake_tool_calls_total", "Function tool calls, by tool and outcome",
        ["tool", "outcome"]),
    # per turn
    "RESPONSE_LATENCY": lambda: Histogram(
        "intake_response_latency_seconds",
        "End of the caller's speech (local VAD) to the agent's first audio of the reply",
        buckets=LATENCY_BUCKETS),
    "BARGE_IN_STOP": lambda: Histogram(
        "intake_barge_in_stop_seconds",
        "Caller starts talking over the agent (local VAD) to the agent's audio stopping",
        buckets=LATENCY_BUCKETS),
    "BARGE_IN_DECISIONS": lambda: Counter(
        "intake_barge_in_decisions_total",
        "Caller sound over the agent, by what became of the pause: interrupted, resumed (a "
        "backchannel or noise), unconfirmed (the early cue that Silero did not confirm)",
        ["decision"]),
    "TOOL_DURATION": lambda: Histogram(
        "intake_tool_duration_seconds", "Function tool execution time", ["tool"],
        buckets=TOOL_BUCKETS),
    # the model
    "MODEL_ERRORS": lambda: Counter(
        "intake_model_errors_total", "Realtime model errors", ["recoverable"]),
    "MODEL_RECONNECTS": lambda: Counter(
        "intake_model_reconnects_total",
        "Realtime sessions reconnected after a dropped connection"),
    # the record
    "RECORDER_BACKLOG": lambda: Gauge(
        "intake_recorder_backlog_operations",
        "Call-record operations held in job memory while Redis is unreachable",
        multiprocess_mode="livesum"),
}
JOB_METRIC_NAMES = tuple(_FACTORIES)


def __getattr__(name: str) -> Counter | Gauge | Histogram:
    factory = _FACTORIES.get(name)
    if factory is None:
        raise AttributeError(name)
    with _CREATE_LOCK:
        metric = globals().get(name)
        if metric is None:
            metric = globals()[name] = factory()
    return metric


# ---- the worker's own state: read at scrape time (agent.health.WorkerStateCollector), not
# written to the multiprocess folder, which livekit-agents empties when the worker starts
WORKER_STATE_METRICS = {
    "intake_calls_active": ("gauge", "Calls this worker is running now"),
    "intake_worker_ready": ("gauge", "1 while the readiness check passes, else 0"),
    "intake_storage_up": ("gauge", "1 while the worker reaches this store, else 0 (label store)"),
    "intake_storage_outage_seconds": ("counter",
                                      "Seconds the worker could not reach this store"),
    "intake_record_writer_backlog_calls": (
        "gauge", "Calls with events in Redis not yet copied to Postgres"),
}

# label values: anything else becomes "other", so no free text ever reaches a label
END_REASONS = frozenset({
    "intake_complete", "caller_request", "escalated", "wrong_number", "abusive", "no_response",
    "time_limit", "idle_hangup", "transferred", "realtime_unavailable", "caller_hung_up",
    "voicemail", "no_answer", "shutdown",
})
ESCALATION_REASONS = frozenset({"pricing", "legal", "urgent", "human_request"})
TOOL_NAMES = frozenset({
    "record_field", "confirm_field", "list_missing_fields", "answer_business_question",
    "book_appointment", "request_callback", "escalate_to_human", "end_call",
})
TRANSFER_RESULTS = frozenset({"connected", "no_answer", "busy", "rejected", "no_trunk",
                              "connect_failed", "error", "refused"})


def bounded(value: object, allowed: frozenset[str]) -> str:
    text = str(value) if value is not None else ""
    return text if text in allowed else "other"
