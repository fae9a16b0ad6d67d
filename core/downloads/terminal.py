"""How `main.py get` shows progress: a live block redrawn a few times a second on a terminal, plain lines
(one per event, and a total every few seconds) when the output is a pipe or a file. Formatting only: it gets
snapshots and a stream and never touches the engine.
"""

from __future__ import annotations

import time
from typing import TextIO

from core.downloads.model import FINISHED, DownloadProgress, State

MAX_LIVE_LINES = 8


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def human_time(seconds: float | None) -> str:
    if seconds is None:
        return "--:--"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def describe(p: DownloadProgress) -> str:
    """One line for one download: name, percent, bytes, speed, ETA, and what is wrong if anything."""
    name = p.name or p.url
    size = human_bytes(p.received) + (f"/{human_bytes(p.total)}" if p.total is not None else "")
    percent = f"{100 * p.fraction:5.1f}%" if p.fraction is not None else "  ?  "
    line = f"{name}  {percent}  {size}"
    if p.state in (State.DOWNLOADING, State.CONNECTING):
        line += f"  {human_bytes(p.speed)}/s  ETA {human_time(p.eta)}"
    if p.state is not State.DOWNLOADING:
        line += f"  [{p.state.value}]"
    if p.error:
        line += f"  {p.error}"
    return line


class ProgressView:
    """Turns snapshot batches into output on `out`.

    Attributes:
        latest: the newest snapshot of each download.
        live: redraw a block in place (a terminal) instead of printing plain lines.
    """

    def __init__(self, out: TextIO, *, live: bool, refresh: float = 0.25, plain_every: float = 5.0) -> None:
        self.out = out
        self.live = live
        self.latest: dict[int, DownloadProgress] = {}
        self._refresh = refresh
        self._plain_every = plain_every
        self._last_draw = 0.0 if live else time.monotonic()  # plain: the first total after plain_every
        self._drawn_lines = 0
        self._reported: set[int] = set()
        self._last_error: dict[int, str] = {}
        self._started = time.monotonic()

    def update(self, batch: list[DownloadProgress]) -> None:
        for p in batch:
            self.latest[p.id] = p
        now = time.monotonic()
        events = self._events(batch)
        if self.live:
            if events or now - self._last_draw >= self._refresh:
                self._clear()
                for line in events:
                    self.out.write(line + "\n")
                self._draw()
                self._last_draw = now
        else:
            for line in events:
                self.out.write(line + "\n")
            if now - self._last_draw >= self._plain_every and not self.all_finished():
                self.out.write(self.total_line() + "\n")
                self._last_draw = now
        self.out.flush()

    def _events(self, batch: list[DownloadProgress]) -> list[str]:
        lines = []
        for p in batch:
            if p.state is State.COMPLETED and p.id not in self._reported:
                self._reported.add(p.id)
                lines.append(f"completed {p.path} ({human_bytes(p.received)}, sha256 {p.sha256_actual})")
            elif p.state is State.QUEUED and p.error and self._last_error.get(p.id) != p.error:
                self._last_error[p.id] = p.error
                lines.append(f"{p.url}: {p.error}")
        return lines

    def all_finished(self) -> bool:
        return all(p.state in FINISHED for p in self.latest.values())

    def total_line(self) -> str:
        items = list(self.latest.values())
        received = sum(p.received for p in items)
        totals = [p.total for p in items]
        known = None if any(t is None for t in totals) else sum(t or 0 for t in totals)
        speed = sum(p.speed for p in items)
        completed = sum(1 for p in items if p.state is State.COMPLETED)
        failed = sum(1 for p in items if p.state is State.FAILED)
        eta = (known - received) / speed if known is not None and speed > 0 else None
        size = human_bytes(received) + (f"/{human_bytes(known)}" if known is not None else "")
        text = f"total: {completed}/{len(items)} files  {size}  {human_bytes(speed)}/s  ETA {human_time(eta)}"
        return text + (f"  ({failed} failed)" if failed else "")

    def _clear(self) -> None:
        if self._drawn_lines:
            self.out.write(f"\x1b[{self._drawn_lines}F\x1b[J")  # up N lines, clear to the end of the screen
            self._drawn_lines = 0

    def _draw(self) -> None:
        running = [p for p in self.latest.values() if p.state not in FINISHED and p.state is not State.QUEUED]
        waiting = sum(1 for p in self.latest.values() if p.state is State.QUEUED)
        lines = [describe(p) for p in running[:MAX_LIVE_LINES]]
        if len(running) > MAX_LIVE_LINES or waiting:
            lines.append(f"... {len(running) - len(lines[:MAX_LIVE_LINES]) + waiting} more waiting")
        lines.append(self.total_line())
        self.out.write("\n".join(lines) + "\n")
        self._drawn_lines = len(lines)

    def finish(self) -> None:
        """Leave the last state on screen (live) or a final total line (plain)."""
        if self.live:
            self._clear()
            self.out.write(self.total_line() + "\n")
        else:
            self.out.write(self.total_line() + "\n")
        self.out.flush()
