"""Benchmark `main.py get` against curl and aria2c, downloading from nginx on 127.0.0.1.

    .venv/bin/python bench/downloads/run.py [--rounds 3] [--cases m64,k16,g1] [--port 8089]

Generates (once) into bench/out/files: 16 x 64 MiB (m64), 2,000 x 16 KiB (k16), 1 x 1 GiB (g1); serves them with
nginx using bench/downloads/nginx.conf; then, per case, alternates rounds of curl --parallel --parallel-max 8,
aria2c (-j8; -x8 -s8 for the 1 GiB file), `main.py get -j 8`, and "curl+sha+sync": the same curl followed by what
`get` also does for every file, a SHA-256 (`openssl dgst`, which uses the CPU's SHA instructions as Python's
hashlib does; coreutils' sha256sum is ~5x slower here) and a data sync (`sync --data`), so one compares equal work.
Each run is measured with GNU time (/usr/bin/time, Debian package `time`): wall time, CPU seconds (user + sys of
the process and of what it waited for) and peak RSS. `main.py get` runs with its bytecode cached in
bench/out/pycache (one warm-up run first), as an installed Python app would; this checkout's environment sets
PYTHONDONTWRITEBYTECODE, which would otherwise add ~0.25 s of compiling to every run. For m64 it also runs the
engine in this process once per round with a loop-lag probe. The load average is printed with each case. Prints
every run and the medians with ratios to the references. Not a test: nothing here asserts a target.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "bench" / "out"
FILES = OUT / "files"
MIB = 1024 * 1024
CASES = {
    "m64": ("16 x 64 MiB", [(f"m64/{i:02d}.bin", 64 * MIB) for i in range(16)]),
    "k16": ("2,000 x 16 KiB", [(f"k16/{i:04d}.bin", 16 * 1024) for i in range(2000)]),
    "g1": ("1 x 1 GiB", [("g1/big.bin", 1024 * MIB)]),
}


@dataclass
class Result:
    tool: str
    wall: float
    cpu: float
    rss_mb: float
    ok: bool


def generate() -> None:
    for _label, files in CASES.values():
        for rel, size in files:
            path = FILES / rel
            if path.exists() and path.stat().st_size == size:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "wb") as f:
                remaining = size
                while remaining:
                    block = os.urandom(min(remaining, 16 * MIB))
                    f.write(block)
                    remaining -= len(block)


def start_nginx(port: int) -> subprocess.Popen[bytes]:
    prefix = OUT / "nginx"
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    (prefix / "listen.conf").write_text(
        f"server {{ listen 127.0.0.1:{port}; root {FILES}; location / {{ }} }}\n", encoding="ascii"
    )
    shutil.copy(Path(__file__).with_name("nginx.conf"), prefix / "nginx.conf")
    process = subprocess.Popen(
        ["nginx", "-p", f"{prefix}/", "-c", str(prefix / "nginx.conf"), "-g", f"daemon off; pid {prefix}/nginx.pid;"]
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            subprocess.run(
                ["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}/g1/big.bin", "-r", "0-0"], check=True
            )
            return process
        except subprocess.CalledProcessError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("nginx did not come up; is port free and nginx installed (apt-get install nginx)?")


def squall_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONPYCACHEPREFIX=str(OUT / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(tool: str, argv: list[str], scratch: Path) -> Result:
    """Run argv under GNU time: wall, user + sys CPU and peak RSS of that process alone.

    (os.wait4's ru_maxrss of a child forked from this Python would count this process's image too.)
    """
    report = scratch / "time.txt"
    started = time.monotonic()
    process = subprocess.run(
        ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(report), *argv],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False, env=squall_env() if tool == "squall" else None,
    )  # fmt: skip
    wall = time.monotonic() - started
    _elapsed, user, system, rss_kb = report.read_text().split()[-4:]
    if process.returncode != 0:
        print(f"  {tool} exited {process.returncode}: {process.stderr.decode(errors='replace').strip()[:300]}")
    return Result(tool, wall, float(user) + float(system), int(rss_kb) / 1024, process.returncode == 0)


def commands(case: str, urls: list[str], dest: Path, scratch: Path) -> dict[str, list[str]]:
    listing = scratch / "curl.txt"
    listing.write_text("".join(f'url = "{u}"\noutput = "{dest}/{u.rsplit("/", 1)[1]}"\n' for u in urls))
    aria_list = scratch / "aria2.txt"
    aria_list.write_text("".join(f"{u}\n" for u in urls))
    aria = ["aria2c", "-j8", "-d", str(dest), "-i", str(aria_list), "--console-log-level=warn",
            "--summary-interval=0", "--auto-file-renaming=false", "--allow-overwrite=true",
            "--file-allocation=falloc"]  # fmt: skip
    aria += ["-x8", "-s8", "-k1M"] if case == "g1" else ["-x1", "-s1"]
    squall = [sys.executable, str(ROOT / "main.py"), "get", "-j", "8", "-d", str(dest), "--data-dir",
              str(scratch / "squall-data"), *urls]  # fmt: skip
    curl = ["curl", "--parallel", "--parallel-max", "8", "-s", "-f", "--config", str(listing)]
    # sh waits for each step, so GNU time counts their CPU too; "$0" is dest, outside the quoted script.
    script = f'{shlex.join(curl)} && openssl dgst -sha256 "$0"/* >/dev/null && sync --data "$0"/*'
    checked = ["sh", "-c", script, str(dest)]
    return {"curl": curl, "aria2c": aria, "squall": squall, "curl+sha+sync": checked}


def clean(dest: Path, scratch: Path) -> None:
    shutil.rmtree(dest, ignore_errors=True)
    shutil.rmtree(scratch / "squall-data", ignore_errors=True)
    dest.mkdir(parents=True)
    os.sync()  # write-back of the previous run must not land in the next one's time


async def engine_with_lag_probe(urls: list[str], dest: Path, scratch: Path) -> tuple[float, list[float]]:
    """The engine in this process (as `get -j 8` runs it) and a probe sampling loop lag every 10 ms."""
    sys.path.insert(0, str(ROOT))
    from core import db
    from core.downloads.engine import DownloadEngine
    from core.downloads.model import FINISHED
    from core.schema import PROFILE_MIGRATIONS

    database = scratch / f"lag-{time.monotonic_ns()}.db"  # a fresh one per round
    conn = db.connect(database)
    db.migrate(conn, PROFILE_MIGRATIONS, what="bench")
    done = asyncio.Event()
    states: dict[int, object] = {}

    def on_snapshots(batch: list) -> None:  # type: ignore[type-arg]
        for s in batch:
            states[s.id] = s.state
        if len(states) == len(urls) and all(v in FINISHED for v in states.values()):
            done.set()

    engine = DownloadEngine(conn, on_snapshots=on_snapshots, folder=dest, concurrency=8, per_host=8, restore=False)
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    await engine.start()
    for url in urls:
        engine.add(url)
    while not done.is_set():
        before = loop.time()
        await asyncio.sleep(0.01)
        lags.append((loop.time() - before - 0.01) * 1000)
    wall = time.monotonic() - started
    await engine.stop(5)
    conn.close()
    return wall, lags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cases", default="m64,k16,g1")
    parser.add_argument("--port", type=int, default=8089)
    args = parser.parse_args()
    generate()
    subprocess.run([sys.executable, str(ROOT / "main.py"), "get", "--help"], env=squall_env(), check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip  # warm the bytecode cache
    nginx = start_nginx(args.port)
    scratch = Path(tempfile.mkdtemp(prefix="squall-bench-", dir=OUT))
    try:
        for case in args.cases.split(","):
            label, files = CASES[case]
            urls = [f"http://127.0.0.1:{args.port}/{rel}" for rel, _ in files]
            dest = OUT / "dl" / case
            results: dict[str, list[Result]] = {}
            print(f"\n== {label} ({case}), {args.rounds} rounds, alternating; load average {load()}")
            for round_no in range(1, args.rounds + 1):
                for tool, argv in commands(case, urls, dest, scratch).items():
                    if shutil.which(argv[0] if tool != "curl+sha+sync" else "openssl") is None:
                        continue
                    clean(dest, scratch)
                    result = measure(tool, argv, scratch)
                    results.setdefault(tool, []).append(result)
                    print(f"  round {round_no} {tool:13s} wall {result.wall:6.2f} s  cpu {result.cpu:6.2f} s  "
                          f"peak rss {result.rss_mb:6.1f} MB{'' if result.ok else '  FAILED'}")  # fmt: skip
            summarize(results)
            if case == "m64":
                p99s = []
                for round_no in range(1, args.rounds + 1):
                    clean(dest, scratch)
                    wall, lags = asyncio.run(engine_with_lag_probe(urls, dest, scratch))
                    lags.sort()
                    p99s.append(pick(lags, 0.99))
                    print(f"  in-process engine, round {round_no}: wall {wall:.2f} s; loop lag over {len(lags)} "
                          f"samples: p50 {pick(lags, 0.5):.2f} ms, p99 {p99s[-1]:.2f} ms, "
                          f"max {lags[-1]:.2f} ms")  # fmt: skip
                print(f"  loop lag p99, median of {len(p99s)} rounds: {statistics.median(p99s):.2f} ms")
            print(f"  load average after the case: {load()}")
            shutil.rmtree(dest, ignore_errors=True)
    finally:
        nginx.terminate()
        nginx.wait(10)
        shutil.rmtree(scratch, ignore_errors=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def pick(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summarize(results: dict[str, list[Result]]) -> None:
    med = {t: (statistics.median(r.wall for r in rs), statistics.median(r.cpu for r in rs),
               max(r.rss_mb for r in rs)) for t, rs in results.items()}  # fmt: skip
    print(
        "  median:  " + "  |  ".join(f"{t} wall {w:.2f} s cpu {c:.2f} s rss {m:.0f} MB" for t, (w, c, m) in med.items())
    )
    if "squall" in med:
        for ref in ("curl", "aria2c", "curl+sha+sync"):
            if ref in med:
                w, c, _ = med["squall"]
                print(f"  squall / {ref}: wall {w / med[ref][0]:.2f}x, cpu {c / med[ref][1]:.2f}x")


if __name__ == "__main__":
    main()
