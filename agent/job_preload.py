"""Imported once in livekit-agents' forkserver (`AgentServer(preload_modules=...)`), before it
freezes the garbage collector: every job process forks with the call's code and its word data
already loaded and shares those pages copy-on-write, instead of importing and loading its own
copy (`intake bench load` measures the difference per call).

Only fork-safe work belongs here: imports, pure-Python tables, the guard model's numpy weights,
the fixed lines' audio frames (plain Python objects until played) and Silero's single-threaded
ONNX session (`agent.process_vad`). No thread, event loop or socket.
"""

from __future__ import annotations

import logging

# the job's own modules, which import the rest of what a call runs (pydantic models, the
# Realtime plugin's wire types, redis, asyncpg, phonenumbers, ...)
import agent.call_session
import agent.composition
import agent.fixed_lines
import agent.model_check
import agent.tracing
import agent.worker_duties  # noqa: F401
import tools.spoken_dates  # noqa: F401
from agent.assets import prerendered_frames, prewarm_line_texts
from agent.config import load_worker_settings
from agent.process_vad import process_vad
from agent.word_data import load_word_data
from tools.escalation import EscalationGuard
from tools.playbook import load_playbook


def _preload() -> None:
    # the forkserver runs this at import; anything but an ImportError raised here would end the
    # forkserver and every call with it, so a failure only costs the sharing: each job process
    # loads what it needs itself (agent.worker.prewarm, the first date or guard check)
    try:
        load_word_data()
        process_vad()
        # the guard model learned from the playbook's examples (~3 MB of weights): the job's
        # prewarm finds it in tools.escalation_model's process cache and shares its pages
        settings = load_worker_settings()
        playbook = load_playbook(settings.playbook_path)
        EscalationGuard.from_playbook(playbook)
        # the lines every call's prewarm plays from (~2 MB of frames), read from the voice
        # cache the worker's main process filled before this forkserver started
        for text in prewarm_line_texts(playbook):
            prerendered_frames(text, settings)
    except Exception:
        logging.getLogger("intake.worker").warning("forkserver preload failed", exc_info=True)


_preload()
