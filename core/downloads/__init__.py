"""The download engine (no Qt): what the Downloads tab and `main.py get` both drive.

Layout:
    engine      DownloadEngine: the Component; queue, limits, retries, ticker, commands
    attempt     one attempt at one download: requests, resume rules, segments, hash, rename
    services    what an attempt gets from its engine: the connection pool, worker threads, shared parts
    responses   what a download reads from a response: retried statuses, validators, Content-Range
    limits      the bounds of connection counts and speed limits (engine, settings and CLI check alike)
    writer      one response's body into the .part: prepare, pwrite, inline hash, speed limits
    http        one HTTP request (Transfer): abortable, phase timeouts, body chunks to the writer
    wire        HTTP/1.1 on tornado's IOStream: the keep-alive ConnectionPool, request and response framing
    partfile    the locked NAME.part (all blocking file work, run in an executor) and the SHA-256 hasher
    store       the queue and history in SQLite (schema step 2 in core/schema.py)
    scheduler   which queued download starts next (global and per-host slots)
    ratelimit   token buckets for the global and per-download speed limits
    retry       RetryPolicy (backoff, jitter, Retry-After) and Timeouts (connect, first byte, idle, low speed)
    names       safe file names from Content-Disposition or the URL
    urls        URL and checksum checks
    model       State, the frozen DownloadProgress snapshot, the engine's mutable Item
    errors      the DownloadError tree
    cli         `main.py get`; terminal renders its progress
    intake      text a user hands a front end (typed, pasted, dropped, clipboard) -> URLs and checksums to add
    display     the words a list shows for one download: size, percent, speed, time left, state and reason
    totals      totals over the list (active, queued, speed), downloads just finished, last minute's throughput
    preferences the profile's download settings: defaults, checks, applied to a running engine as they change

API for the GUI (all commands return at once; outcomes arrive as snapshots, on the loop thread):

    engine = DownloadEngine(conn, on_snapshots=callback, folder=path, concurrency=4, per_host=4, rate_limit=0,
                            on_removed=None)      # a Component: AppCore starts it and stops it
    await engine.start()                          # restores queue and history; interrupted downloads resume
    id = engine.add(url, folder=None, sha256=None, name=None)   # BadUrlError, DuplicateDownloadError
    ids = engine.add_many([(url, sha256_or_None), ...], folder=None)   # one transaction, all or nothing
    engine.pause(id); engine.resume(id); engine.retry(id); engine.cancel(id); engine.remove(id, delete_file)
    engine.set_concurrency(n); engine.set_per_host(n); engine.set_rate_limit(bps); engine.set_item_rate_limit(id, bps)
    engine.items() -> list[DownloadProgress]; engine.get(id) -> DownloadProgress
    engine.active_ids() -> frozenset[int]        # downloads holding a connection right now
    await engine.stop(timeout)                    # checkpoints every .part, cancels and awaits its tasks

`callback(batch)` gets a list of DownloadProgress for the downloads that changed, at most once per tick
(0.1 s), so at most 10 snapshots per download per second. `on_removed(id)` hears about remove().
"""

from typing import TYPE_CHECKING

from core.downloads.errors import (
    BadUrlError,
    DownloadError,
    DuplicateDownloadError,
    UnknownDownloadError,
)
from core.downloads.model import DownloadProgress, SegmentProgress, State

if TYPE_CHECKING:
    from core.downloads.engine import DownloadEngine


def __getattr__(name: str) -> object:
    # The engine brings Tornado's HTTP client: loaded when first asked for, not by every `main.py` start that
    # only parses its arguments (importing core.downloads.cli or .terminal does not need it).
    if name == "DownloadEngine":
        from core.downloads.engine import DownloadEngine

        return DownloadEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BadUrlError",
    "DownloadEngine",
    "DownloadError",
    "DownloadProgress",
    "DuplicateDownloadError",
    "SegmentProgress",
    "State",
    "UnknownDownloadError",
]
