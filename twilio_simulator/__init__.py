"""A local server speaking Twilio's REST API (Elastic SIP Trunking v1 and the bits of 2010-04-01
that provisioning reads), so the real `twilio` client runs unchanged against it in tests."""

from __future__ import annotations

from twilio_simulator.requests import RecordedRequest
from twilio_simulator.server import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    TwilioSimulator,
)

__all__ = ["DEFAULT_ACCOUNT_SID", "DEFAULT_AUTH_TOKEN", "RecordedRequest", "TwilioSimulator"]
