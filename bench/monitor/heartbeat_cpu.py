"""What measuring loop lag all the time costs in CPU (target: < 1 % of one core for the heartbeat).

    .venv/bin/python -m bench.monitor.heartbeat_cpu [--seconds 5] [--rounds 3] [--loops asyncio,qasync]

On an otherwise idle loop, side by side and in alternating rounds: nothing (the reference), the heartbeat alone
(20 beats/s), heartbeat + watchdog thread, and the whole Monitor (plus sampling 100 parked tasks twice a
second). CPU is the process's user+system time (all threads) over wall time; the overhead is the difference
to the reference run of the same round. Both the plain asyncio loop and the qasync loop the window uses.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import time
from collections.abc import Callable
from typing import Any

from core.monitor import Monitor
from core.monitor.pulse import Heartbeat
from core.monitor.watchdog import Watchdog
from core.supervisor import Supervisor, TaskRegistry

CONFIGS = ("reference (idle loop)", "heartbeat", "heartbeat + watchdog", "whole monitor + 100 tasks")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_config(config: str, seconds: float) -> float:
    """CPU percent of one core used while running config for `seconds` on the running loop."""
    registry = TaskRegistry()
    owner = Supervisor("bench", registry=registry)
    beat = Heartbeat()
    watchdog = Watchdog(beat, lambda capture: None, threshold_ms=100)
    monitor = Monitor(registry=registry)
    gate = asyncio.Event()
    if config == "heartbeat" or config == "heartbeat + watchdog":
        owner.start(beat.run(), name="monitor:heartbeat")
    if config == "heartbeat + watchdog":
        watchdog.start()
    if config.startswith("whole monitor"):
        await monitor.start()
        for n in range(100):
            owner.start(gate.wait(), name=f"parked:{n}")
    await asyncio.sleep(0.5)  # settle
    wall0, cpu0 = time.monotonic(), cpu_seconds()
    await asyncio.sleep(seconds)
    wall, cpu = time.monotonic() - wall0, cpu_seconds() - cpu0
    gate.set()
    if config.startswith("whole monitor"):
        await monitor.stop(1)
    await watchdog.stop()
    await owner.stop(1)
    return cpu / wall * 100.0


async def bench(seconds: float, rounds: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {c: [] for c in CONFIGS}
    for _ in range(rounds):
        for config in CONFIGS:
            results[config].append(await run_config(config, seconds))
    return results


def qasync_runner() -> Callable[[Any], Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from gui import runtime
    from gui.loop import new_loop  # the window's own loop

    app = runtime.make_application("bench")

    def run(coro: Any) -> Any:
        with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
            return runner.run(coro)

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loops", default="asyncio,qasync")
    args = parser.parse_args()
    print(f"CPU % of one core, median of {args.rounds} alternating rounds of {args.seconds:.0f} s each")
    for kind in args.loops.split(","):
        runner = asyncio.run if kind == "asyncio" else qasync_runner()
        results = runner(bench(args.seconds, args.rounds))
        reference = statistics.median(results[CONFIGS[0]])
        print(f"\n{kind} loop")
        for config in CONFIGS:
            value = statistics.median(results[config])
            extra = "" if config == CONFIGS[0] else f"   overhead {value - reference:+.2f} %"
            print(f"  {config:<28} {value:6.2f} %{extra}")
    print("\ntarget: heartbeat overhead < 1 % of one core")


if __name__ == "__main__":
    main()
