"""The leak check behind the autouse fixture: it reports what a test left running."""

from __future__ import annotations

import asyncio

import pytest

from tests.task_leaks import unfinished_tasks

pytestmark = pytest.mark.unit


async def test_a_task_left_running_is_reported_and_a_finished_one_is_not() -> None:
    before = asyncio.all_tasks()
    done = asyncio.create_task(asyncio.sleep(0), name="finishes")
    forever = asyncio.create_task(asyncio.Event().wait(), name="runs-forever")
    leaked = await unfinished_tasks(before, grace_s=0.2)
    assert done.done()
    assert [t.get_name() for t in leaked] == ["runs-forever"]
    forever.cancel()
    with pytest.raises(asyncio.CancelledError):
        await forever


async def test_a_task_cancelled_at_teardown_gets_its_grace_to_finish() -> None:
    before = asyncio.all_tasks()

    async def slow_cleanup() -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0.1)  # cleanup that takes a moment
            raise

    task = asyncio.create_task(slow_cleanup())
    await asyncio.sleep(0)
    task.cancel()
    assert await unfinished_tasks(before, grace_s=1.0) == []
