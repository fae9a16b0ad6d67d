"""Benchmark the Downloads tab: loop lag and repaints with 1,000 items in the list and 16 downloads at full
loopback speed, side by side with the same 16 downloads run by the engine alone (no Qt) as the reference.

    .venv/bin/python bench/downloads_tab/run.py [--rounds 3] [--port 8091]

Files and nginx come from bench/downloads/run.py (16 x 64 MiB and 2,000 x 16 KiB in bench/out/files, served on
127.0.0.1 with bench/downloads/nginx.conf). Once, a template profile gets 984 small files downloaded through the
real tab, so every round starts from a list of 984 completed items. Each round then runs, alternating, each in a
fresh process:
  headless  the engine on a plain asyncio loop, 16 x 64 MiB at 16 connections, with the loop-lag probe
  tab       the real window (offscreen, 1260 x 780, shown) on qasync over a copy of the template profile:
            the same 16 x 64 MiB added through the tab (1,000 rows), the same probe
  qasync    the engine alone again, on the window's kind of loop (qasync over a QApplication), no window: the
            reference that separates what the loop costs from what the tab costs
The probe is bench/downloads' method: sleep 10 ms in a loop and record how late each wake-up is. The tab run also
counts dataChanged signals, list repaints (paint events of the view's viewport), graph repaints and the time each
refresh tick takes, against the bytes moved (one network read is at most 256 KiB).
Prints every run and the medians with tab / headless ratios. Not a test: nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
BIG = [f"m64/{i:02d}.bin" for i in range(16)]
SMALL = [f"k16/{i:04d}.bin" for i in range(984)]
READ_CHUNK = 256 * 1024


def _engine_bench() -> Any:
    """bench/downloads/run.py, for its file generation and nginx (the same files, server and config)."""
    spec = importlib.util.spec_from_file_location("bench_downloads_run", ROOT / "bench" / "downloads" / "run.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def pick(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def lag_summary(lags: list[float]) -> dict[str, float]:
    lags = sorted(lags)
    return {"samples": len(lags), "p50": pick(lags, 0.5), "p99": pick(lags, 0.99), "max": lags[-1]}


async def probe(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.01)
        lags.append((loop.time() - before - 0.01) * 1000)


async def until(predicate: Any, what: str, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- child: the engine alone -----------------------------------------------------------------------------------


async def headless(urls: list[str], dest: Path, scratch: Path) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from core import db
    from core.downloads import DownloadEngine
    from core.downloads.model import FINISHED
    from core.schema import PROFILE_MIGRATIONS

    conn = db.connect(scratch / "headless.db")
    db.migrate(conn, PROFILE_MIGRATIONS, what="bench")
    done = asyncio.Event()
    states: dict[int, Any] = {}

    def on_snapshots(batch: list[Any]) -> None:
        for p in batch:
            states[p.id] = p.state
        if len(states) == len(urls) and all(s in FINISHED for s in states.values()):
            done.set()

    engine = DownloadEngine(conn, on_snapshots=on_snapshots, folder=dest, concurrency=16, per_host=16, restore=False)
    lags: list[float] = []
    stop = asyncio.Event()
    await engine.start()
    started, cpu = time.monotonic(), cpu_seconds()
    prober = asyncio.ensure_future(probe(stop, lags))
    engine.add_many([(u, None) for u in urls])
    await done.wait()
    wall, cpu = time.monotonic() - started, cpu_seconds() - cpu
    stop.set()
    await prober
    await engine.stop(5)
    conn.close()
    received = sum(p.received for p in engine.items())
    return {"wall": wall, "cpu": cpu, "bytes": received, **lag_summary(lags)}


# --- child: the real tab ---------------------------------------------------------------------------------------


def tab(urls: list[str], profile: Path, dest: Path, *, prepare: bool) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from core.app import AppCore
    from core.downloads.model import FINISHED
    from core.downloads.preferences import DownloadPreferences
    from core.profile import open_profile
    from gui.downloads.panel import DownloadsPanel
    from gui.features import build_features, components_in_start_order
    from gui.loop import new_loop  # the window's own loop
    from gui.main_window import MainWindow
    from gui.runtime import make_application
    from tests.gui.paints import PaintCounter

    app = make_application()

    async def main() -> dict[str, Any]:
        core = AppCore(open_profile(data_dir=profile))
        prefs = DownloadPreferences(core.settings)
        prefs.set_folder(dest)
        prefs.set_concurrency(16)
        prefs.set_per_host(16)
        prefs.set_clipboard_offer(False)
        features = build_features(core)
        await core.start(components_in_start_order(features))
        window = MainWindow(core.settings, core.profile.name, core.profile.auto, features)
        window.resize(1260, 780)
        window.show()
        panel = window.tabs.widget(0)
        assert isinstance(panel, DownloadsPanel)
        before = len(panel.engine.items())
        await until(lambda: panel.model.rowCount() >= before, "the restored list")

        ticks: list[float] = []
        refresh = panel.refresh

        def timed_refresh() -> None:
            t0 = time.perf_counter()
            refresh()
            ticks.append((time.perf_counter() - t0) * 1000)

        panel.timer.timeout.disconnect()
        panel.timer.timeout.connect(timed_refresh)
        counter = PaintCounter()
        panel.view.viewport().installEventFilter(counter)
        signals, graph_paints = panel.model.data_changed_signals, panel.graph.paints
        lags: list[float] = []
        stop = asyncio.Event()
        started, cpu = time.monotonic(), cpu_seconds()
        prober = asyncio.ensure_future(probe(stop, lags))
        panel.add_bar.field.setPlainText("\n".join(urls))  # as a paste: the new rows are selected and scrolled to
        ids = panel.add_from_field()
        assert len(ids) == len(urls), panel.add_bar.message.text()
        visible: list[tuple[int, int]] = []
        while not all((p := panel.model.by_id(i)) is not None and p.state in FINISHED for i in ids):
            await asyncio.sleep(0.02)
            view = panel.view
            visible.append((view.rowAt(0), view.rowAt(view.viewport().height() - 1)))
        wall, cpu = time.monotonic() - started, cpu_seconds() - cpu
        stop.set()
        await prober
        rows = panel.model.rowCount()
        panel.view.viewport().removeEventFilter(counter)
        repaints = []  # what one repaint of the list costs with 1,000 rows (synchronous, the rows on screen)
        for _ in range(30):
            t0 = time.perf_counter()
            panel.view.viewport().repaint()
            repaints.append((time.perf_counter() - t0) * 1000)
        failed = [p.error for i in ids if (p := panel.model.by_id(i)) is not None and p.state.value != "completed"]
        result = {
            "wall": wall,
            "cpu": cpu,
            "rows": rows,
            "bytes": sum(panel.engine.get(i).received for i in ids),
            "failed": failed,
            "data_changed": panel.model.data_changed_signals - signals,
            "list_paints": counter.paints,
            "graph_paints": panel.graph.paints - graph_paints,
            "tick_p99_ms": pick(sorted(ticks), 0.99) if ticks else 0.0,
            "tick_max_ms": max(ticks) if ticks else 0.0,
            "ticks": len(ticks),
            "visible": visible[len(visible) // 2] if visible else None,
            "repaint_ms": statistics.median(repaints),
            **(lag_summary(lags) if lags else {}),
        }
        window.hide()
        await core.stop(5 if prepare else 1.5)
        window.allow_close()
        window.close()
        core.profile.release()
        return result

    with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
        return runner.run(main())


# --- the parent: rounds, alternating ---------------------------------------------------------------------------


def child(mode: str, port: int, profile: Path, dest: Path, scratch: Path) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--child", mode, "--port", str(port), "--profile", str(profile),
            "--dest", str(dest), "--scratch", str(scratch)]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=900)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{mode} run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return dict(json.loads(lines[-1]))


def describe(mode: str, r: dict[str, Any]) -> str:
    mib_s = r["bytes"] / r["wall"] / 2**20
    text = (
        f"{mode:8s} wall {r['wall']:6.2f} s  cpu {r['cpu']:6.2f} s  {mib_s:7.1f} MiB/s  "
        f"lag p50 {r['p50']:5.1f}  p99 {r['p99']:5.1f}  max {r['max']:6.1f} ms ({r['samples']} samples)"
    )
    if mode == "tab":
        per_s = {k: r[k] / r["wall"] for k in ("data_changed", "list_paints", "graph_paints")}
        reads = r["bytes"] / READ_CHUNK / r["wall"]
        text += (
            f"\n         {r['rows']} rows; per second: {per_s['data_changed']:.1f} dataChanged, "
            f"{per_s['list_paints']:.1f} list repaints, {per_s['graph_paints']:.1f} graph repaints "
            f"(vs >= {reads:.0f} network reads/s); refresh tick p99 {r['tick_p99_ms']:.1f} ms, "
            f"max {r['tick_max_ms']:.1f} ms over {r['ticks']} ticks; one list repaint {r['repaint_ms']:.1f} ms; "
            f"rows on screen {r['visible']}"
        )
        if r["failed"]:
            text += f"\n         NOT COMPLETED: {r['failed']}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--child", choices=("headless", "qasync", "tab", "prepare"))
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--dest", type=Path)
    parser.add_argument("--scratch", type=Path)
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}/"
    if args.child == "headless":
        print(json.dumps(asyncio.run(headless([base + rel for rel in BIG], args.dest, args.scratch))))
        return
    if args.child == "qasync":
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        sys.path.insert(0, str(ROOT))
        from PySide6.QtWidgets import QApplication

        from gui.loop import new_loop

        app = QApplication([])
        with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
            print(json.dumps(runner.run(headless([base + rel for rel in BIG], args.dest, args.scratch))))
        return
    if args.child in ("tab", "prepare"):
        rels = SMALL if args.child == "prepare" else BIG
        print(json.dumps(tab([base + rel for rel in rels], args.profile, args.dest, prepare=args.child == "prepare")))
        return

    bench = _engine_bench()
    bench.generate()
    nginx = bench.start_nginx(args.port)
    scratch = Path(tempfile.mkdtemp(prefix="squall-tab-bench-", dir=OUT))
    try:
        template, small_dest, dest = scratch / "template", scratch / "small", OUT / "dl" / "tab"
        started = time.monotonic()
        prepared = child("prepare", args.port, template, small_dest, scratch)
        print(f"template: {prepared['rows']} completed items in the list ({time.monotonic() - started:.1f} s)")
        results: dict[str, list[dict[str, Any]]] = {"headless": [], "qasync": [], "tab": []}
        for round_no in range(1, args.rounds + 1):
            for mode in results:
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir(parents=True)
                profile = scratch / f"profile-{round_no}"
                shutil.rmtree(profile, ignore_errors=True)
                shutil.copytree(template, profile, ignore=shutil.ignore_patterns(".lock", "logs"))
                os.sync()
                result = child(mode, args.port, profile, dest, scratch)
                results[mode].append(result)
                print(f"round {round_no} {describe(mode, result)}")
        summarize(results)
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(OUT / "dl" / "tab", ignore_errors=True)


def summarize(results: dict[str, list[dict[str, Any]]]) -> None:
    med = {mode: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "p50", "p99", "max")}
           for mode, rs in results.items()}  # fmt: skip
    for mode, m in med.items():
        print(f"median {mode:8s} wall {m['wall']:.2f} s  cpu {m['cpu']:.2f} s  "
              f"lag p50 {m['p50']:.1f}  p99 {m['p99']:.1f}  max {m['max']:.1f} ms")  # fmt: skip
    t = med["tab"]
    for ref in ("headless", "qasync"):
        h = med[ref]
        print(f"tab / {ref}: wall {t['wall'] / h['wall']:.2f}x, cpu {t['cpu'] / h['cpu']:.2f}x, "
              f"lag p99 {t['p99'] / max(h['p99'], 0.01):.2f}x")  # fmt: skip
    worst = max(results["tab"], key=lambda r: r["p99"])
    print(f"targets (tab): p99 < 16 ms, max < 50 ms; worst round p99 {worst['p99']:.1f} ms, max {worst['max']:.1f} ms")


if __name__ == "__main__":
    main()
