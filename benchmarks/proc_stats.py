"""CPU and memory of one process tree, read from /proc (Linux): the worker's main process, its
forkserver and its job processes, and nothing else on the machine."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    task_dir = Path(f"/proc/{pid}/task")
    try:
        for task in task_dir.iterdir():
            text = (task / "children").read_text()
            kids.extend(int(p) for p in text.split())
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return kids


def process_tree(root: int) -> list[int]:
    seen: list[int] = []
    stack = [root]
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.append(pid)
        stack.extend(_children(pid))
    return seen


def cpu_ticks(pid: int) -> int | None:
    """utime + stime of the process (all its threads), in clock ticks."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def pss_kb(pid: int) -> int | None:
    """Proportional set size: shared pages count once over the processes sharing them."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    return None


@dataclass
class TreeCpuMeter:
    """CPU seconds used by a process tree over a window, sampled so that processes which
    start and end inside the window are counted (to within one sampling interval)."""

    root: int
    _last: dict[int, int] = field(default_factory=dict)
    _used_ticks: int = 0
    _started: float = 0.0

    def start(self) -> None:
        self._last = {pid: t for pid in process_tree(self.root)
                      if (t := cpu_ticks(pid)) is not None}
        self._used_ticks = 0
        self._started = time.monotonic()

    def sample(self) -> None:
        for pid in process_tree(self.root):
            ticks = cpu_ticks(pid)
            if ticks is None:
                continue
            self._used_ticks += ticks - self._last.get(pid, 0)  # a new process: all its ticks
            self._last[pid] = ticks

    def cores(self) -> float:
        self.sample()
        elapsed = time.monotonic() - self._started
        return (self._used_ticks / CLOCK_TICKS) / elapsed if elapsed > 0 else 0.0


def tree_pss_mb(root: int) -> float:
    return sum(kb for pid in process_tree(root) if (kb := pss_kb(pid)) is not None) / 1024
