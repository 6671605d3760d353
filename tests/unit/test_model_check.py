"""Models that will still exist: the start-up check against a server speaking OpenAI's
`GET /v1/models` (the simulator's routes), the verdicts, and `intake doctor`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from agent.cli import main
from agent.config import DEFAULT_REALTIME_MODEL, DEFAULT_TRANSCRIPTION_MODEL
from agent.model_check import WARN_WITHIN, check_models, judge, parse_models_list
from realtime_simulator.models_api import ModelEntry, add_model_routes, default_catalogue

pytestmark = pytest.mark.unit

KEY = "sk-sim"
TODAY = date(2026, 12, 1)
MODELS = {"gpt-realtime-2.1": "realtime", "gpt-transcribe": "transcription"}


@pytest.fixture
async def models_api() -> AsyncIterator[tuple[dict[str, ModelEntry], str]]:
    catalogue = default_catalogue()
    app = web.Application()
    add_model_routes(app, catalogue, KEY)
    server = TestServer(app)
    await server.start_server()
    try:
        yield catalogue, str(server.make_url("/v1"))
    finally:
        await server.close()


def test_the_defaults_are_current_models() -> None:
    catalogue = default_catalogue()
    for model in (DEFAULT_REALTIME_MODEL, DEFAULT_TRANSCRIPTION_MODEL):
        assert catalogue[model].shutdown_date is None
    # what the worker used to default to is on its way out
    assert catalogue["gpt-realtime"].shutdown_date == date(2027, 1, 20)
    assert catalogue["gpt-4o-mini-transcribe"].shutdown_date == date(2027, 2, 26)


async def test_current_models_are_ok(models_api: tuple[dict[str, ModelEntry], str]) -> None:
    _, base = models_api
    statuses = await check_models(MODELS, base_url=base, api_key=KEY, today=TODAY)
    assert [(s.model, s.verdict) for s in statuses] == [("gpt-realtime-2.1", "ok"),
                                                          ("gpt-transcribe", "ok")]


async def test_a_model_shutting_down_within_60_days_is_a_warning_naming_the_date(
        models_api: tuple[dict[str, ModelEntry], str]) -> None:
    _, base = models_api
    statuses = await check_models({"gpt-realtime": "realtime"}, base_url=base, api_key=KEY,
                                  today=date(2026, 12, 1))
    (status,) = statuses
    assert status.verdict == "retiring" and status.shutdown_date == date(2027, 1, 20)
    assert "shuts down on 2027-01-20" in status.line()
    # further out it is fine
    (later,) = await check_models({"gpt-realtime": "realtime"}, base_url=base, api_key=KEY,
                                  today=date(2027, 1, 20) - WARN_WITHIN - timedelta(days=1))
    assert later.verdict == "ok"


async def test_a_gone_model_is_an_error(models_api: tuple[dict[str, ModelEntry], str]) -> None:
    catalogue, base = models_api
    del catalogue["gpt-transcribe"]  # withdrawn: no longer listed
    statuses = await check_models(MODELS, base_url=base, api_key=KEY, today=TODAY)
    assert [s.verdict for s in statuses] == ["ok", "gone"]
    assert statuses[1].line() == ("error: transcription model gpt-transcribe is no longer "
                                  "available (not in the models list for this API key)")
    (past,) = await check_models({"gpt-realtime": "realtime"}, base_url=base, api_key=KEY,
                                 today=date(2027, 1, 20))
    assert past.verdict == "gone" and "shut down on 2027-01-20" in past.line()


async def test_no_models_list_decides_nothing(
        models_api: tuple[dict[str, ModelEntry], str]) -> None:
    _, base = models_api
    statuses = await check_models(MODELS, base_url=base, api_key="wrong", today=TODAY)
    assert {s.verdict for s in statuses} == {"unchecked"}
    assert "API key was refused" in statuses[0].line()
    statuses = await check_models(MODELS, base_url="http://127.0.0.1:9/v1", api_key=KEY,
                                  today=TODAY)
    assert {s.verdict for s in statuses} == {"unchecked"}


def test_parsing_tolerates_odd_entries() -> None:
    listed = parse_models_list({"object": "list", "data": [
        {"id": "a", "shutdown_date": "2027-01-20"}, {"id": "b", "shutdown_date": None},
        {"id": "c", "shutdown_date": "soon"}, {"nope": 1}, "junk"]})
    assert listed == {"a": date(2027, 1, 20), "b": None, "c": None}
    assert [s.verdict for s in judge({"a": "x", "z": "y"}, listed, TODAY)] == ["retiring",
                                                                               "gone"]


async def test_retrieve_answers_404_for_an_unknown_model(
        models_api: tuple[dict[str, ModelEntry], str]) -> None:
    import aiohttp

    _, base = models_api
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {KEY}"}) as http:
        async with http.get(f"{base}/models/gpt-realtime") as ok:
            assert (await ok.json())["shutdown_date"] == "2027-01-20"
        async with http.get(f"{base}/models/gpt-9") as missing:
            assert missing.status == 404
            assert (await missing.json())["error"]["code"] == "model_not_found"


def test_doctor_prints_the_same_check(monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    from agent import model_check

    soon = datetime.now(UTC).date() + timedelta(days=30)

    async def fake_fetch(base_url: str, api_key: str, **_: object) -> dict[str, date | None]:
        return {"gpt-realtime": soon, "gpt-transcribe": None}

    monkeypatch.setattr(model_check, "fetch_models", fake_fetch)
    for key, value in {"LIVEKIT_URL": "ws://127.0.0.1:7880", "LIVEKIT_API_KEY": "k",
                       "LIVEKIT_API_SECRET": "s" * 32, "OPENAI_API_KEY": "sk",
                       "INTAKE_REALTIME_MODEL": "gpt-realtime",
                       "INTAKE_TRANSCRIPTION_MODEL": "gpt-4o-mini-transcribe"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("INTAKE_PLAYBOOK", raising=False)
    monkeypatch.delenv("INTAKE_ENV", raising=False)
    code = main(["doctor"])
    out = capsys.readouterr().out
    assert code == 2
    assert "ok: configuration (development)" in out
    assert f"warning: realtime model gpt-realtime shuts down on {soon.isoformat()}" in out
    assert ("error: transcription model gpt-4o-mini-transcribe is no longer available" in out)
