"""What one monitor sample costs the loop, for 100, 1,000 and 10,000 tasks (target: < 5 ms for 1,000).

    .venv/bin/python -m bench.monitor.sampling [--rounds 5]

Three cases per size: the first sample (every task new to the sampler), a steady sample (every task still
parked where it was) and a sample after every task moved (woke up and parked again, so each chain is walked).
Side by side, two references on the same tasks: asyncio.all_tasks() alone (the floor: the cost of even asking)
and the stdlib way to get a comparable picture, repr(task) + task.get_stack(limit=1) per task. Prints the best
and the median of the rounds in milliseconds (the best is the cost itself; the median shows how much a busy
machine adds), and the ratio to the stdlib reference.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import statistics
import time
from collections.abc import Callable

from core.monitor.history import FinishedHistory
from core.monitor.sampler import TaskSampler
from core.supervisor import Supervisor, TaskRegistry

SIZES = (100, 1_000, 10_000)


async def leaf(step: asyncio.Event, gate: asyncio.Event) -> None:
    await step.wait()


async def worker(steps: list[asyncio.Event], gate: asyncio.Event) -> None:
    # parked two coroutines deep, like a real task (engine -> stream read); moves to the next Event on demand
    for step in steps:
        await leaf(step, gate)
    await gate.wait()


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000.0


async def measure(size: int, rounds: int) -> dict[str, list[float]]:
    loop = asyncio.get_running_loop()
    results: dict[str, list[float]] = {"first": [], "steady": [], "moved": [], "all_tasks": [], "stdlib": []}
    for _ in range(rounds):
        registry = TaskRegistry()
        owner = Supervisor("bench", registry=registry)
        gate = asyncio.Event()
        steps = [asyncio.Event() for _ in range(3)]
        # half supervised (owner, what from the registry), half unowned (like tornado's own tasks in the app:
        # created here without a supervisor on purpose)
        strays = []
        for n in range(size):
            if n % 2:
                owner.start(worker(steps, gate), name=f"download:{n}", what=f"download {n}")
            else:
                strays.append(loop.create_task(worker(steps, gate)))
        await asyncio.sleep(0)
        sampler = TaskSampler(registry, FinishedHistory(registry))
        gc.collect()
        sample = functools.partial(sampler.sample, loop)
        results["first"].append(timed(sample))
        results["steady"].append(timed(sample))
        steps[0].set()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        results["moved"].append(timed(sample))
        results["all_tasks"].append(timed(lambda: asyncio.all_tasks(loop)))
        results["stdlib"].append(timed(lambda: [(repr(t), t.get_stack(limit=1)) for t in asyncio.all_tasks(loop)]))
        gate.set()
        for step in steps:
            step.set()
        await asyncio.wait(strays)
        await owner.stop(1)
    return results


async def main(rounds: int) -> None:
    print(f"monitor sampling cost, ms per sample, best / median of {rounds} rounds (lower is better)")
    cases = ("first", "steady", "moved", "all_tasks", "stdlib")
    print(f"{'tasks':>7} " + " ".join(f"{c:>15}" for c in cases) + "   moved/stdlib")
    for size in SIZES:
        r = await measure(size, rounds)
        best = {c: min(r[c]) for c in cases}
        cells = " ".join(f"{best[c]:>7.2f} /{statistics.median(r[c]):>6.2f}" for c in cases)
        print(f"{size:>7} {cells}   {best['moved'] / best['stdlib']:>6.2f}x")
    print("target: < 5 ms for 1,000 tasks (any case); the monitor samples twice a second")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))
