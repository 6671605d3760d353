"""Caller data at rest: the speech cache holds fixed lines only."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.assets import prerendered_frames
from agent.warm_transfer import briefing_text
from audio.speech import render_speech_pcm16
from tests.unit.test_tools_fakes import example_playbook
from tests.unit.test_voice_lines import settings_for

pytestmark = pytest.mark.unit


def cached_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_briefing_is_rendered_without_touching_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    briefing = briefing_text(example_playbook(), "pricing",
                             {"name": "Dana Smith", "phone": "+15125550142"})
    assert "Dana Smith" in briefing
    pcm = render_speech_pcm16(briefing, 8000, cache=False)
    assert len(pcm) > 0
    assert cached_files(tmp_path) == []
    # a fixed line is cached, once
    # a fixed line the worker never rendered in the model's voice: espeak-ng, cached once
    settings = settings_for("http://127.0.0.1:9/v1")
    prerendered_frames(example_playbook().transfer.hold_message, settings)
    prerendered_frames(example_playbook().transfer.hold_message, settings)
    assert len(cached_files(tmp_path)) == 1
