"""The live-audio pages' headers and controls, without a server: a page that joins a LiveKit
room may connect to that server only and use the microphone; the controls carry the call id
and the CSRF token escaped, and no key."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from dashboard.guard import CSP
from dashboard.services import console_templates
from dashboard.views.live_audio import live_media_headers
from supervision import LiveKitSettings

pytestmark = pytest.mark.unit

SECRET = "a-server-side-secret-that-is-long-enough"
SETTINGS = LiveKitSettings(url="wss://lk.example.test", http_url="https://lk.example.test",
                           api_key="devkey", api_secret=SecretStr(SECRET), agent_name="agent")


def test_a_live_page_may_connect_to_the_livekit_server_only_and_use_the_microphone() -> None:
    headers = live_media_headers(SETTINGS)
    csp = headers["content-security-policy"]
    # the console's policy, with its one connect-src widened to the LiveKit server only
    directives = [d.strip() for d in csp.split(";")]
    assert [d for d in directives if d.startswith("connect-src")] == [
        "connect-src 'self' wss://lk.example.test https://lk.example.test"]
    assert {d for d in directives if not d.startswith("connect-src")} == {
        d.strip() for d in CSP.split(";") if not d.strip().startswith("connect-src")}
    assert "unsafe" not in csp and SECRET not in csp and "devkey" not in csp
    assert headers["permissions-policy"] == "camera=(), microphone=(self), geolocation=()"


def test_the_controls_carry_the_call_and_the_csrf_token_escaped() -> None:
    template = console_templates().get_template("live_audio_controls.html")
    html = template.render(call={"call_id": 'c1"><script>x</script>', "room": "call-c1"},
                           csrf_token="tok&en")
    assert 'data-call-id="c1&#34;&gt;&lt;script&gt;x&lt;/script&gt;"' in html
    assert 'data-csrf="tok&amp;en"' in html
    for name in ("Listen", "Stop listening", "Publish my microphone for take-over"):
        assert f">{name}</button>" in html
    assert '<script src="/static/vendor/livekit-client.umd.js"></script>' in html
