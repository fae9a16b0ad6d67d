"""`main.py get`: download URLs with the engine the window uses, headless. Parsing, the run, the exit status.

The data folder (--data-dir, or <platform data root>/get) holds a SQLite database with the same schema as a
profile's, so rerunning the same command finds each unfinished download and resumes it. No profile lock is
taken (two `get` commands may share the folder); each NAME.part is flocked instead. Must not import Qt.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import signal
import sqlite3
import stat
import sys
from dataclasses import replace
from pathlib import Path

from core import db
from core.cli import folder_path
from core.downloads.errors import BadUrlError, DownloadError
from core.downloads.limits import MAX_CONCURRENCY
from core.downloads.model import FINISHED, DownloadProgress, State
from core.downloads.store import Store, folder_key
from core.downloads.terminal import ProgressView, human_bytes
from core.downloads.urls import check_sha256, split_checksum
from core.errors import SquallError
from core.logs import setup_logging
from core.profile import default_root
from core.schema import PROFILE_MIGRATIONS

HELP = "download URLs without a window; rerun the same command to resume"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
RERUN = "interrupted; run the same command again to resume"
_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?(?:/s)?\s*", re.IGNORECASE)


def parse_rate(text: str) -> int:
    """'500K', '2M', '1.5MiB/s', '800000' -> bytes per second (K = 1024); 0 means no limit."""
    match = _RATE.fullmatch(text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a speed; write bytes per second like 800000, 500K, 2M or 1.5G (K = 1024)"
        )
    number, unit = float(match.group(1)), match.group(2).lower()
    rate = int(number * 1024 ** " kmgt".index(unit or " "))
    if number and not rate:
        raise argparse.ArgumentTypeError(f"{text!r} is under 1 byte per second; 0 means no limit")
    return rate


def parse_jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CONCURRENCY:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of connections from 1 to {MAX_CONCURRENCY}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("urls", nargs="+", metavar="URL", help="http:// or https:// URL; URL#sha256=HEX checks it")
    parser.add_argument(
        "-d", "--dir", dest="folder", type=folder_path, default=Path("."), metavar="DIR",
        help="save the files into DIR (default: the current folder)",
    )  # fmt: skip
    parser.add_argument(
        "-j", "--jobs", type=parse_jobs, default=4, metavar="N",
        help=f"connections at once, segments included (1-{MAX_CONCURRENCY}, default 4)",
    )  # fmt: skip
    parser.add_argument("--sha256", metavar="HEX", help="the expected SHA-256 of the file (with one URL only)")
    parser.add_argument(
        "--limit-rate", type=parse_rate, default=0, metavar="RATE",
        help="overall speed limit in bytes per second: 800000, 500K, 2M, 1.5G (K = 1024; 0 = none)",
    )  # fmt: skip


def _targets(args: argparse.Namespace) -> list[tuple[str, str | None]]:
    """(url, sha256) per distinct URL; BadUrlError for anything that cannot be downloaded."""
    if args.sha256 is not None and len(args.urls) != 1:
        raise BadUrlError("--sha256 applies to one URL; with several, append #sha256=HEX to each URL instead")
    seen: dict[str, str | None] = {}
    for text in args.urls:
        url, sha = split_checksum(text)
        if args.sha256 is not None:
            given = check_sha256(args.sha256, what="--sha256")
            if sha is not None and sha != given:
                raise BadUrlError(f"--sha256 and the #sha256= of {url} disagree; keep one")
            sha = given
        if seen.get(url) and sha and seen[url] != sha:
            raise BadUrlError(f"{url} is given twice with different checksums; keep one")
        seen[url] = sha or seen.get(url)  # the same URL with and without a checksum: one download, checked
    return list(seen.items())


def run(args: argparse.Namespace) -> int:
    if sys.stdout is None:  # started with stdout closed (>&-): downloads still run, progress goes nowhere
        sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (open until the process ends)
        print("squall get: progress output stopped: stdout is closed", file=sys.stderr)
    try:
        targets = _targets(args)
    except BadUrlError as exc:
        print(f"squall get: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.folder.exists() and not args.folder.is_dir():
        print(f"squall get: -d {args.folder} is a file, not a folder", file=sys.stderr)
        return EXIT_USAGE
    data_dir = getattr(args, "data_dir", None) or default_root() / "get"
    database = data_dir / "squall.db"
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        setup_logging(data_dir / "logs", getattr(args, "log_level", "warning"))
        conn = db.connect(database)
    except sqlite3.DatabaseError as exc:
        return _unusable(database, exc)
    except OSError as exc:
        print(
            f"squall get: cannot use the data folder {data_dir}: {exc.strerror}; pick one with --data-dir",
            file=sys.stderr,
        )
        return EXIT_FAILED
    # A file size limit (ulimit -f) must fail the one download, not kill the process with SIGXFSZ.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    logging.getLogger("tornado.general").addFilter(_demote_tls_noise)
    try:
        db.migrate(conn, PROFILE_MIGRATIONS, what="download")
        return asyncio.run(_download(conn, args, targets))
    except sqlite3.DatabaseError as exc:
        return _unusable(database, exc)
    except SquallError as exc:
        print(f"squall get: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        conn.close()


def _unusable(database: Path, exc: sqlite3.DatabaseError) -> int:
    print(
        f"squall get: the database {database} cannot be used ({exc}); "
        "move it away to start afresh, or pick another folder with --data-dir",
        file=sys.stderr,
    )
    return EXIT_FAILED


async def _download(conn: sqlite3.Connection, args: argparse.Namespace, targets: list[tuple[str, str | None]]) -> int:
    # The engine (Tornado's HTTP client) is imported when the mode runs: parsing `main.py serve` imports this too.
    from core.downloads.engine import DownloadEngine

    view = ProgressView(sys.stdout, live=sys.stdout.isatty())
    ids: list[int] = []
    latest: dict[int, DownloadProgress] = {}
    finished = asyncio.Event()  # every download ended, or the user asked us to stop
    interrupted = False
    kept, targets = _already_complete(Store(conn), folder_key(args.folder), targets)
    view.update(kept)

    def on_snapshots(batch: list[DownloadProgress]) -> None:
        latest.update((p.id, p) for p in batch)
        if ids and all(i in latest and latest[i].state in FINISHED for i in ids):
            finished.set()  # first: whatever the view does, the run ends when the downloads do
        if interrupted:  # the engine's reason speaks of the window starting downloads again; here it is a rerun
            batch = [replace(p, error=RERUN) if p.state is State.QUEUED and p.error else p for p in batch]
        view.update(batch)

    def on_signal() -> None:
        nonlocal interrupted
        interrupted = True
        finished.set()

    engine = DownloadEngine(
        conn,
        on_snapshots=on_snapshots,
        folder=args.folder,
        concurrency=args.jobs,
        per_host=args.jobs,
        rate_limit=args.limit_rate,
        restore=False,
    )
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    await engine.start()
    try:
        try:
            ids.extend(engine.add_many(targets, resume_existing=True))
        except DownloadError as exc:
            print(f"squall get: {exc}", file=sys.stderr)
            return EXIT_FAILED
        if ids:
            await finished.wait()
    finally:
        await engine.stop(5.0)
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl+C while we report must not cut the report short
    view.finish()
    if view.broken:
        print(f"squall get: progress output stopped: {view.broken}", file=sys.stderr)
    return _report({**{p.id: p for p in kept}, **{i: engine.get(i) for i in ids}}, interrupted)


def _already_complete(
    store: Store, folder: str, targets: list[tuple[str, str | None]]
) -> tuple[list[DownloadProgress], list[tuple[str, str | None]]]:
    """Split targets into those an earlier run completed into this folder, whose file is still as it was written
    (and has the checksum asked for), and those still to download. Rerunning a command after an interruption
    must not fetch again, as NAME (1), what the first run finished."""
    kept, todo = [], []
    for url, sha in targets:
        item = store.find_completed(url, folder)
        if (
            item is not None
            and item.finished_at is not None
            and sha in (None, item.sha256_actual)
            and _unchanged(Path(item.folder) / item.name, item.received, item.finished_at)
        ):
            kept.append(item.snapshot())
        else:
            todo.append((url, sha))
    return kept, todo


def _unchanged(path: Path, size: int, since: float) -> bool:
    """path is still the regular file of `size` bytes that was complete at `since` (a time.time()). `since` was
    taken after the rename into place, so a later write, a replacement (even one keeping the old mtime, as cp -p
    does) or a rename onto it shows as a newer mtime or ctime."""
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == size and max(st.st_mtime, st.st_ctime) <= since


def _demote_tls_noise(record: logging.LogRecord) -> bool:
    """tornado logs each failed TLS handshake as a WARNING; the download's own failure line already says it."""
    if record.levelno == logging.WARNING and record.getMessage().startswith("SSL Error on"):
        record.levelno, record.levelname = logging.INFO, "INFO"  # still in the log file, not on stderr
    return True


def _report(results: dict[int, DownloadProgress], interrupted: bool) -> int:
    status = EXIT_OK
    for p in results.values():
        if p.state is State.COMPLETED:
            continue
        status = EXIT_FAILED
        if p.state is State.FAILED:
            print(f"squall get: failed: {p.url}: {p.error}", file=sys.stderr)
        else:
            saved = human_bytes(p.received) + (f" of {human_bytes(p.total)}" if p.total is not None else "")
            why = "interrupted" if interrupted else p.state.value
            print(
                f"squall get: {why}: {p.url} ({saved} saved); run the same command again to resume",
                file=sys.stderr,
            )
    return status
