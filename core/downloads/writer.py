"""Writer: one response's body into one segment of the .part, hashed small-file-inline, throttled by the limits.

The first chunk prepares the .part (reserve or reopen, restart from byte 0, or split into ranges and
preallocate); every chunk is one pwrite on the loop (the only file call made there). Must not touch SQLite
beyond Store.save through the run's services.
"""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING

from core.downloads import names
from core.downloads.errors import TransferError
from core.downloads.http import READ_CHUNK, Transfer
from core.downloads.model import Segment, State
from core.downloads.partfile import Hasher, PartFile
from core.downloads.ratelimit import Ticket

if TYPE_CHECKING:
    from core.downloads.attempt import Run

INLINE_HASH_MAX = 4 * 1024 * 1024  # files up to this size are hashed chunk by chunk on the loop
MIN_LIMITED_READ = 4 * 1024  # under a speed limit: reads of 50 ms worth, but never tinier than this


class Writer:
    """Writes one response's body into a segment of the .part, throttled by the speed limits.

    Attributes:
        segment: where the bytes go.
        transfer: the request whose body this is.
        prepared: the .part is open (and restarted or split as the headers asked).
        restart: rewrite the .part from byte 0 (a fresh download, or the file changed).
        split: the headers allow segments: split and preallocate before writing.
        stop_at_end: the request asked for more than this segment; stop reading at its end.
    """

    def __init__(self, run: Run, segment: Segment) -> None:
        self.run = run
        self.segment = segment
        self.transfer: Transfer | None = None
        self.prepared = False
        self.restart = False
        self.split = False
        self.stop_at_end = False

    async def prepare(self) -> None:
        """Before the first byte: reserve or reopen the .part, restart or split it, record the name."""
        run, item = self.run, self.run.item
        fresh = False
        if run.part is None:
            if item.name:
                run.part = await run.io(PartFile.reopen, Path(item.folder), item.name)
            else:
                response = self.transfer.response if self.transfer is not None else None
                disposition = response.headers.get("Content-Disposition") if response is not None else None
                wanted = names.choose(item.requested_name, disposition, run.final_url)
                run.part = await run.io(PartFile.reserve, Path(item.folder), wanted, ())
                item.name = run.part.name
                fresh = True
            small = item.total is not None and item.total <= INLINE_HASH_MAX
            run.hasher = Hasher(run.part.path, run.svc.hash_executor, inline=small)
        self._go_on()
        if self.restart:
            run.generation += 1
            self.segment.received = self.segment.saved = 0
            if not fresh:
                assert run.hasher is not None
                await run.io(run.part.truncate, 0)
                await run.hasher.reset()
                self._go_on()
        if self.split and not run.svc.extra_slot(item):
            self.split = False  # no free connection now: ranges would only add requests
        elif self.split:
            run.spare_slots += 1
        if self.split:
            assert item.total is not None
            run.split()
            self.segment = item.segments[0]
            self.stop_at_end = True
            await run.io(run.part.preallocate, item.total)
            self._go_on()
        item.state = State.DOWNLOADING
        run.svc.store.save(item, segments=self.split)
        run.svc.mark(item)
        self.prepared = True
        if self.split:
            run.start_lanes(main_will_claim=False)

    def _stopped(self, transfer: Transfer | None) -> bool:
        """The run was stopped or failed, or this response's transfer was aborted (its watchdog, its task cancelled)."""
        run = self.run
        return run.error is not None or run.intent is not None or (transfer is not None and transfer.aborted)

    def _go_on(self) -> None:
        """After an await in prepare(): stop if the run was stopped meanwhile, so a pause or cancel that came during
        the first chunk is never undone by it (state set back to downloading, slots taken, lanes started)."""
        if self._stopped(self.transfer):
            run = self.run
            raise run.error or TransferError(f"stopped ({run.intent or 'aborted'})", retryable=True)

    def on_chunk(self, chunk: memoryview) -> Awaitable[None] | None:
        if self.prepared:
            pending = self._write(chunk)
        elif self._whole_body_in(chunk):
            self._keep_in_memory()
            pending = self._write(chunk)
        else:
            pending = self._prepare_then_write(chunk)
        return None if pending is None else self.run.hold(pending)

    def _whole_body_in(self, chunk: memoryview) -> bool:
        """A fresh download whose whole body came in its first read (small files): written in one job at the end.

        For such a file a separate job to reserve the .part, its SQLite save and the thread hops cost more than the
        transfer itself, and no progress can be lost: there is no earlier point to resume from.
        """
        run, item = self.run, self.run.item
        return (
            run.part is None
            and not item.name
            and self.restart
            and not self.split
            and len(item.segments) == 1
            and item.total is not None
            and 0 < item.total <= len(chunk)
        )

    def _keep_in_memory(self) -> None:
        """No .part: Run._finish_in_memory creates the complete file in one executor job."""
        run, item = self.run, self.run.item
        response = self.transfer.response if self.transfer is not None else None
        run.disposition = response.headers.get("Content-Disposition") if response is not None else None
        run.memory = bytearray()
        run.generation += 1
        self.segment.received = self.segment.saved = 0
        item.state = State.DOWNLOADING
        run.svc.mark(item)
        self.prepared = True

    async def _prepare_then_write(self, chunk: memoryview) -> None:
        await self.prepare()
        pending = self._write(chunk)
        if pending is not None:
            await pending

    def _write(self, chunk: memoryview) -> Awaitable[None] | None:
        run, segment = self.run, self.segment
        assert run.part is not None or run.memory is not None
        end = segment.end
        offset = segment.offset
        done = False
        if end is not None and offset + len(chunk) >= end:
            chunk = chunk[: end - offset]
            done = True
        if chunk:
            if run.memory is not None:
                run.memory += chunk
            else:
                assert run.part is not None
                run.part.write(chunk, offset)
                assert run.hasher is not None
                if run.hasher.inline:
                    run.hasher.feed(chunk, offset)
                else:
                    run.poke_hasher(len(chunk))
            segment.received += len(chunk)
        if done:
            if self.stop_at_end and self.transfer is not None:
                self.transfer.abort()  # the rest of this response belongs to other segments
            return None
        bucket = run.svc.bucket(run.item)
        limiter = run.svc.limiter
        if bucket is None and limiter.bucket.rate <= 0:
            return None
        buckets = (limiter.bucket,) if bucket is None else (limiter.bucket, bucket)
        tickets = [(b, b.consume(len(chunk))) for b in buckets]
        if max(b.wait_for(ticket) for b, ticket in tickets) <= 0:
            return None
        return self._throttle(tickets, self.transfer)

    def read_size(self) -> int:
        """How much the next socket read may take: READ_CHUNK, or 50 ms worth under a speed limit.

        Asked before every read, so a limit shapes the very first read of a connection and the first read after
        it is set (a 256 KiB read at 4 KiB/s would hold everything back for a minute with nothing to show).
        """
        run = self.run
        rate = run.svc.limiter.bucket.rate
        bucket = run.svc.bucket(run.item)
        if bucket is not None and bucket.rate > 0 and (rate <= 0 or bucket.rate < rate):
            rate = bucket.rate
        if rate <= 0:
            return READ_CHUNK
        return max(MIN_LIMITED_READ, min(READ_CHUNK, int(rate / 20)))

    async def _throttle(self, tickets: list[Ticket], transfer: Transfer | None) -> None:
        # The transfer's own abort flag counts too: an abort that is not the run's (its task cancelled, its
        # watchdog) must end the wait, or tornado's body coroutine outlives the run. Transfer.abort wakes the
        # limiter. Transfer stops its idle and low-speed clocks while this wait holds the stream.
        await self.run.svc.limiter.wait(tickets, lambda: self._stopped(transfer))
