"""Which queued download starts next: oldest first, within the global and per-host connection limits.

Bookkeeping only (no tasks, no I/O). Items are queued by id per host; removal is lazy (a paused item's entry
stays in its heap and is skipped because it is no longer in `queued`).
"""

from __future__ import annotations

import heapq
from collections import defaultdict


class Scheduler:
    """Connection slots (global and per host) and the queue of downloads waiting for one.

    Attributes:
        concurrency: connections at most, segments included.
        per_host: connections to one host at most.
        active: connections in use, per host.
    """

    def __init__(self, concurrency: int, per_host: int) -> None:
        self.concurrency = concurrency
        self.per_host = per_host
        self.active: defaultdict[str, int] = defaultdict(int)
        self.in_use = 0
        self._heaps: defaultdict[str, list[int]] = defaultdict(list)
        self._queued: dict[int, str] = {}

    def push(self, download_id: int, host: str) -> None:
        if download_id not in self._queued:
            self._queued[download_id] = host
            heapq.heappush(self._heaps[host], download_id)

    def discard(self, download_id: int) -> None:
        self._queued.pop(download_id, None)

    def __contains__(self, download_id: int) -> bool:
        return download_id in self._queued

    def __len__(self) -> int:
        return len(self._queued)

    def _head(self, host: str) -> int | None:
        heap = self._heaps[host]
        while heap and heap[0] not in self._queued:
            heapq.heappop(heap)
        if not heap:
            del self._heaps[host]
            return None
        return heap[0]

    def pop_next(self) -> tuple[int, str] | None:
        """Take a slot for the oldest queued download whose host has room; None when nothing can start."""
        if self.in_use >= self.concurrency:
            return None
        best: tuple[int, str] | None = None
        for host in list(self._heaps):
            if self.active[host] >= self.per_host:
                continue
            head = self._head(host)
            if head is not None and (best is None or head < best[0]):
                best = (head, host)
        if best is None:
            return None
        heapq.heappop(self._heaps[best[1]])
        del self._queued[best[0]]
        self.take(best[1])
        return best

    def take(self, host: str) -> None:
        self.active[host] += 1
        self.in_use += 1

    def give(self, host: str) -> None:
        self.active[host] -= 1
        self.in_use -= 1
        if self.active[host] <= 0:
            del self.active[host]

    def try_extra(self, host: str) -> bool:
        """Take a slot for an extra segment connection: only when free and no queued download could use it."""
        if self.in_use >= self.concurrency or self.active[host] >= self.per_host:
            return False
        for other in list(self._heaps):
            if self.active[other] < self.per_host and self._head(other) is not None:
                return False
        self.take(host)
        return True
