"""OpenTelemetry traces from livekit-agents (sessions, turns, tool calls, model requests) to an
OTLP/HTTP collector, when `INTAKE_OTLP_TRACES_ENDPOINT` is set (e.g.
http://127.0.0.1:4318/v1/traces). Runs in each job process, where the spans are made.

Content stays out: livekit-agents strips conversation text and tool payloads before export
(`allow_pii=False`), so no caller data leaves in a span.
"""

from __future__ import annotations

import os

ENDPOINT_ENV = "INTAKE_OTLP_TRACES_ENDPOINT"


def configure_tracing(service_name: str = "intake-worker") -> bool:
    """Install the exporter if asked; returns whether it did."""
    endpoint = os.environ.get(ENDPOINT_ENV, "").strip()
    if not endpoint:
        return False
    from livekit.agents.telemetry import set_tracer_provider
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    set_tracer_provider(provider, allow_pii=False)
    return True
