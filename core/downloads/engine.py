"""DownloadEngine: the queue, the connection limits, the retries, the snapshots; a Component (core/app.py).

It owns one Supervisor: `download:ID` per running download (plus `download:ID:segment:N` for extra segment
connections and `download:ID:checkpoint`), and `downloads:ticker`, which every `tick` seconds samples speeds,
checkpoints progress and sends observers one batch of snapshots of the items that changed. Commands are plain
methods that return at once; their outcome arrives as snapshots. Must not import Qt.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.downloads.attempt import Run
from core.downloads.errors import (
    DuplicateDownloadError,
    PartLockedError,
    RestartNeededError,
    TransferError,
    UnknownDownloadError,
)
from core.downloads.limits import check_count, check_rate
from core.downloads.model import FINISHED, RUNNING, DownloadProgress, Item, Segment, State
from core.downloads.names import sanitize
from core.downloads.partfile import FolderSync, PartFile
from core.downloads.ratelimit import Limiter, TokenBucket
from core.downloads.retry import RetryPolicy, Timeouts
from core.downloads.scheduler import Scheduler
from core.downloads.services import Services
from core.downloads.store import Store, folder_key
from core.downloads.urls import check_sha256, host_of, split_checksum
from core.supervisor import REGISTRY, Supervisor

log = logging.getLogger("squall.downloads")
FAST_SYNC_BYTES = 64 * 1024 * 1024  # unsynced data a final sync at shutdown may flush within a short budget
SnapshotCallback = Callable[[list[DownloadProgress]], None]


class DownloadEngine:
    """Downloads URLs into folders, resumably, within limits; reports through immutable snapshots.

    Attributes:
        name: "downloads" (the Component protocol's name).
        folder: the default target folder.
        concurrency: connections at most (segments included); see set_concurrency.
        per_host: connections to one host at most.
        rate_limit: global speed limit in bytes/s (0: none).
    """

    name = "downloads"

    def __init__(
        self,
        conn: sqlite3.Connection,
        *,
        on_snapshots: SnapshotCallback,
        folder: Path | str,
        concurrency: int = 4,
        per_host: int = 4,
        rate_limit: int = 0,
        on_removed: Callable[[int], None] | None = None,
        max_segments: int = 8,
        segment_threshold: int = 64 * 1024 * 1024,
        timeouts: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        max_redirects: int = 10,
        checkpoint_interval: float = 2.0,
        tick: float = 0.1,
        restore: bool = True,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        check_count("concurrency", concurrency)
        check_count("per_host", per_host)
        check_rate(rate_limit)
        self.folder = folder_key(folder)
        self._store = Store(conn)
        self._on_snapshots = on_snapshots
        self._on_removed = on_removed
        self._scheduler = Scheduler(concurrency, per_host)
        self._limiter = Limiter(rate_limit)
        self._timeouts = timeouts or Timeouts()
        self._retry = retry or RetryPolicy()
        self._max_redirects = max_redirects
        self._max_segments = max_segments
        self._segment_threshold = segment_threshold
        self._checkpoint_interval = checkpoint_interval
        self._tick = tick
        self._restore = restore
        self._ssl_context = ssl_context
        self._items: dict[int, Item] = {}
        self._keys: dict[tuple[str, str], int] = {}  # (url, folder) -> id of an unfinished download
        self._runs: dict[int, Run] = {}
        self._buckets: dict[int, TokenBucket] = {}
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._dirty: dict[int, Item] = {}
        self._supervisor = Supervisor("downloads", logger=log)
        self._wake: asyncio.Event | None = None
        self._services: Services | None = None
        self._folders = FolderSync()
        self._started = False
        self._stopping = False
        self._stop_deadline: float | None = None

    # --- Component ----------------------------------------------------------------------------------

    @property
    def concurrency(self) -> int:
        return self._scheduler.concurrency

    @property
    def per_host(self) -> int:
        return self._scheduler.per_host

    @property
    def rate_limit(self) -> int:
        return int(self._limiter.bucket.rate)

    async def start(self) -> None:
        """Restore the queue and history from SQLite (interrupted downloads come back queued) and begin."""
        self._wake = asyncio.Event()
        self._services = Services(
            store=self._store,
            limiter=self._limiter,
            supervisor=self._supervisor,
            timeouts=self._timeouts,
            max_redirects=self._max_redirects,
            max_segments=self._max_segments,
            segment_threshold=self._segment_threshold,
            ssl_context=self._ssl_context,
            folders=self._folders,
            mark=self._mark,
            extra_slot=lambda item: self._scheduler.try_extra(item.host),
            give_slot=self._give_extra,
            bucket=lambda item: self._buckets.get(item.id),
        )
        if self._restore:
            for item in self._store.load_all():
                self._adopt(item)
        self._started = True
        self._supervisor.start(self._ticker(), name="downloads:ticker", what="download progress and checkpoints")
        self._pump()

    async def stop(self, timeout: float) -> None:
        """Stop every transfer, checkpoint each .part, cancel and await owned tasks; send the last snapshots."""
        self._stopping = True
        self._stop_deadline = time.monotonic() + timeout
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for run in self._runs.values():
            run.intent = run.intent or "stop"
            run.abort_all()
        await self._supervisor.stop(timeout)
        for run in list(self._runs.values()):  # cancelled before their task ever ran: nothing was opened
            self._runs.pop(run.item.id)
            if run.item.state in RUNNING:
                run.item.state = State.QUEUED
                self._store.save(run.item)
                self._mark(run.item)
        self._emit()
        if self._services is not None:
            await self._services.close()

    # --- commands (return at once; outcomes come back as snapshots) ---------------------------------

    def add(
        self,
        url: str,
        *,
        folder: Path | str | None = None,
        sha256: str | None = None,
        name: str | None = None,
        resume_existing: bool = False,
    ) -> int:
        """Queue a download and return its id.

        url may end in `#sha256=HEX`. With resume_existing, an unfinished download of the same URL into the
        same folder recorded in SQLite (by an earlier, interrupted run) is taken up again instead of a new one.
        Raises BadUrlError for a URL or checksum that cannot work, DuplicateDownloadError when that URL is
        already queued or running into that folder.
        """
        url, from_fragment = split_checksum(url)
        expected = check_sha256(sha256) if sha256 else from_fragment
        target = folder_key(folder) if folder is not None else self.folder
        key = (url, target)
        if key in self._keys:
            raise DuplicateDownloadError(url, self._keys[key])
        item = self._store.find_unfinished(url, target) if resume_existing else None
        if item is not None:
            item.state = State.QUEUED
            item.attempts = 0
            item.error = ""
            item.finished_at = None
            if expected:
                item.sha256_expected = expected
            self._store.save(item)
        else:
            item = Item(
                id=0,
                url=url,
                host=host_of(url),
                folder=target,
                requested_name=sanitize(name) if name else None,
                sha256_expected=expected,
            )
            item.id = self._store.insert(item)
        self._adopt(item)
        self._pump()
        return item.id

    def add_many(
        self, entries: list[tuple[str, str | None]], *, folder: Path | str | None = None, resume_existing: bool = False
    ) -> list[int]:
        """add() for many (url, sha256 or None) pairs in one database transaction; all or nothing.

        Every URL and checksum is checked before anything is queued, so one bad entry adds none.
        """
        for url, sha in entries:
            split_checksum(url)
            if sha:
                check_sha256(sha)
        with self._store.bulk():
            return [self.add(url, folder=folder, sha256=sha, resume_existing=resume_existing) for url, sha in entries]

    def pause(self, download_id: int) -> None:
        """Stop transferring and keep what is on disk; resume() continues from there."""
        item = self._get(download_id)
        if item.state in FINISHED or item.state is State.PAUSED:
            return
        if not self._halt(item, State.PAUSED, "pause"):
            self._store.save(item)

    def resume(self, download_id: int) -> None:
        """Queue a paused download again (or try a download waiting to retry right now)."""
        item = self._get(download_id)
        if item.state is State.PAUSED or (item.state is State.QUEUED and download_id in self._timers):
            self._requeue(item, reset=True)

    def retry(self, download_id: int) -> None:
        """Queue a failed or cancelled download again, with a fresh count of tries."""
        item = self._get(download_id)
        if item.state in (State.FAILED, State.CANCELLED):
            key = (item.url, item.folder)
            if key in self._keys and self._keys[key] != download_id:
                raise DuplicateDownloadError(item.url, self._keys[key])
            if item.state is State.CANCELLED:
                item.segments = [Segment(0, None)]
            item.foreign = False
            item.finished_at = None
            self._requeue(item, reset=True)

    def cancel(self, download_id: int) -> None:
        """Stop for good and delete the .part (a completed file is left alone)."""
        item = self._get(download_id)
        if item.state in FINISHED:
            return
        item.finished_at = time.time()
        if not self._halt(item, State.CANCELLED, "cancel"):
            self._store.save(item)
            self._delete_files(item, part=True)

    def remove(self, download_id: int, delete_file: bool = False) -> None:
        """Forget a download (stopping it first); with delete_file, also delete its file or .part."""
        item = self._get(download_id)
        self._cancel_timer(download_id)
        self._scheduler.discard(download_id)
        self._items.pop(download_id)
        self._dirty.pop(download_id, None)
        self._unkey(item)
        run = self._runs.get(download_id)
        if run is not None:
            run.delete_file = delete_file
            self._stop_run(download_id, "remove")
        else:
            if delete_file:
                self._delete_files(item, part=True, final=item.state is State.COMPLETED)
            elif item.state not in FINISHED:
                self._delete_files(item, part=True)  # a forgotten .part could never be resumed
        if not item.foreign:
            self._store.delete(download_id)
        if self._on_removed is not None:
            self._on_removed(download_id)

    def set_concurrency(self, n: int) -> None:
        """Change the connection limit while running (running downloads above a lowered limit finish)."""
        check_count("concurrency", n)
        self._scheduler.concurrency = n
        self._pump()

    def set_per_host(self, n: int) -> None:
        check_count("per_host", n)
        self._scheduler.per_host = n
        self._pump()

    def set_rate_limit(self, bytes_per_s: int) -> None:
        """The global speed limit in bytes/s (0: none); takes effect at once."""
        check_rate(bytes_per_s)
        self._limiter.set_rate(bytes_per_s)

    def set_item_rate_limit(self, download_id: int, bytes_per_s: int) -> None:
        """One download's own speed limit in bytes/s (0: none); the global limit still applies."""
        check_rate(bytes_per_s)
        item = self._get(download_id)
        item.rate_limit = bytes_per_s
        if bytes_per_s:
            bucket = self._buckets.get(download_id)
            if bucket is None:
                self._buckets[download_id] = TokenBucket(bytes_per_s)
            else:
                bucket.set_rate(bytes_per_s)
        else:
            self._buckets.pop(download_id, None)
        self._limiter.changed()
        self._store.save(item)
        self._mark(item)

    def items(self) -> list[DownloadProgress]:
        """Snapshots of every download, oldest first."""
        return [item.snapshot() for item in self._items.values()]

    def get(self, download_id: int) -> DownloadProgress:
        return self._get(download_id).snapshot()

    def active_ids(self) -> frozenset[int]:
        """Downloads that hold a connection right now (their task is running)."""
        return frozenset(self._runs)

    # --- internals ----------------------------------------------------------------------------------

    def _get(self, download_id: int) -> Item:
        item = self._items.get(download_id)
        if item is None:
            raise UnknownDownloadError(download_id)
        return item

    def _adopt(self, item: Item) -> None:
        self._items[item.id] = item
        if item.rate_limit:
            self._buckets[item.id] = TokenBucket(item.rate_limit)
        if item.state not in FINISHED:
            self._keys[(item.url, item.folder)] = item.id
        if item.state is State.QUEUED:
            self._scheduler.push(item.id, item.host)
        self._mark(item)

    def _unkey(self, item: Item) -> None:
        key = (item.url, item.folder)
        if self._keys.get(key) == item.id:
            del self._keys[key]

    def _set(self, item: Item, state: State, *, error: str | None = None) -> None:
        item.state = state
        if error is not None:
            item.error = error
        if state in FINISHED:
            self._unkey(item)
        else:
            self._keys[(item.url, item.folder)] = item.id
        self._mark(item)

    def _mark(self, item: Item) -> None:
        item.dirty = True
        self._dirty[item.id] = item
        if self._wake is not None:
            self._wake.set()

    def _requeue(self, item: Item, *, reset: bool) -> None:
        self._cancel_timer(item.id)
        if reset:
            item.attempts = 0
        item.next_try_at = None
        self._set(item, State.QUEUED, error="" if reset else item.error)
        if item.id not in self._runs:
            self._scheduler.push(item.id, item.host)
        self._store.save(item)
        self._pump()

    def _cancel_timer(self, download_id: int) -> None:
        handle = self._timers.pop(download_id, None)
        if handle is not None:
            handle.cancel()

    def _halt(self, item: Item, state: State, intent: str) -> bool:
        """Pause or cancel: off the queue and its timer, into `state`; True if a run was stopped (it saves)."""
        self._cancel_timer(item.id)
        self._scheduler.discard(item.id)
        self._set(item, state, error="")
        item.next_try_at = None
        return self._stop_run(item.id, intent)

    def _stop_run(self, download_id: int, intent: str) -> bool:
        run = self._runs.get(download_id)
        if run is None:
            return False
        # The run ends by itself once its transfers are aborted (it checks `intent` between steps). Cancelling its
        # task instead would skip all cleanup when the task has not started yet, leaking its slot.
        run.intent = intent
        run.abort_all()
        self._limiter.changed()  # wake a run waiting on a speed limit
        return True

    def _give_extra(self, item: Item) -> None:
        self._scheduler.give(item.host)
        self._pump()

    def _pump(self) -> None:
        """Start queued downloads while slots are free."""
        if not self._started or self._stopping:
            return
        while True:
            picked = self._scheduler.pop_next()
            if picked is None:
                return
            item = self._items.get(picked[0])
            if item is None or item.state is not State.QUEUED or item.id in self._runs:
                self._scheduler.give(picked[1])
                continue
            assert self._services is not None
            run = Run(item, self._services)
            self._runs[item.id] = run
            item.next_try_at = None
            self._set(item, State.CONNECTING)
            run.task = self._supervisor.start(
                self._drive(run), name=f"download:{item.id}", what=f"download {item.id} from {item.host}"
            )
            run.task.add_done_callback(functools.partial(self._task_ended, run))

    async def _drive(self, run: Run) -> None:
        """One attempt, then what its outcome means: done, retry later, restart now, or failed."""
        item = run.item
        item.attempts += 1
        outcome: TransferError | None = None
        try:
            await run.execute()
        except asyncio.CancelledError:
            if run.intent is None and not self._stopping:
                # Cancelled from outside the engine (the Tasks tab): end as a pause would, and say why. Queued
                # again, it would start over at once; the user asked for it to stop.
                self._paused_from_outside(run, asyncio.current_task())
                await self._release(run)
                raise
            if run.intent in (None, "stop"):
                item.state = State.QUEUED  # interrupted by shutdown: comes back queued next time
                item.error = "interrupted; it resumes when downloads start again"
                await self._release(run)
                raise
        except TransferError as exc:
            outcome = exc
        except Exception as exc:  # a bug: fail this download loudly, keep the others going
            log.exception("download %s failed unexpectedly", item.id)
            outcome = TransferError(f"internal error ({exc!r}); please report it", retryable=False)
        await self._release(run)
        if run.intent is None and outcome is not None:
            self._after_failure(item, outcome)
        if item.state is State.QUEUED and item.id not in self._timers and item.id in self._items:
            # resume() or retry() arrived while this run was winding down: it could not queue the item then.
            self._scheduler.push(item.id, item.host)
            self._pump()

    def _paused_from_outside(self, run: Run, task: asyncio.Task[Any] | None) -> None:
        item = run.item
        run.intent = "pause"  # close() keeps and syncs the .part; nothing below treats it as a failure
        why = (REGISTRY.cancel_reason(task) if task is not None else None) or "its task was cancelled"
        item.next_try_at = None
        self._set(item, State.PAUSED, error=f"paused: {why}; resume it to continue")
        log.info("download %s paused: %s", item.id, why)

    def _task_ended(self, run: Run, task: asyncio.Task[None]) -> None:
        """A run's task is done: if it was cancelled before it ever ran, _drive's cleanup never happened."""
        if self._runs.get(run.item.id) is not run or self._stopping:
            return  # it cleaned up after itself (or stop() does it)
        self._paused_from_outside(run, task)
        self._runs.pop(run.item.id)
        self._scheduler.give(run.item.host)  # nothing was opened: no connection, no .part, no spare slot
        self._store.save(run.item)
        self._pump()

    async def _release(self, run: Run) -> None:
        """Close what a run opened (after a last checkpoint), give back its slot, start the next download."""
        item = run.item
        try:
            await run.close(sync=run.intent not in ("cancel", "remove") and self._can_sync_now(item))
            if run.intent == "cancel" or (run.intent == "remove" and item.name):
                await run.io(PartFile.delete, Path(item.folder), item.name, True)
            if run.intent == "remove" and run.delete_file and item.state is State.COMPLETED:
                await run.io(PartFile.delete, Path(item.folder), item.name, False)
        finally:
            # After close(): until its body work ended, the run could still take a slot for a segment.
            for _ in range(run.spare_slots):
                self._scheduler.give(item.host)
            run.spare_slots = 0
            self._runs.pop(item.id, None)
            self._scheduler.give(item.host)
            if run.intent != "remove" and item.state is not State.COMPLETED:  # completed: saved already
                if item.state in RUNNING:
                    item.state = State.QUEUED  # _after_failure or the caller decides what comes next
                self._store.save(item, segments=len(item.segments) > 1 or run.intent == "cancel")
                self._mark(item)
            if item.state in FINISHED:
                self._unkey(item)
            self._pump()

    def _can_sync_now(self, item: Item) -> bool:
        """Whether a final fdatasync fits: always, except when stopping with little time and much unsynced data.

        Skipping it is safe: the row keeps the last checkpoint, so at worst ~2 s of progress is fetched again.
        """
        if self._stop_deadline is None:
            return True
        unsynced = item.received - item.saved
        return unsynced <= FAST_SYNC_BYTES or self._stop_deadline - time.monotonic() > 3.0

    def _after_failure(self, item: Item, error: TransferError) -> None:
        if isinstance(error, PartLockedError):
            item.foreign = True  # another process owns this row and its .part: never write over its state
        restart = isinstance(error, RestartNeededError)
        if restart:
            item.segments = [Segment(0, None)]
            item.total = item.etag = item.last_modified = None
            item.sha256_actual = None
        if error.retryable and item.attempts < self._retry.max_attempts:
            delay = 0.0 if restart else self._retry.delay(item.attempts, error.retry_after)
            item.next_try_at = time.time() + delay
            when = f"retrying in {delay:.0f} s" if delay >= 1 else "retrying"
            self._set(item, State.QUEUED, error=f"{when}: {error.reason}")
            log.info("download %s: %s: %s", item.id, when, error.reason)
            if not item.foreign:
                self._store.save(item, segments=True)
            if self._started and not self._stopping:
                loop = asyncio.get_running_loop()
                self._timers[item.id] = loop.call_later(delay, self._retry_now, item.id)
            return
        reason = error.reason
        if error.retryable:
            reason = f"{reason} (gave up after {item.attempts} tries)"
        item.next_try_at = None
        item.finished_at = time.time()
        self._set(item, State.FAILED, error=reason)
        if not item.foreign:
            self._store.save(item, segments=True)
        log.info("download %s failed: %s", item.id, reason)

    def _retry_now(self, download_id: int) -> None:
        self._timers.pop(download_id, None)
        item = self._items.get(download_id)
        if item is not None and item.state is State.QUEUED:
            self._scheduler.push(item.id, item.host)
            self._pump()

    def _delete_files(self, item: Item, *, part: bool, final: bool = False) -> None:
        if not item.name or not self._started or self._stopping or self._services is None:
            return
        executor = self._services.executor

        async def delete() -> None:
            loop = asyncio.get_running_loop()
            if part:
                await loop.run_in_executor(executor, PartFile.delete, Path(item.folder), item.name, True)
            if final:
                await loop.run_in_executor(executor, PartFile.delete, Path(item.folder), item.name, False)

        self._supervisor.start(delete(), name=f"download:{item.id}:delete", what=f"delete files of download {item.id}")

    # --- the ticker: speeds, checkpoints, snapshots --------------------------------------------------

    async def _ticker(self) -> None:
        assert self._wake is not None
        while True:
            if not self._runs and not self._dirty:
                self._wake.clear()
                await self._wake.wait()
            now = time.monotonic()
            for run in list(self._runs.values()):
                run.tick(now, self._checkpoint_interval)
            self._emit()
            await asyncio.sleep(self._tick)

    def _emit(self) -> None:
        if not self._dirty:
            return
        batch = [item.snapshot() for item in self._dirty.values()]
        for item in self._dirty.values():
            item.dirty = False
            if item.state not in RUNNING:
                item.meter.reset()
        self._dirty.clear()
        try:
            self._on_snapshots(batch)
        except Exception:  # a broken observer must not stop downloads
            log.exception("a download observer failed")
