"""The engine's shared parts, as one attempt (attempt.Run) sees them; the connection pool and the worker threads
are made here when the engine starts and closed here when it stops."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from core.downloads.http import make_client
from core.downloads.model import Item
from core.downloads.partfile import FolderSync, lower_thread_priority
from core.downloads.ratelimit import Limiter, TokenBucket
from core.downloads.retry import Timeouts
from core.downloads.store import Store
from core.downloads.wire import ConnectionPool
from core.supervisor import Supervisor

IO_THREADS = 4  # file opens, syncs, renames, closes
HASH_THREADS = 1  # hashing files from the page cache (at nice 10)


def _io_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="squall-downloads-io")


def _hash_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=HASH_THREADS, thread_name_prefix="squall-downloads-hash", initializer=lower_thread_priority
    )


@dataclass
class Services:
    """What an attempt needs from its engine.

    Attributes:
        client, executor, store, limiter, supervisor: shared engine parts.
        hash_executor: the one thread that hashes files from disk (so hashing never takes both cores).
        timeouts: phase timeouts.
        max_redirects: hops followed before giving up.
        max_segments: ranged connections per download at most.
        segment_threshold: files at least this big are split when the server supports ranges.
        ssl_context: None for the system's trusted certificates (tests inject their own CA).
        folders: group-committed folder fsyncs after renames.
        mark: tell the engine an item changed (next snapshot batch).
        extra_slot: take one more connection slot for a segment if one is free and nobody queues (True if taken).
        give_slot: return an extra slot.
        bucket: the per-download token bucket, or None.
    """

    store: Store
    limiter: Limiter
    supervisor: Supervisor
    timeouts: Timeouts
    max_redirects: int
    max_segments: int
    segment_threshold: int
    ssl_context: ssl.SSLContext | None
    folders: FolderSync
    mark: Callable[[Item], None]
    extra_slot: Callable[[Item], bool]
    give_slot: Callable[[Item], None]
    bucket: Callable[[Item], TokenBucket | None]
    client: ConnectionPool = field(default_factory=make_client)
    executor: ThreadPoolExecutor = field(default_factory=_io_threads)
    hash_executor: ThreadPoolExecutor = field(default_factory=_hash_threads)

    async def close(self) -> None:
        """After every run ended: close the pooled connections, the folder fds, then the threads."""
        self.client.close()
        await asyncio.get_running_loop().run_in_executor(self.executor, self.folders.close)
        self.executor.shutdown(wait=False)  # no job is left: every run waited for its own
        self.hash_executor.shutdown(wait=False)
