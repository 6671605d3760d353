"""CPU load for flake hunting: busy processes that compete with the stack under test.

`python -m testbed.cpu_load --processes 2 --seconds 600` spins that many processes at normal
priority until the time is up or it is sent SIGTERM/SIGINT. Bounded in time by design: a
forgotten load generator must not outlive the run it was meant for.
"""

from __future__ import annotations

import argparse
import multiprocessing
import signal
import sys
import time


def _spin(until: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    x = 0
    while time.monotonic() < until:
        for _ in range(100_000):  # check the clock now and then, not on every loop
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testbed.cpu_load", description=__doc__)
    parser.add_argument("--processes", type=int, default=multiprocessing.cpu_count())
    parser.add_argument("--seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    if args.processes < 1 or args.seconds <= 0:
        parser.error("--processes must be >= 1 and --seconds > 0")
    until = time.monotonic() + args.seconds
    workers = [multiprocessing.Process(target=_spin, args=(until,), daemon=True)
               for _ in range(args.processes)]
    for worker in workers:
        worker.start()

    def stop(_signum: int, _frame: object) -> None:
        for worker in workers:
            worker.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
