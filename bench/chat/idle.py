"""Idle connections: RSS per authenticated, joined, silent connection, for 10,000 of them (and the baselines).

    python bench/chat/idle.py [--connections 10000] [--workers 4] [--servers hub,naive,websockets]

Raises the fd limit to the hard limit in every process (the server needs one fd per connection, the load
generator one per client). Each hub client presents a token and joins its worker's room (4 rooms of 2,500 with
the defaults; presence is coalesced, at most 2 frames a second per room). The baselines have no rooms or auth.
RSS is read from /proc before connecting and after the connections settle, and the difference divided by the
connection count.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.chat.run import Load, Server, rss_bytes
from bench.chat.wsload import raise_fd_limit


def measure(kind: str, connections: int, workers: int, rooms: int) -> dict[str, float]:
    server = Server(kind)
    load = Load(workers)
    try:
        time.sleep(0.5)
        before = rss_bytes(server.process.pid)
        per_worker = [connections // workers + (i < connections % workers) for i in range(workers)]
        firsts = [sum(per_worker[:i]) for i in range(workers)]
        started = time.monotonic()
        # Each worker's clients join rooms named by worker; --rooms rooms in total.
        results = load.ask(
            "connect",
            [
                {
                    "port": server.port,
                    "count": n,
                    "first": f,
                    "kind": kind,
                    "token": server.token,
                    "room": f"idle{i % rooms}",
                    "senders": [],
                }
                for i, (n, f) in enumerate(zip(per_worker, firsts, strict=True))
            ],
        )
        connect_s = time.monotonic() - started
        time.sleep(3.0)  # joins and presence settle
        after = rss_bytes(server.process.pid)
        connected = sum(r["connected"] for r in results)
        return {
            "connected": connected,
            "connect_s": connect_s,
            "rss_before_mib": before / 2**20,
            "rss_after_mib": after / 2**20,
            "kib_per_conn": (after - before) / connected / 1024,
        }
    finally:
        load.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rooms", type=int, default=4, help="rooms the clients spread over (one per worker)")
    parser.add_argument("--servers", default="hub,naive,websockets")
    args = parser.parse_args()
    limit = raise_fd_limit()
    print(
        f"idle bench: {args.connections} connections, fd limit {limit}, {os.cpu_count()} CPUs, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    rows = {}
    for kind in args.servers.split(","):
        rows[kind] = row = measure(kind, args.connections, args.workers, args.rooms)
        print(
            f"  {kind}: {row['connected']} connected in {row['connect_s']:.1f} s, RSS {row['rss_before_mib']:.1f}"
            f" -> {row['rss_after_mib']:.1f} MiB, {row['kib_per_conn']:.1f} KiB per connection",
            flush=True,
        )
    if "hub" in rows:
        for kind, row in rows.items():
            if kind != "hub":
                print(f"hub / {kind}: {rows['hub']['kib_per_conn'] / row['kib_per_conn']:.2f}x memory per connection")


if __name__ == "__main__":
    main()
