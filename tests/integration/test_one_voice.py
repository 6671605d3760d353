"""One voice for the whole call, on the real stack: the worker has the Realtime model (the
simulator, over the real wire protocol) render every fixed line once at start, before it
registers, and its job processes play those renderings, not espeak-ng."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from agent.assets import greeting_text
from agent.config import DEFAULT_PLAYBOOK, DEFAULT_REALTIME_MODEL
from agent.fixed_lines import fixed_line_texts
from agent.voice_cache import cached_line
from agent.voice_lines import RealtimeVoice
from devstack.local_call import SIM_API_KEY, LocalStack
from devstack.services import PostgresServer
from realtime_simulator import parse_scenario
from tools.playbook import load_playbook

from .test_realtime_failures import ONE_TURN

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def voice_stack(postgres_server: PostgresServer) -> AsyncIterator[LocalStack]:
    # an empty cache of its own, so this worker's start renders every line
    cache_home = tempfile.mkdtemp(prefix="intake-voice-cache-")
    database_url = postgres_server.create_database("calls_one_voice")
    stack = LocalStack(scenario=parse_scenario(ONE_TURN), database_url=database_url,
                       worker_env={"XDG_CACHE_HOME": cache_home,
                                   "INTAKE_RECORDING_DIR": cache_home + "/recordings"})
    await stack.start()
    try:
        yield stack
    finally:
        await stack.stop()


@contextmanager
def cache_home_of(stack: LocalStack) -> Iterator[None]:
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = stack.extra_worker_env["XDG_CACHE_HOME"]
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = before


def log_entries(path: Path, message: str) -> list[dict[str, Any]]:
    entries = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            entry = json.loads(line)
            if entry.get("message") == message:
                entries.append(entry)
    return entries


def out_of_band_requests(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if (e.get("response") or {}).get("conversation") == "none"]


async def test_the_greeting_is_the_models_rendering_made_at_worker_start(
        voice_stack: LocalStack) -> None:
    sim = voice_stack.simulator
    assert sim is not None
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    texts = fixed_line_texts(playbook)
    greeting = greeting_text(playbook)

    # at start, before any call: every fixed line rendered, verbatim, in the call's voice
    rendered = {r.text: r for r in sim.out_of_band}
    assert set(rendered) == set(texts) and greeting in rendered
    assert all(r.spoken == r.text and r.voice == "marin" for r in rendered.values())
    renders_at_start = len(sim.out_of_band)
    requests_at_start = len(out_of_band_requests(sim.events("client", "response.create")))
    assert requests_at_start == renders_at_start
    # the cache the job processes read holds the simulator's audio for the greeting
    voice = RealtimeVoice(base_url=sim.base_url, api_key=SIM_API_KEY,
                          model=DEFAULT_REALTIME_MODEL, voice="marin")
    with cache_home_of(voice_stack):
        assert cached_line(voice, greeting) == rendered[greeting].pcm
    worker_log = voice_stack.workers[0].log_path
    ready = log_entries(worker_log, "fixed lines ready")
    assert len(ready) == 1 and ready[0]["rendered"] == len(texts)
    # each job process loaded its greeting, apology, hold and escalation lines in that voice
    loaded = log_entries(worker_log, "fixed lines loaded")
    assert loaded and all(e["in_model_voice"] == e["lines"] for e in loaded)

    result = await voice_stack.place_call()
    assert result.report.first_agent_audio_at is not None
    assert result.report.turns[0].agent_reply_started_at is not None
    # nothing rendered during the call
    assert len(sim.out_of_band) == renders_at_start
    assert len(out_of_band_requests(sim.events("client", "response.create"))) == requests_at_start
    assert log_entries(worker_log, "Realtime API unreachable at start: fixed lines use "
                                   "espeak-ng") == []
