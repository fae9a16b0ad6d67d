"""Chat hub benchmark: the hub and two baselines (naive Tornado, websockets) under the same load, same run.

    python bench/chat/run.py [--clients 1000] [--senders 10] [--workers 4] [--servers hub,naive,websockets]

For each server, in its own process: connect the clients (load generator worker processes), measure the server's
RSS per connection, then
  paced:       1 message/s per sender to everyone (10 senders x 1,000 clients = 10,000 deliveries/s): latency
  saturation:  each sender keeps up to --window messages in flight at up to --max-rate per second: deliveries/s
and count messages lost in both (after the senders stop, workers wait until nothing has arrived for 2 s, up to
a minute, so a message still queued in a server counts as late, not lost). --max-rate stays under the hub's
20 frames/s per connection limit (it is on); the baselines get the same offered load. Prints one table (and
medians with --repeat), then the hub's ratios to each baseline.

Paced latency ("paced p99") is taken when a frame arrived (the load worker's poll reported it); "in socket" when
the kernel queued it on the client's socket, before any load worker had to run; "handled" when the worker got
round to parsing it among the hundreds of clients it serves (bench/chat/wsload.py says how). Each paced run
also prints, per broadcast, the time until its first recipient had it and from the first to the last. "steal %" is the
share of the machine's CPU time the hypervisor gave to someone else during the paced phase: on a shared VM it
sets much of the tail.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))

from bench.chat.wsload import raise_fd_limit, worker_main  # noqa: E402

ROOM = "bench"
PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * PAGE


def machine_ticks() -> tuple[int, int]:
    """(steal, total) clock ticks of all CPUs so far: time the hypervisor ran something else on our vCPUs."""
    with open("/proc/stat", encoding="ascii") as f:
        fields = [int(x) for x in f.readline().split()[1:9]]  # user nice system idle iowait irq softirq steal
    return fields[7], sum(fields)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    """One server under test, as a child process."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        # The baselines complain loudly about clients closed under them; keep that out of the results.
        out_dir = HERE.parents[1] / "bench" / "out"
        out_dir.mkdir(parents=True, exist_ok=True)
        self.log = open(out_dir / f"chat-{kind}.stderr.log", "w", encoding="utf-8")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "servers.py"), kind], stdout=subprocess.PIPE, stderr=self.log, text=True
        )
        assert self.process.stdout is not None
        ready = self.process.stdout.readline().split()
        if not ready or ready[0] != "READY":
            raise RuntimeError(f"{kind} did not start")
        self.port = int(ready[1])
        self.token = ready[2] if len(ready) > 2 else None

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.log.close()


class Load:
    """The worker processes of the load generator."""

    def __init__(self, workers: int, nice: int = 0) -> None:
        ctx = multiprocessing.get_context("fork")
        self.pipes: list[Connection] = []
        self.procs = []
        for _ in range(workers):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=worker_main, args=(theirs, nice), daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    def ask(self, command: str, args_for: list[dict[str, Any]]) -> list[Any]:
        for pipe, args in zip(self.pipes, args_for, strict=True):
            pipe.send((command, args))
        return [pipe.recv() for pipe in self.pipes]

    def close(self) -> None:
        for pipe in self.pipes:
            pipe.send(("quit", {}))
        for pipe in self.pipes:
            pipe.recv()
        for proc in self.procs:
            proc.join(timeout=10)


def percentile(samples: list[float], q: float) -> float:
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def broadcast_breakdown(results: list[dict[str, Any]]) -> str:
    """Where a broadcast's time goes, from the in-socket stamps of all workers: how long until its first
    recipient had it (the server's receive path), and from the first to the last (the write pass)."""
    spans: dict[str, list[float]] = {}
    for r in results:
        for key, (first, last) in r["spans"].items():
            span = spans.setdefault(key, [first, last])
            span[0], span[1] = min(span[0], first), max(span[1], last)
    if not spans:
        return ""
    firsts = [first / 1000 for first, _ in spans.values()]
    passes = [(last - first) / 1000 for first, last in spans.values()]

    def dist(xs: list[float]) -> str:
        return "/".join(f"{percentile(xs, q):.1f}" for q in (0.5, 0.9, 0.99)) + f"/{max(xs):.1f}"

    return (
        f"{len(spans)} broadcasts, ms p50/p90/p99/max: to the first recipient {dist(firsts)}, "
        f"first to last recipient {dist(passes)}"
    )


def summarize(results: list[dict[str, Any]], clients: int, duration: float) -> dict[str, float]:
    sent: dict[int, int] = {}
    received = 0
    latencies: list[float] = []
    handled: list[float] = []
    landed: list[float] = []
    in_window = 0
    for r in results:
        sent.update(r["sent"])
        received += sum(r["per_sender"].values())
        latencies += r["latencies_us"]
        handled += r["handled_us"]
        landed += r["landed_us"]
        in_window += r["in_window"]
    expected = sum(sent.values()) * clients
    got: dict[int, int] = {}
    for r in results:
        for sender, count in r["per_sender"].items():
            got[sender] = got.get(sender, 0) + count
    short = {s: n * clients - got.get(s, 0) for s, n in sent.items() if n * clients != got.get(s, 0)}
    if short:
        closes = [c for r in results for c in r["close_codes"]]
        who = [x for r in results for x in r["short"]][:10]
        print(
            f"    missing deliveries by sender: {short}; server close codes seen: {closes[:10]}; "
            f"(client, sender, got, others got): {who}",
            flush=True,
        )
    return {
        "received": received,
        "messages": sum(sent.values()),
        "deliveries_per_s": in_window / duration,
        "p50_ms": percentile(latencies, 0.50) / 1000,
        "p99_ms": percentile(latencies, 0.99) / 1000,
        "handled_p99_ms": percentile(handled, 0.99) / 1000,
        "landed_p99_ms": percentile(landed, 0.99) / 1000,
        "lost": expected - received,
        "rate_limited": sum(r["rate_limited"] for r in results),
        "breakdown": broadcast_breakdown(results),
    }


def bench_one(kind: str, args: argparse.Namespace) -> dict[str, Any]:
    server = Server(kind)
    load = Load(args.workers, args.nice)
    try:
        time.sleep(0.5)
        base_rss = rss_bytes(server.process.pid)
        per_worker = [args.clients // args.workers + (i < args.clients % args.workers) for i in range(args.workers)]
        firsts = [sum(per_worker[:i]) for i in range(args.workers)]
        senders = [[s for s in range(args.senders) if s % args.workers == i] for i in range(args.workers)]
        connected = load.ask(
            "connect",
            [
                {
                    "port": server.port,
                    "count": n,
                    "first": f,
                    "kind": kind,
                    "token": server.token,
                    "room": ROOM,
                    "senders": s,
                }
                for n, f, s in zip(per_worker, firsts, senders, strict=True)
            ],
        )
        time.sleep(2.0)  # joins, presence, settle
        rss_per_conn = (rss_bytes(server.process.pid) - base_rss) / args.clients
        out: dict[str, Any] = {
            "kind": kind,
            "connect_s": max(c["seconds"] for c in connected),
            "rss_per_conn_kib": rss_per_conn / 1024,
        }
        paced_rate = args.paced / args.clients / args.senders  # messages/s per sender for the paced target
        phase = {"kind": kind, "room": ROOM, "warmup": 2.0, "duration": args.duration, "drain": 2.0}
        nan = float("nan")
        skipped = {
            "deliveries_per_s": nan,
            "p50_ms": nan,
            "p99_ms": nan,
            "handled_p99_ms": nan,
            "landed_p99_ms": nan,
            "lost": "-",
            "rate_limited": "-",
        }
        cpu0, t0, ticks0 = cpu_seconds(server.process.pid), time.monotonic(), machine_ticks()
        paced: dict[str, Any] = (
            summarize(
                load.ask("phase", [{**phase, "rate": paced_rate, "window": 10_000}] * args.workers),
                args.clients,
                args.duration,
            )
            if "paced" in args.phases
            else skipped
        )
        cpu1, t1, ticks1 = cpu_seconds(server.process.pid), time.monotonic(), machine_ticks()
        if paced.get("breakdown"):
            print(f"    {kind} paced: {paced['breakdown']}", flush=True)
        sat: dict[str, Any] = (
            summarize(
                load.ask("phase", [{**phase, "rate": args.max_rate, "window": args.window}] * args.workers),
                args.clients,
                args.duration,
            )
            if "saturation" in args.phases
            else skipped
        )
        cpu2, t2 = cpu_seconds(server.process.pid), time.monotonic()
        out.update(
            {
                "paced_per_s": paced["deliveries_per_s"],
                "paced_p50_ms": paced["p50_ms"],
                "paced_p99_ms": paced["p99_ms"],
                "paced_handled_p99_ms": paced["handled_p99_ms"],
                "paced_landed_p99_ms": paced["landed_p99_ms"],
                "paced_lost": paced["lost"],
                "paced_cpu": (cpu1 - cpu0) / (t1 - t0),
                "paced_steal_pct": 100 * (ticks1[0] - ticks0[0]) / max(1, ticks1[1] - ticks0[1]),
                "sat_per_s": sat["deliveries_per_s"],
                "sat_p50_ms": sat["p50_ms"],
                "sat_p99_ms": sat["p99_ms"],
                "sat_lost": sat["lost"],
                "sat_rate_limited": sat["rate_limited"],
                "sat_cpu": (cpu2 - cpu1) / (t2 - t1),
                "sat_us_per_delivery": 1e6 * (cpu2 - cpu1) / sat["received"] if sat.get("received") else float("nan"),
            }
        )
        return out
    finally:
        load.close()
        server.stop()


COLUMNS = [
    ("kind", "server", "{}"),
    ("rss_per_conn_kib", "RSS/conn KiB", "{:.1f}"),
    ("paced_per_s", "paced deliv/s", "{:,.0f}"),
    ("paced_p50_ms", "paced p50 ms", "{:.1f}"),
    ("paced_landed_p99_ms", "p99 in socket ms", "{:.1f}"),
    ("paced_p99_ms", "paced p99 ms", "{:.1f}"),
    ("paced_handled_p99_ms", "p99 handled ms", "{:.1f}"),
    ("paced_lost", "paced lost", "{}"),
    ("paced_steal_pct", "paced steal %", "{:.1f}"),
    ("sat_per_s", "saturation deliv/s", "{:,.0f}"),
    ("sat_p99_ms", "sat p99 ms", "{:.0f}"),
    ("sat_lost", "sat lost", "{}"),
    ("sat_rate_limited", "sat rate_limited errors", "{}"),
    ("sat_cpu", "server CPU (cores)", "{:.2f}"),
    ("sat_us_per_delivery", "server CPU µs/delivery", "{:.1f}"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--workers", type=int, default=4, help="load generator processes")
    parser.add_argument("--servers", default="hub,naive,websockets")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured per phase")
    parser.add_argument("--paced", type=float, default=10_000, help="deliveries/s of the paced phase")
    parser.add_argument("--max-rate", type=float, default=18.0, help="messages/s per sender at saturation")
    parser.add_argument("--window", type=int, default=20, help="messages per sender in flight at saturation")
    parser.add_argument("--phases", default="paced,saturation", help="which phases to run")
    parser.add_argument("--nice", type=int, default=0, help="niceness of the load processes (servers keep 0)")
    parser.add_argument("--repeat", type=int, default=1, help="run the whole list of servers this many times")
    args = parser.parse_args()
    raise_fd_limit()
    print(
        f"chat bench: {args.clients} clients, {args.senders} senders, 100-byte messages, {args.workers} load "
        f"processes, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
        flush=True,
    )
    rows = []
    for kind in args.servers.split(",") * args.repeat:
        row = bench_one(kind, args)
        rows.append(row)
        print("  " + ", ".join(f"{title}={fmt.format(row[key])}" for key, title, fmt in COLUMNS), flush=True)
    print()
    print("| " + " | ".join(title for _, title, _ in COLUMNS) + " |")
    print("|" + "---|" * len(COLUMNS))
    for row in rows:
        print("| " + " | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + " |")
    if args.repeat > 1:  # one row per server: the median of its runs, for each number
        medians = []
        for kind in args.servers.split(","):
            runs = [r for r in rows if r["kind"] == kind]
            merged: dict[str, Any] = {"kind": f"{kind} (median of {len(runs)})"}
            for key, _, _ in COLUMNS[1:]:
                values = [r[key] for r in runs]
                merged[key] = statistics.median(values) if all(isinstance(v, int | float) for v in values) else values
            medians.append(merged)
        print()
        for row in medians:
            print("| " + " | ".join(fmt.format(row[key]) for key, _, fmt in COLUMNS) + " |")
        rows = [{**m, "kind": m["kind"].split()[0]} for m in medians]
    hub = next((r for r in rows if r["kind"] == "hub"), None)
    if hub is not None:
        for other in rows:
            if other is not hub:
                print(
                    f"hub / {other['kind']}: saturation {hub['sat_per_s'] / other['sat_per_s']:.2f}x, "
                    f"paced p99 {hub['paced_p99_ms'] / other['paced_p99_ms']:.2f}x, "
                    f"RSS/conn {hub['rss_per_conn_kib'] / other['rss_per_conn_kib']:.2f}x"
                )


if __name__ == "__main__":
    main()
