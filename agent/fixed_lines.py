"""Every fixed line a call may play, rendered in the model's voice once, at worker start.

`render_fixed_lines_at_start` runs in the worker's main process before it registers, so job
processes (livekit-agents' `prewarm` runs in each) only read the cache and no idle process
opens a Realtime session during someone's call. If the Realtime API can't be reached (refused,
rejected key, timeout) the worker starts anyway, with one warning, on espeak-ng.

A line with caller data (the warm-transfer briefing) is rendered per call by
`private_line_pcm` and never written to disk.
"""

from __future__ import annotations

import asyncio
import logging
import time

from agent.assets import prewarm_line_texts
from agent.config import WorkerSettings
from agent.outbound import outbound_opening_text, voicemail_text
from agent.resume import every_resume_line
from agent.voice_cache import (
    cached_line,
    realtime_voice,
    store_line,
)
from agent.voice_lines import SAMPLE_RATE, RealtimeUnreachable, RealtimeVoice
from audio.speech import render_speech_pcm16
from tools.playbook import Playbook, load_playbook

logger = logging.getLogger("intake.fixed_lines")
# renderings at once (one Realtime session each)
PARALLEL_SESSIONS = 3
# a briefing is rendered while the phone rings; past this the person hears espeak-ng instead
PRIVATE_LINE_TIMEOUT_S = 8.0


def fixed_line_texts(playbook: Playbook) -> list[str]:
    """Greeting (with the AI disclosure), apology, hold message, goodbye, each escalation
    category's line, every resume line, the outbound opening and voicemail: no caller data in
    any."""
    texts = [*prewarm_line_texts(playbook),
             *every_resume_line(playbook),
             outbound_opening_text(playbook), voicemail_text(playbook)]
    return [t for t in dict.fromkeys(texts) if t.strip()]


async def render_fixed_lines(voice: RealtimeVoice, texts: list[str], *,
                             budget_s: float) -> dict[str, str]:
    """Render and cache each line not cached yet. Returns each line's outcome: "cached",
    "rendered", "espeak" (paraphrased twice or failed), "unreachable" or "late"."""
    outcomes = {t: "cached" for t in texts if cached_line(voice, t) is not None}
    missing = [t for t in texts if t not in outcomes]
    if not missing:
        return outcomes
    deadline = time.monotonic() + budget_s
    gate = asyncio.Semaphore(PARALLEL_SESSIONS)

    async def one(text: str) -> None:
        async with gate:
            left = deadline - time.monotonic()
            if left <= 0:
                outcomes[text] = "late"
                return
            try:
                pcm = await asyncio.wait_for(voice.render(text), left)
            except TimeoutError:
                outcomes[text] = "late"
                return
            if pcm is None:
                outcomes[text] = "espeak"
                logger.warning("the model did not speak a fixed line verbatim: espeak-ng used",
                               extra={"line_index": texts.index(text), "chars": len(text)})
                return
            store_line(voice, text, pcm)
            outcomes[text] = "rendered"

    # the first line tells whether the API is there at all, before the others try
    try:
        await one(missing[0])
    except RealtimeUnreachable as exc:
        logger.warning("Realtime API unreachable at start: fixed lines use espeak-ng",
                       extra={"reason": str(exc)})
        outcomes.update({t: "unreachable" for t in missing})
        return outcomes
    results = await asyncio.gather(*(one(t) for t in missing[1:]), return_exceptions=True)
    for text, result in zip(missing[1:], results, strict=True):
        if isinstance(result, BaseException):
            outcomes[text] = "espeak"
            logger.warning("a fixed line could not be rendered: espeak-ng used",
                           extra={"line_index": texts.index(text),
                                  "reason": type(result).__name__})
    if any(outcome == "late" for outcome in outcomes.values()):
        logger.warning("fixed lines not rendered in time: espeak-ng used for the rest",
                       extra={"budget_s": budget_s})
    return outcomes


async def render_fixed_lines_at_start(settings: WorkerSettings) -> dict[str, str]:
    """In the worker's main process, before it registers; bounded by
    INTAKE_VOICE_RENDER_TIMEOUT_S (an unreachable API costs only the connect timeout)."""
    if not settings.fixed_lines_in_model_voice:
        logger.info("fixed lines use espeak-ng (INTAKE_FIXED_LINES_VOICE=espeak)")
        return {}
    texts = fixed_line_texts(load_playbook(settings.playbook_path))
    started = time.monotonic()
    outcomes = await render_fixed_lines(
        realtime_voice(settings), texts,
        budget_s=settings.voice_render_timeout_s)
    counts = {kind: sum(1 for o in outcomes.values() if o == kind)
              for kind in sorted(set(outcomes.values()))}
    logger.info("fixed lines ready", extra={
        "lines": len(texts), "elapsed_ms": round((time.monotonic() - started) * 1000), **counts})
    return outcomes


async def private_line_pcm(settings: WorkerSettings, text: str) -> bytes:
    """A line with caller data in it, in the model's voice, rendered now and kept in memory
    only; espeak-ng (also not cached) when the model can't render it."""
    pcm: bytes | None = None
    if settings.fixed_lines_in_model_voice:
        try:
            pcm = await asyncio.wait_for(realtime_voice(settings).render(text),
                                         PRIVATE_LINE_TIMEOUT_S)
        except (RealtimeUnreachable, TimeoutError):
            pcm = None
        except Exception:  # whatever went wrong, the person still gets briefed
            logger.exception("rendering a call's private line failed")
            pcm = None
        if pcm is None:
            logger.warning("a call's private line was not rendered in the model's voice: "
                           "espeak-ng used")
    if pcm is not None:
        return pcm
    return await asyncio.to_thread(render_speech_pcm16, text, SAMPLE_RATE, cache=False)
