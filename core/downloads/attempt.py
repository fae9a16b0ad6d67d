"""One attempt at one download: requests (redirects checked hop by hop), resume rules, segments, the .part, the
hash and the final rename. The engine decides when attempts happen and what a failure means for the queue.

Resume rules (never append bytes of another version of the file):
- a .part continues only with `Range: bytes=N-` + `If-Range: <validator>`, and only a 206 whose Content-Range
  starts at N and ends at the stored length is appended; 200 means the file changed (or Range is ignored) and
  the body is written from byte 0 over a truncated .part; any other range raises RestartNeededError.
- without a validator (no strong ETag, no Last-Modified) nothing is resumed: the download starts again.
- 416 on resume: complete if every byte is already here, otherwise start again.
Segments: a fresh download asks for `bytes=0-`; a 206 for a file >= segment_threshold with a validator is split
into pieces, preallocated, and filled front to back by up to max_segments connections (extra ones taken from
free slots); each piece resumes alone.
Bodies go into the .part through writer.Writer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from core.downloads import names
from core.downloads.errors import BadUrlError, RestartNeededError, TransferError
from core.downloads.http import Response, Transfer
from core.downloads.model import Item, Segment, State
from core.downloads.partfile import Hasher, PartFile
from core.downloads.responses import (
    REDIRECTS,
    UNSATISFIED_RANGE,
    content_length,
    parse_content_range,
    status_error,
    validator,
)
from core.downloads.services import Services
from core.downloads.urls import redirect_target
from core.downloads.writer import INLINE_HASH_MAX, Writer

T = TypeVar("T")
MIN_PIECE = 4 * 1024 * 1024  # a segmented file is cut into pieces of at least this size
MAX_PIECES = 256  # and at most this many (rows in download_segments)


class Run:
    """One attempt at a download, from the first request to the renamed file (or the first failure).

    Attributes:
        item: the download.
        part: the open .part, once the name is known.
        hasher: the SHA-256 following the .part.
        memory: the whole body of a small fresh download that came in one read (no .part until it is written).
        intent: why the engine stopped this run ("pause", "cancel", "remove", "stop"), or None.
        error: the first failure of any of its connections.
        final_url: the URL after redirects (what segment connections ask for).
    """

    def __init__(self, item: Item, services: Services) -> None:
        self.item = item
        self.svc = services
        self.part: PartFile | None = None
        self.hasher: Hasher | None = None
        self.memory: bytearray | None = None  # a small fresh download's whole body (Writer._whole_body_in)
        self.disposition: str | None = None  # its Content-Disposition, for the name chosen at the end
        self.intent: str | None = None
        self.delete_file = False
        self.error: TransferError | None = None
        self.final_url = item.url
        self.task: asyncio.Task[None] | None = None
        self.transfers: set[Transfer] = set()
        self.lanes: set[asyncio.Task[None]] = set()
        self.jobs: set[Future[Any]] = set()
        self.holds: set[asyncio.Future[None]] = set()  # body work tornado is waiting for (see hold)
        self.closing = False
        self.checkpointing = False
        self.last_checkpoint = time.monotonic()
        self.generation = 0  # bumped when the .part restarts from byte 0: older checkpoints no longer apply
        self.spare_slots = 0  # extra connection slots taken but not yet given to a lane
        self._since_poke = 0

    # --- executor jobs, tracked so nothing closes the fd under a running job ------------------------

    async def io(self, fn: Callable[..., T], *args: Any) -> T:
        job = self.svc.executor.submit(fn, *args)
        self.jobs.add(job)
        try:
            return await asyncio.wrap_future(job)
        finally:
            if job.done():
                self.jobs.discard(job)

    async def wait_jobs(self) -> None:
        pending = [j for j in self.jobs if not j.done()]
        if pending:
            await asyncio.wait([asyncio.wrap_future(j) for j in pending])
        self.jobs.clear()

    async def hold(self, work: Awaitable[None]) -> None:
        """Do work that holds a response's body back (preparing the .part, waiting on a speed limit).

        Such work runs in tornado's body coroutine and can outlive the request's Transfer.run (an abort returns
        from it at once), so close() waits for it before closing what it may still touch.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.holds.add(done)
        try:
            await work
        finally:
            self.holds.discard(done)
            done.set_result(None)

    # --- control ----------------------------------------------------------------------------------

    def fail(self, error: TransferError) -> None:
        """Record the first failure and stop every connection of this run."""
        if self.error is None:
            self.error = error
        self.abort_all()

    def abort_all(self, error: TransferError | None = None) -> None:
        for transfer in list(self.transfers):
            transfer.abort(error)

    # --- the attempt ------------------------------------------------------------------------------

    async def execute(self) -> None:
        """Download until complete (state COMPLETED, or FAILED on a checksum mismatch); raise TransferError."""
        item = self.item
        if item.name:
            await self._open_existing()
            if self.part is not None and self.part.already_final:
                await self._complete_existing()
                return
        if len(item.segments) > 1:
            await self._run_segments()
        else:
            await self._single()
        if self.error is not None:
            raise self.error
        await self._finish()

    async def _open_existing(self) -> None:
        item = self.item
        self.part = await self.io(PartFile.reopen, Path(item.folder), item.name)
        self.hasher = Hasher(self.part.path, self.svc.hash_executor)
        size = await self.io(self.part.size)
        if len(item.segments) == 1:
            segment = item.segments[0]
            keep = min(segment.saved, segment.received, size)
            if size > keep:
                await self.io(self.part.truncate, keep)  # bytes past the last checkpoint are not trusted
            segment.received = segment.saved = keep
        elif size < (item.total or 0):
            # The preallocated .part is gone or short: its segments cannot be trusted.
            item.segments = [Segment(0, item.total)]
            await self.io(self.part.truncate, 0)

    async def _complete_existing(self) -> None:
        """A crash hit between linking the final name and removing the .part: the file is complete."""
        item = self.item
        assert self.part is not None
        final = Path(item.folder) / item.name
        hasher = Hasher(final, self.svc.hash_executor)
        try:
            item.sha256_actual = await hasher.result(item.total or 0)
        finally:
            await hasher.close()
        await self.io(self.part.close)
        self.part = None
        self._set_done()

    # --- single stream ------------------------------------------------------------------------------

    async def _single(self) -> None:
        item = self.item
        segment = item.segments[0]
        headers: dict[str, str] = {}
        resume_from = segment.received
        if resume_from > 0 and (item.no_ranges or validator(item) is None or item.total is None):
            resume_from = 0  # nothing proves the server still has this version: start again
        if resume_from > 0:
            headers["Range"] = f"bytes={resume_from}-"
            headers["If-Range"] = validator(item) or ""
        elif not item.no_ranges:
            headers["Range"] = "bytes=0-"  # also tells us whether ranges (and so segments) work
        writer = Writer(self, segment)

        def on_headers(response: Response) -> None:
            if response.code == 200:
                if resume_from > 0:
                    writer.restart = True  # the file changed, or Range was ignored: rewrite from byte 0
                item.total = content_length(response)
                self._take_validators(response)
                segment.end = item.total
            elif response.code == 206:
                self._accept_206(response, resume_from, writer)
            else:
                return
            if resume_from == 0:
                writer.restart = True
            self.svc.mark(item)

        segment.busy = True
        try:
            response = await self._request(headers, on_headers, writer)
        finally:
            segment.busy = False
        if self.error is not None:
            raise self.error
        if self.intent is not None:
            raise TransferError(f"stopped ({self.intent})", retryable=False)
        if response.code == 416:
            self._on_416(response, resume_from)
            return
        if not writer.prepared:
            await writer.prepare()  # an empty body: no chunk ever came
        if len(item.segments) > 1:
            await self._run_segments()
            return
        if segment.end is None and response.complete:
            segment.end = item.total = segment.received  # no length announced: the end of the body is the end
        if not segment.done:
            raise TransferError(
                f"the server sent {segment.received} of {segment.end} bytes and stopped", retryable=True
            )

    def _accept_206(self, response: Response, resume_from: int, writer: Writer) -> None:
        item = self.item
        span = parse_content_range(response.headers.get("Content-Range"))
        total = span[2] if span is not None else None
        if span is None or total is None:
            item.no_ranges = True
            raise RestartNeededError(
                f"the server sent a partial answer without a usable Content-Range "
                f"({response.headers.get('Content-Range')!r}); downloading again without ranges"
            )
        first, last = span[0], span[1]
        if first != resume_from or last != total - 1 or (resume_from > 0 and total != item.total):
            item.no_ranges = True
            raise RestartNeededError(
                f"the server sent bytes {first}-{last}/{total} when asked for {resume_from}-"
                f"{'' if item.total is None else item.total - 1}; downloading again without ranges"
            )
        length = content_length(response)
        if length is not None and length != last - first + 1:
            item.no_ranges = True
            raise RestartNeededError("the server's Content-Length does not match its Content-Range; starting again")
        if resume_from == 0:
            item.total = total
            self._take_validators(response)
        segment = item.segments[0]
        segment.end = total
        if (
            resume_from == 0
            and total >= self.svc.segment_threshold
            and self.svc.max_segments > 1
            and validator(item) is not None
        ):
            writer.split = True

    def _on_416(self, response: Response, resume_from: int) -> None:
        item = self.item
        unsatisfied = UNSATISFIED_RANGE.match(response.headers.get("Content-Range") or "")
        server_total = int(unsatisfied.group(1)) if unsatisfied else None
        if resume_from > 0 and server_total is not None and server_total == item.total == resume_from:
            item.segments[0].end = item.total  # every byte is already here
            return
        if resume_from == 0:
            item.no_ranges = True
        raise RestartNeededError("the server refused the byte range (416); downloading the whole file again")

    def _take_validators(self, response: Response) -> None:
        self.item.etag = response.headers.get("ETag")
        self.item.last_modified = response.headers.get("Last-Modified")

    # --- segments -----------------------------------------------------------------------------------

    def split(self) -> None:
        """Cut the single range into pieces of at least MIN_PIECE (at most MAX_PIECES); segment 0 keeps what is
        already written.

        There are more pieces than connections: each connection takes the first piece nobody holds, so the file
        fills from the front and the hasher, which can only follow the contiguous prefix, keeps up instead of
        hashing seven eighths of the file after the last byte arrived.
        """
        item = self.item
        assert item.total is not None
        first = item.segments[0]
        count = max(1, min(MAX_PIECES, item.total // MIN_PIECE))
        size = -(-item.total // count)
        segments = [Segment(i * size, min(item.total, (i + 1) * size)) for i in range(count)]
        segments[0].received, segments[0].saved, segments[0].busy = first.received, first.saved, first.busy
        item.segments = segments

    def start_lanes(self, *, main_will_claim: bool) -> None:
        """Open extra connections for unclaimed segments, one per free slot, max_segments connections in all
        (the main one included), never more than there are segments to take."""
        idle = sum(1 for s in self.item.segments if not s.busy and not s.done)
        running = sum(1 for t in self.lanes if not t.done())
        unclaimed = idle - (1 if main_will_claim else 0)
        for _ in range(min(unclaimed, self.svc.max_segments - 1 - running)):
            if self.spare_slots:
                self.spare_slots -= 1  # taken when deciding to split
            elif not self.svc.extra_slot(self.item):
                break
            task = self.svc.supervisor.start(
                self._extra_lane(),
                name=f"download:{self.item.id}:segment:{len(self.lanes) + 1}",
                what=f"an extra connection for download {self.item.id}",
            )
            self.lanes.add(task)

    async def _extra_lane(self) -> None:
        try:
            await self._lane()
        finally:
            self.svc.give_slot(self.item)

    async def _lane(self) -> None:
        while self.error is None and self.intent is None:
            segment = next((s for s in self.item.segments if not s.busy and not s.done), None)
            if segment is None:
                return
            segment.busy = True
            try:
                await self._fetch_segment(segment)
            except TransferError as exc:
                self.fail(exc)
            finally:
                segment.busy = False

    async def _run_segments(self) -> None:
        if self.item.state is not State.DOWNLOADING:
            self.item.state = State.DOWNLOADING
            self.svc.mark(self.item)
        self.start_lanes(main_will_claim=True)
        await self._lane()
        if self.lanes:
            await asyncio.wait(list(self.lanes))
        if self.error is None and not all(s.done for s in self.item.segments):
            raise TransferError("a segment ended early", retryable=True)

    async def _fetch_segment(self, segment: Segment) -> None:
        item = self.item
        assert segment.end is not None
        tag = validator(item)
        headers = {"Range": f"bytes={segment.offset}-{segment.end - 1}"}
        if tag:
            headers["If-Range"] = tag
        writer = Writer(self, segment)
        writer.prepared = True  # lanes start after the .part was prepared

        def on_headers(response: Response) -> None:
            if response.code == 200:
                raise RestartNeededError("the file changed on the server since the download started; starting again")
            if response.code != 206:
                return
            span = parse_content_range(response.headers.get("Content-Range"))
            assert segment.end is not None
            if span is None or span != (segment.offset, segment.end - 1, item.total):
                item.no_ranges = True
                raise RestartNeededError(
                    f"the server answered a range request with {response.headers.get('Content-Range')!r}; "
                    "downloading again without ranges"
                )

        response = await self._request(headers, on_headers, writer, url=self.final_url)
        if response.code == 416:
            raise RestartNeededError("the server refused a byte range (416); downloading the whole file again")
        if not segment.done and self.error is None:
            raise TransferError("the server closed a segment's connection early", retryable=True)

    # --- requests and redirects ---------------------------------------------------------------------

    async def _request(
        self,
        headers: dict[str, str],
        on_headers: Callable[[Response], None],
        writer: Writer,
        *,
        url: str | None = None,
    ) -> Response:
        """GET with redirects followed here (valid http(s) targets only, no loops, at most max_redirects hops)."""
        current = url or self.item.url
        seen = [current]
        for _hop in range(self.svc.max_redirects + 1):
            if self.error is not None:
                raise self.error
            if self.intent is not None:
                raise TransferError(f"stopped ({self.intent})", retryable=False)

            def headers_seen(response: Response) -> None:
                if 200 <= response.code < 300:
                    on_headers(response)
                    if response.code not in (200, 206):
                        raise TransferError(f"server said {response.code} {response.reason}", retryable=False)
                elif writer.transfer is not None:
                    writer.transfer.abort()  # redirects and errors: the status line is all we need

            transfer = Transfer(
                self.svc.client,
                current,
                headers,
                timeouts=self.svc.timeouts,
                on_headers=headers_seen,
                on_chunk=writer.on_chunk,
                on_abort=self.svc.limiter.changed,
                ssl_context=self.svc.ssl_context,
                read_size=writer.read_size,
            )
            writer.transfer = transfer
            self.transfers.add(transfer)
            try:
                response = await transfer.run()
            finally:
                self.transfers.discard(transfer)
            if response.code in REDIRECTS and response.headers.get("Location"):
                try:
                    target = redirect_target(current, response.headers["Location"])
                except BadUrlError as exc:  # trying again gets the same Location
                    raise TransferError(str(exc), retryable=False) from None
                if target in seen:
                    raise TransferError(
                        f"the server redirects in a loop ({' -> '.join([*seen, target])})", retryable=False
                    )
                seen.append(target)
                current = target
                continue
            if response.code in (200, 206, 416):
                self.final_url = current
                return response
            raise status_error(response)
        raise TransferError(
            f"too many redirects (more than {self.svc.max_redirects}), last to {current}", retryable=False
        )

    # --- the end ------------------------------------------------------------------------------------

    async def _finish(self) -> None:
        if self.memory is not None:
            await self._finish_in_memory(self.memory)
            return
        item = self.item
        assert self.part is not None
        assert self.hasher is not None
        item.state = State.VERIFYING
        self.svc.mark(item)
        self.closing = True  # from here the end syncs, renames and closes the .part: no checkpoint may start
        size = item.received
        item.total = size
        # Flush the file to disk while the hash finishes (two threads, two kinds of work), so the sync in
        # finish() below has little left to do. Small files have nothing worth overlapping.
        syncing = None
        if size > INLINE_HASH_MAX:
            job = self.svc.executor.submit(self.part.sync)
            self.jobs.add(job)
            syncing = asyncio.wrap_future(job)
        item.sha256_actual = await self.hasher.result(size)
        await self.hasher.close()
        if syncing is not None:
            await syncing
        await self.wait_jobs()  # a checkpoint's sync that started before: it must not meet a closed fd
        if item.sha256_expected and item.sha256_actual != item.sha256_expected:
            part = self.part
            self.part = None
            await self.io(part.close)
            await self.io(PartFile.delete, part.folder, part.name, True)
            item.segments = [Segment(0, None)]
            raise TransferError(
                f"checksum mismatch: expected {item.sha256_expected}, got {item.sha256_actual}; "
                "the damaged file was deleted, retry to download it again",
                retryable=False,
            )
        item.name = await self.io(self.part.finish, self.svc.folders)
        self.part = None
        self._set_done()

    async def _finish_in_memory(self, data: bytearray) -> None:
        """Check the hash, then one executor job: reserve the .part, write, fdatasync, link, folder sync."""
        item = self.item
        item.state = State.VERIFYING
        self.svc.mark(item)
        item.total = len(data)
        item.sha256_actual = hashlib.sha256(data).hexdigest()  # one read's worth: at most ~0.25 ms on the loop
        if item.sha256_expected and item.sha256_actual != item.sha256_expected:
            self.memory = None
            item.segments = [Segment(0, None)]
            raise TransferError(
                f"checksum mismatch: expected {item.sha256_expected}, got {item.sha256_actual}; "
                "nothing was saved, retry to download it again",
                retryable=False,
            )
        wanted = names.choose(item.requested_name, self.disposition, self.final_url)
        item.name = await self.io(PartFile.create_complete, Path(item.folder), wanted, data, self.svc.folders)
        self.memory = None
        self._set_done()

    def _set_done(self) -> None:
        item = self.item
        for segment in item.segments:
            segment.saved = segment.received
        item.state = State.COMPLETED
        item.error = ""
        item.next_try_at = None
        item.finished_at = time.time()
        self.svc.store.save(item, segments=len(item.segments) > 1)
        self.svc.mark(item)

    def tick(self, now: float, checkpoint_interval: float) -> None:
        """The engine's tick: sample the speed, nudge the hasher, start a checkpoint when one is due."""
        item = self.item
        item.speed = item.meter.sample(now, item.received)
        self.svc.mark(item)
        if self.hasher is not None:
            self.hasher.poke(item.frontier())
        due = now - self.last_checkpoint >= checkpoint_interval
        if due and self.part is not None and not self.checkpointing and not self.closing:
            self.last_checkpoint = now
            self.svc.supervisor.start(
                self.checkpoint(), name=f"download:{item.id}:checkpoint", what="saving download progress"
            )

    async def checkpoint(self) -> None:
        """Make written bytes durable (fdatasync), then record them; never the other way round."""
        part = self.part
        if part is None or self.checkpointing or self.closing:
            return  # close() syncs and closes the .part itself; a sync racing its close would hit a closed fd
        item = self.item
        captured = [s.received for s in item.segments]
        segments = item.segments
        if all(s.saved == c for s, c in zip(segments, captured, strict=True)):
            return
        generation = self.generation
        self.checkpointing = True
        try:
            await self.io(part.sync)
            if item.segments is segments and generation == self.generation and self.part is part:
                for segment, value in zip(segments, captured, strict=True):
                    segment.saved = value
                self.svc.store.save(item, segments=len(segments) > 1)
        finally:
            self.checkpointing = False
            self.last_checkpoint = time.monotonic()

    async def close(self, *, sync: bool) -> None:
        """Stop every connection and wait for its body work, lanes and thread jobs; then (optionally) make the
        .part durable and close it.

        With sync, `saved` catches up with `received`; without, the row keeps the last checkpoint.
        """
        self.closing = True
        self.abort_all()
        for lane in self.lanes:
            lane.cancel()
        if self.lanes:
            await asyncio.wait(list(self.lanes))
        while self.holds:  # every transfer is aborted now, so they end promptly
            await asyncio.wait(list(self.holds))
        if self.hasher is not None:
            await self.hasher.close()
        await self.wait_jobs()
        if self.memory is not None:  # a small download kept in memory: nothing of it is on disk
            self.memory = None
            for segment in self.item.segments:
                segment.received = segment.saved = 0
        part = self.part
        if part is None:
            return
        if sync:
            with contextlib.suppress(TransferError, OSError):
                await self.io(part.sync)
                for segment in self.item.segments:
                    segment.saved = segment.received
        await self.io(part.close)
        self.part = None

    def poke_hasher(self, written: int) -> None:
        self._since_poke += written
        if self.hasher is not None and self._since_poke >= Hasher.STEP:
            self._since_poke = 0
            self.hasher.poke(self.item.frontier())
