"""What the playbook's call limits do when their timers fire: wrap up, end, nudge, hang up.

None of them acts while a warm transfer holds the caller, or while a supervisor has taken the
call over: the transfer, or the person, owns the call then.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from agent.call_ending import CallEnding
from agent.call_limits import CallTimers
from agent.call_runtime import CallRuntime
from state.protocols import STATUS


def start_call_timers(runtime: CallRuntime, ending: CallEnding) -> CallTimers:
    limits = runtime.playbook.call_limits

    def say(instructions: str) -> None:
        if runtime.session is not None:
            runtime.session.generate_reply(instructions=instructions)

    async def wrap_up() -> None:
        runtime.record(STATUS, {"status": "wrap_up_warning"})
        say(f"Say: {limits.wrap_up_say} Then ask only for the most important detail that is "
            "still missing.")

    async def time_up() -> None:
        runtime.record(STATUS, {"status": "time_limit"})
        await ending.say_goodbye_and_hang_up("time_limit")

    async def idle_prompt() -> None:
        runtime.record(STATUS, {"status": "idle_prompt"})
        say(f"Say exactly this and nothing else: {limits.idle_prompt}")

    async def idle_hang_up() -> None:
        runtime.record(STATUS, {"status": "idle_hangup"})
        await ending.say_goodbye_and_hang_up("idle")

    def unless_on_hold(action: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            if not runtime.on_hold and runtime.supervised_by is None:
                await action()
        return run

    timers = CallTimers(
        max_call_s=limits.max_call_seconds, warning_s=limits.wrap_up_warning_seconds,
        idle_s=limits.idle_hangup_seconds, on_wrap_up=unless_on_hold(wrap_up),
        on_time_up=unless_on_hold(time_up), on_idle_prompt=unless_on_hold(idle_prompt),
        on_idle_hang_up=unless_on_hold(idle_hang_up))
    runtime.timers = timers
    timers.start()
    return timers
