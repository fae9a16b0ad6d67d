"""What a download is: its states, the immutable snapshot observers receive, and the engine's mutable records.

Only the engine mutates Item and Segment, on the loop thread. Everything that leaves the engine is a frozen
DownloadProgress built by Item.snapshot().
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum


class State(StrEnum):
    QUEUED = "queued"
    CONNECTING = "connecting"
    DOWNLOADING = "downloading"
    PAUSED = "paused"
    VERIFYING = "verifying"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


RUNNING = frozenset({State.CONNECTING, State.DOWNLOADING, State.VERIFYING})
FINISHED = frozenset({State.COMPLETED, State.FAILED, State.CANCELLED})


@dataclass(frozen=True, slots=True)
class SegmentProgress:
    """One ranged part of a segmented download.

    Attributes:
        start: first byte offset of the segment in the file.
        end: offset one past its last byte.
        received: bytes of it on disk.
    """

    start: int
    end: int
    received: int


@dataclass(frozen=True, slots=True)
class DownloadProgress:
    """An immutable snapshot of one download, as observers (the Downloads tab, `main.py get`) see it.

    Attributes:
        id: the download's id (stable across restarts; the SQLite row id).
        url: the URL as added (without any #sha256= fragment).
        host: the URL's host, for per-host grouping.
        folder: the folder the file goes into.
        name: the file name (chosen from Content-Disposition or the URL once the server answered), or "".
        path: folder/name once the name is known, else "".
        received: bytes on disk.
        total: the file's size, or None while unknown.
        state: one of State.
        speed: bytes per second, smoothed over the last ~2 s (0 when not transferring).
        eta: seconds left at the current speed, or None when unknown.
        error: plain words on the last problem ("retrying in 8 s: server said 503 ..."), or "".
        next_try_at: time.time() of the next automatic try while waiting to retry, else None.
        attempts: tries made so far in this run of tries (reset by retry/resume).
        sha256_expected: the checksum the user gave (lowercase hex), or None.
        sha256_actual: the checksum of the completed file, or None.
        rate_limit: this download's own speed limit in bytes/s (0: none).
        segments: the ranged parts when downloaded in segments, else ().
        added_at: time.time() when added.
        finished_at: time.time() when it completed, failed or was cancelled, else None.
    """

    id: int
    url: str
    host: str
    folder: str
    name: str
    path: str
    received: int
    total: int | None
    state: State
    speed: float
    eta: float | None
    error: str
    next_try_at: float | None
    attempts: int
    sha256_expected: str | None
    sha256_actual: str | None
    rate_limit: int
    segments: tuple[SegmentProgress, ...]
    added_at: float
    finished_at: float | None

    @property
    def fraction(self) -> float | None:
        """0.0-1.0 when the total is known."""
        if not self.total:
            return 1.0 if self.state is State.COMPLETED else None
        return min(1.0, self.received / self.total)


@dataclass
class Segment:
    """A byte range of the file and how much of it is on disk (end None: until the body ends).

    Attributes:
        start: first offset.
        end: one past the last offset, or None for a single stream of unknown length.
        received: bytes written so far, from start.
        saved: `received` as last made durable (fdatasync, then SQLite).
        busy: a transfer is currently filling it.
    """

    start: int
    end: int | None
    received: int = 0
    saved: int = 0
    busy: bool = False

    @property
    def offset(self) -> int:
        return self.start + self.received

    @property
    def done(self) -> bool:
        return self.end is not None and self.offset >= self.end


class SpeedMeter:
    """Bytes per second over a sliding window of samples taken at each engine tick."""

    def __init__(self, window: float = 2.0) -> None:
        self.window = window
        self._samples: deque[tuple[float, int]] = deque()

    def sample(self, now: float, received: int) -> float:
        samples = self._samples
        samples.append((now, received))
        while len(samples) > 2 and now - samples[0][0] > self.window:
            samples.popleft()
        first_t, first_b = samples[0]
        if now - first_t < 0.05:
            return 0.0
        return max(0.0, (received - first_b) / (now - first_t))

    def reset(self) -> None:
        self._samples.clear()


@dataclass
class Item:
    """The engine's own, mutable record of one download (loop thread only).

    Attributes:
        id, url, host, folder, state, error, attempts, rate_limit, added_at, finished_at: as in DownloadProgress.
        requested_name: a name the user asked for, or None.
        name: the chosen file name ("" until the server answered).
        total: the size, or None.
        etag, last_modified: validators of the version on disk (for If-Range).
        segments: the ranges being filled; one segment for a single stream.
        sha256_expected, sha256_actual: checksums.
        next_try_at: wall time of the next automatic try, or None.
        speed: the last smoothed speed.
        no_ranges: the server mishandled Range once; this download streams from 0 only.
        foreign: another process owns this row (its .part is locked); never write it to SQLite.
        dirty: changed since the last snapshot.
    """

    id: int
    url: str
    host: str
    folder: str
    state: State = State.QUEUED
    requested_name: str | None = None
    name: str = ""
    total: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    segments: list[Segment] = field(default_factory=lambda: [Segment(0, None)])
    sha256_expected: str | None = None
    sha256_actual: str | None = None
    error: str = ""
    next_try_at: float | None = None
    attempts: int = 0
    rate_limit: int = 0
    added_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    speed: float = 0.0
    no_ranges: bool = False
    foreign: bool = False
    dirty: bool = True
    meter: SpeedMeter = field(default_factory=SpeedMeter)

    @property
    def received(self) -> int:
        return sum(s.received for s in self.segments)

    @property
    def saved(self) -> int:
        return sum(s.saved for s in self.segments)

    @property
    def path(self) -> str:
        return f"{self.folder.rstrip('/')}/{self.name}" if self.name else ""

    def frontier(self) -> int:
        """Offset up to which the file is contiguous from byte 0 (what the hasher may read)."""
        position = 0
        for segment in self.segments:
            if segment.start != position:
                break
            position = segment.offset
            if not segment.done:
                break
        return position

    def snapshot(self) -> DownloadProgress:
        received = self.received
        eta = None
        if self.state in RUNNING and self.total is not None and self.speed > 0:
            eta = max(0.0, (self.total - received) / self.speed)
        segments = (
            tuple(SegmentProgress(s.start, s.end or 0, s.received) for s in self.segments)
            if len(self.segments) > 1
            else ()
        )
        return DownloadProgress(
            id=self.id,
            url=self.url,
            host=self.host,
            folder=self.folder,
            name=self.name,
            path=self.path,
            received=received,
            total=self.total,
            state=self.state,
            speed=self.speed if self.state in RUNNING else 0.0,
            eta=eta,
            error=self.error,
            next_try_at=self.next_try_at,
            attempts=self.attempts,
            sha256_expected=self.sha256_expected,
            sha256_actual=self.sha256_actual,
            rate_limit=self.rate_limit,
            segments=segments,
            added_at=self.added_at,
            finished_at=self.finished_at,
        )
