"""The console serves livekit-client from bootstrap's folder, or from INTAKE_WEB_VENDOR_DIR
(an installed package, the container image); a missing client is a clear 503."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from dashboard.views import live_audio

pytestmark = pytest.mark.unit


def _client() -> TestClient:
    route = next(r for r in live_audio.routes if getattr(r, "name", "") == "livekit_client_js")
    return TestClient(Starlette(routes=[route]))


def test_the_client_is_served_from_the_configured_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dist = tmp_path / "node_modules" / "livekit-client" / "dist"
    dist.mkdir(parents=True)
    (dist / live_audio.LIVEKIT_UMD).write_text("/* livekit-client */")
    monkeypatch.setenv("INTAKE_WEB_VENDOR_DIR", str(tmp_path))
    response = _client().get("/static/vendor/livekit-client.umd.js")
    assert response.status_code == 200
    assert response.text == "/* livekit-client */"
    assert response.headers["content-type"].startswith("text/javascript")


def test_a_missing_client_is_a_503_that_says_what_to_do(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_WEB_VENDOR_DIR", str(tmp_path))
    response = _client().get("/static/vendor/livekit-client.umd.js")
    assert response.status_code == 503
    assert "scripts/bootstrap" in response.text
