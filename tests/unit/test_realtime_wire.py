"""Which Realtime server frames are dropped before the plugin sees them."""

from __future__ import annotations

import pytest

from agent.realtime_wire import malformed_reason

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("frame", "reason"), [
    ("{not json", "not_json"),
    ("", "not_json"),
    ("[]", "not_an_object"),
    ('"text"', "not_an_object"),
    ("null", "not_an_object"),
    ('{"no_type": 1}', "no_type"),
    ('{"type": null}', "no_type"),
    ('{"type": 7}', "no_type"),
])
def test_frames_the_plugin_cannot_parse_are_named(frame: str, reason: str) -> None:
    assert malformed_reason(frame) == reason


@pytest.mark.parametrize("frame", [
    '{"type": "response.done", "response": {}}',
    '{"type": "an.unknown.event"}',  # the plugin itself skips what it does not know
])
def test_well_formed_events_pass(frame: str) -> None:
    assert malformed_reason(frame) is None
