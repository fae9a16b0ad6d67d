"""Benchmark the Chat tab: event-loop lag while 200 messages a second arrive at the panel (target: p99 < 16 ms).

    .venv/bin/python bench/chat_tab/run.py [--rate 200] [--seconds 20] [--rounds 3] [--senders 16]

A hub runs as `main.py serve` (its own process, its own CPU). A sender process opens --senders WebSocket
connections and makes them say --rate messages a second in all, evenly paced (each connection stays under the
hub's 20 frames/s); the texts vary in length, some have links, some several lines. Each round then runs, each in
a fresh process, in turn:
  idle    the window's kind of loop (qasync over an offscreen QApplication) with nothing else on it: the floor
  client  the chat client alone on that loop, joined to the room, receiving everything (updates dropped)
  tab     the real Chat tab: client + panel shown at 1260 x 780, room on screen, following the newest message
The probe sleeps 5 ms again and again and records how late each wake-up is (what a click or a repaint would
wait). The tab run also times every ChatUpdate the panel applies and counts repaints of the message list.
Prints every run and the medians with tab / client ratios. Not a test: nothing here asserts the target.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PROBE = 0.005
WARMUP = 3.0


def pick(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": pick(ordered, 0.5),
        "p99": pick(ordered, 0.99),
        "max": ordered[-1] if ordered else 0,
    }


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def probe(stop: asyncio.Event, lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(PROBE)
        lags.append((loop.time() - before - PROBE) * 1000)


def text_for(n: int, sender: int) -> str:
    """Chat-like texts: mostly a line, some long, some with a link, a few on several lines."""
    base = f"message {n} from sender {sender}"
    kind = n % 10
    if kind == 0:
        return base + ": see https://example.org/issues/" + str(n) + " for the details"
    if kind == 1:
        return base + ":\nfirst line of a longer note\nand a second one"
    if kind in (2, 3):
        return base + " — " + "a somewhat longer sentence that wraps in a narrow window " * 3
    return base + " ok"


# --- child: the senders ----------------------------------------------------------------------------------------


async def senders(port: int, passphrase: str, count: int, rate: float, seconds: float) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    http = AsyncHTTPClient(force_instance=True)
    conns = []
    for k in range(count):
        body = json.dumps({"nick": f"sender{k}", "passphrase": passphrase})
        answer = await http.fetch(f"http://127.0.0.1:{port}/api/token", method="POST", body=body)
        token = json.loads(answer.body)["token"]
        request = HTTPRequest(f"ws://127.0.0.1:{port}/ws", headers={"Authorization": f"Bearer {token}"})
        conn = await websocket_connect(request)
        await conn.write_message(json.dumps({"type": "join", "room": "lobby"}))
        conns.append(conn)
    http.close()
    received = [0] * count

    async def drain(k: int) -> None:  # read everything, or the hub closes a reader that falls behind
        while await conns[k].read_message() is not None:
            received[k] += 1

    readers = [asyncio.ensure_future(drain(k)) for k in range(count)]
    print("ready", flush=True)
    sys.stdin.readline()  # the parent says when to start
    per_conn = rate / count
    loop = asyncio.get_running_loop()
    start = loop.time()
    sent = 0

    async def talk(k: int) -> None:
        nonlocal sent
        n = 0
        offset = k / rate  # spread the connections' sends evenly over each interval
        while True:
            due = start + offset + n / per_conn
            if due - start > seconds:
                return
            await asyncio.sleep(max(0.0, due - loop.time()))
            await conns[k].write_message(json.dumps({"type": "say", "room": "lobby", "text": text_for(n, k)}))
            n += 1
            sent += 1

    await asyncio.gather(*(talk(k) for k in range(count)))
    elapsed = loop.time() - start
    for conn in conns:
        conn.close()
    for reader in readers:
        reader.cancel()
    return {"sent": sent, "seconds": elapsed, "rate": sent / elapsed}


# --- child: the measured loop --------------------------------------------------------------------------------------


def measured(mode: str, port: int, passphrase: str, seconds: float, scratch: Path) -> dict[str, Any]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(ROOT))
    from core import db
    from core.chat.client import ChatClient
    from core.chat.preferences import ChatPreferences
    from core.chat.updates import ChatUpdate, LinkState, Target
    from core.schema import PROFILE_MIGRATIONS
    from core.settings import Settings
    from gui import runtime
    from gui.chat.feed import ChatFeed
    from gui.chat.panel import ChatPanel
    from gui.loop import new_loop
    from tests.gui.paints import PaintCounter

    app = runtime.make_application()
    conn = db.connect(scratch / f"{mode}.db")
    db.migrate(conn, PROFILE_MIGRATIONS, what="bench")
    prefs = ChatPreferences(Settings(conn))
    prefs.set_nick(f"reader-{mode}")

    async def main() -> dict[str, Any]:
        arrived = 0
        feed = ChatFeed()
        panel = None
        applies: list[float] = []

        def count(update: ChatUpdate) -> None:
            nonlocal arrived
            arrived += len(update.messages)

        client = None
        if mode in ("client", "tab"):
            target = Target(f"127.0.0.1:{port}", passphrase, local=False)
            client = ChatClient(conn, target, prefs.nick, on_update=feed.receive, hub_folder=None)
            feed.updated.connect(count)
        counter = PaintCounter()
        if mode == "tab":
            assert client is not None
            panel = ChatPanel(client, prefs, feed, local_address="127.0.0.1:1", window_active=lambda: True)
            feed.updated.disconnect(panel.apply)

            def timed_apply(update: ChatUpdate) -> None:
                t0 = time.perf_counter()
                panel.apply(update)
                applies.append((time.perf_counter() - t0) * 1000)

            feed.updated.connect(timed_apply)
            panel.resize(1260, 780)
            panel.show()
            panel.view.viewport().installEventFilter(counter)
        if client is not None:
            await client.start()
            deadline = time.monotonic() + 10
            while client.status.state is not LinkState.CONNECTED:
                if time.monotonic() > deadline:
                    raise TimeoutError("the client did not connect")
                await asyncio.sleep(0.05)
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # the load starts now
        await asyncio.sleep(WARMUP)  # the room fills up to the tab's row limit during the warm-up
        lags: list[float] = []
        stop = asyncio.Event()
        first, paints = arrived, counter.paints
        applies.clear()
        cpu, started = cpu_seconds(), time.monotonic()
        prober = asyncio.ensure_future(probe(stop, lags))
        await asyncio.sleep(seconds)
        stop.set()
        await prober
        wall, cpu = time.monotonic() - started, cpu_seconds() - cpu
        result: dict[str, Any] = {
            "mode": mode,
            "seconds": wall,
            "cpu": cpu,
            "arrived_per_s": (arrived - first) / wall,
            "lag_ms": summary(lags),
        }
        if panel is not None:
            result["apply_ms"] = summary(applies)
            result["paints_per_s"] = (counter.paints - paints) / wall
            result["rows"] = panel.model.rowCount()
            panel.hide()
        if client is not None:
            await client.stop(1.5)
        return result

    try:
        with asyncio.Runner(loop_factory=lambda: new_loop(app)) as runner:
            return runner.run(main())
    finally:
        conn.close()


# --- parent --------------------------------------------------------------------------------------------------------


def child(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, __file__, *args],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def wait_ready(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    line = process.stdout.readline().strip()
    if line != "ready":
        raise RuntimeError(f"a child did not get ready (said {line!r}, exit {process.poll()})")


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, _ = process.communicate(timeout=120)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if process.returncode != 0 or not lines:
        raise RuntimeError(f"a child failed (exit {process.returncode})")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def one_run(mode: str, port: int, passphrase: str, args: argparse.Namespace, scratch: Path) -> dict[str, Any]:
    total = WARMUP + args.seconds + 1
    load = child(["send", str(port), passphrase, str(args.senders), str(args.rate), str(total)])
    wait_ready(load)
    loop = child(["measure", mode, str(port), passphrase, str(args.seconds), str(scratch)])
    wait_ready(loop)
    for process in (load, loop):
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    result = finish(loop)
    result["load"] = finish(load)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=200.0, help="messages per second, all senders together")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per run (after a warm-up)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--senders", type=int, default=16, help="sender connections (each under 20 frames/s)")
    args = parser.parse_args()
    if args.rate / args.senders >= 20:
        parser.error("each sender would exceed the hub's 20 frames/s: use more --senders")
    with tempfile.TemporaryDirectory(prefix="bench-chat-tab-") as tmp:
        scratch = Path(tmp)
        hub = subprocess.Popen(
            [sys.executable, str(ROOT / "main.py"), "--data-dir", str(scratch / "hub"), "serve", "--port", "0",
             "--max-conns-per-ip", "64"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        try:
            assert hub.stdout is not None
            ready = hub.stdout.readline()
            port = int(ready.split("ws://127.0.0.1:")[1].split("/")[0])
            passphrase = (scratch / "hub" / "passphrase").read_text().strip()
            results: dict[str, list[dict[str, Any]]] = {"idle": [], "client": [], "tab": []}
            for round_no in range(1, args.rounds + 1):
                for mode in results:
                    result = one_run(mode, port, passphrase, args, scratch)
                    results[mode].append(result)
                    lag = result["lag_ms"]
                    extra = ""
                    if mode == "tab":
                        extra = (f", apply p50 {result['apply_ms']['p50']:.2f} p99 {result['apply_ms']['p99']:.2f}"
                                 f" max {result['apply_ms']['max']:.1f} ms, {result['paints_per_s']:.1f} paints/s,"
                                 f" {result['rows']} rows")  # fmt: skip
                    print(f"round {round_no} {mode:6}: lag p50 {lag['p50']:.2f} p99 {lag['p99']:.2f} "
                          f"max {lag['max']:.1f} ms, {result['arrived_per_s']:.0f} msg/s arrived "
                          f"(sent {result['load']['rate']:.0f}/s), cpu {result['cpu'] / result['seconds'] * 100:.0f} %"
                          f"{extra}", flush=True)  # fmt: skip
        finally:
            hub.terminate()
            hub.wait(timeout=10)
            if hub.stdout is not None:
                hub.stdout.close()
    print("\nmedians over", args.rounds, "rounds:")
    med: dict[str, dict[str, float]] = {}
    for mode, runs in results.items():
        med[mode] = {
            "p50": statistics.median(r["lag_ms"]["p50"] for r in runs),
            "p99": statistics.median(r["lag_ms"]["p99"] for r in runs),
            "max": statistics.median(r["lag_ms"]["max"] for r in runs),
            "cpu": statistics.median(r["cpu"] / r["seconds"] * 100 for r in runs),
            "arrived": statistics.median(r["arrived_per_s"] for r in runs),
        }
        m = med[mode]
        print(f"  {mode:6}: lag p50 {m['p50']:.2f} ms, p99 {m['p99']:.2f} ms, max {m['max']:.1f} ms, "
              f"cpu {m['cpu']:.0f} %, {m['arrived']:.0f} msg/s")  # fmt: skip
    tab, client = med["tab"], med["client"]
    p99_ratio = tab["p99"] / max(client["p99"], 1e-3)
    cpu_ratio = tab["cpu"] / max(client["cpu"], 1e-3)
    print(f"  tab / client: p99 x{p99_ratio:.2f}, cpu x{cpu_ratio:.2f}")
    print(f"  target p99 < 16 ms: {'met' if tab['p99'] < 16 else 'NOT met'} (tab p99 {tab['p99']:.2f} ms)")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "send":
        port, phrase, count, rate, seconds = sys.argv[2:7]
        result = asyncio.run(senders(int(port), phrase, int(count), float(rate), float(seconds)))
        print(json.dumps(result), flush=True)
    elif len(sys.argv) > 1 and sys.argv[1] == "measure":
        mode, port, phrase, seconds, scratch = sys.argv[2:7]
        print(json.dumps(measured(mode, int(port), phrase, float(seconds), Path(scratch))), flush=True)
    else:
        sys.exit(main())
