"""A tool's output goes to the model, and the reply is asked for, without a round trip between.

livekit-agents sends a tool's `function_call_output` through the session's `update_chat_ctx`,
which waits for the server to confirm every item (`conversation.item.added`) before the
framework sends the reply's `response.create`: one network round trip to OpenAI on every tool
turn, while the caller waits. The Realtime API handles one session's client events in order,
so a `response.create` sent straight after the output is answered with the output in the
conversation, which is how OpenAI's function-calling guide sends them.

So when an update only adds tool outputs, the plugin's own `update_chat_ctx` runs as a task:
it sends the items at once and waits for their confirmation in the background. Everything it
does stays as it was: its lock keeps the next update behind the confirmation (the next diff
sees the outputs as sent), a rejected item is logged, and a dropped connection replays what was
not confirmed. Any other update (messages, deletions, truncations) is awaited as before, and so
is a push that could not be sent at once, so nothing is sent out of order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from livekit.agents import llm
from livekit.plugins.openai.realtime import RealtimeSession

logger = logging.getLogger("intake.realtime")

UpdateChatCtx = Callable[[llm.ChatContext], Awaitable[None]]


def send_tool_outputs_at_once(session: RealtimeSession) -> None:
    """Replace the session's `update_chat_ctx` with one that does not wait on tool outputs."""
    plugin_update: UpdateChatCtx = session.update_chat_ctx

    async def update_chat_ctx(chat_ctx: llm.ChatContext) -> None:
        if session._update_chat_ctx_lock.locked() or not only_adds_tool_outputs(session,
                                                                                chat_ctx):
            await plugin_update(chat_ctx)
            return
        push = asyncio.ensure_future(plugin_update(chat_ctx))
        # the task takes the free lock and queues the items before its first wait
        await asyncio.sleep(0)
        if not push.done() and not session._update_chat_ctx_lock.locked():
            await push  # it has not sent them yet: the reply must not go first
            return
        push.add_done_callback(_report_failure)

    session.update_chat_ctx = update_chat_ctx  # type: ignore[method-assign]


def only_adds_tool_outputs(session: RealtimeSession, chat_ctx: llm.ChatContext) -> bool:
    """The update keeps every item the server has and adds only function call outputs."""
    remote_ids = {item.id for item in session.chat_ctx.items}
    wanted_ids = {item.id for item in chat_ctx.items}
    added = [item for item in chat_ctx.items if item.id not in remote_ids]
    return (bool(added) and remote_ids <= wanted_ids
            and all(item.type == "function_call_output" for item in added))


def _report_failure(push: asyncio.Future[None]) -> None:
    if push.cancelled():
        return
    error = push.exception()
    if error is not None:
        # what livekit-agents logs when the awaited push fails; the reply was asked for anyway
        logger.warning("a tool output was not confirmed by the model",
                       extra={"error": str(error)})
