"""How `main.py get` shows progress: a live block redrawn a few times a second on a terminal, plain lines
(one per event, and a total every few seconds) when the output is a pipe or a file. Formatting only: it gets
snapshots and a stream and never touches the engine, and no trouble with the stream (full disk, closed pipe,
an encoding that cannot carry a name) ever raises out of it.
"""

from __future__ import annotations

import codecs
import shutil
import time
import unicodedata
from collections.abc import Callable
from typing import TextIO

from core.downloads.model import FINISHED, DownloadProgress, State
from core.streams import point_at_devnull

MAX_LIVE_LINES = 8
FALLBACK_SIZE = (80, 24)  # columns, lines when the output's size cannot be asked (not a terminal, or 0x0)


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


def _describe_parts(p: DownloadProgress) -> tuple[str, str]:
    """describe() split into the name, which may be shortened to fit a terminal, and the numbers after it."""
    name = p.name or p.url
    size = human_bytes(p.received) + (f"/{human_bytes(p.total)}" if p.total is not None else "")
    percent = f"{100 * p.fraction:5.1f}%" if p.fraction is not None else "  ?  "
    rest = f"  {percent}  {size}"
    if p.state in (State.DOWNLOADING, State.CONNECTING):
        rest += f"  {human_bytes(p.speed)}/s  ETA {human_time(p.eta)}"
    if p.state is not State.DOWNLOADING:
        rest += f"  [{p.state.value}]"
    if p.error:
        rest += f"  {p.error}"
    return name, rest


def describe(p: DownloadProgress) -> str:
    """One line for one download: name, percent, bytes, speed, ETA, and what is wrong if anything."""
    name, rest = _describe_parts(p)
    return name + rest


def text_width(text: str) -> int:
    """Terminal columns `text` takes: east-asian wide and fullwidth characters take two, all else one.

    One for everything else over-counts combining marks, which only ever makes a line shorter than it could be.
    """
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def _head(text: str, width: int) -> str:
    """The longest start of `text` that fits in `width` columns."""
    used = 0
    for i, c in enumerate(text):
        used += text_width(c)
        if used > width:
            return text[:i]
    return text


def _tail(text: str, width: int) -> str:
    """The longest end of `text` that fits in `width` columns."""
    return _head(text[::-1], width)[::-1]


def cut_end(text: str, width: int, ellipsis: str = "…") -> str:
    """`text` cut to `width` columns, with `ellipsis` marking the cut."""
    if text_width(text) <= width:
        return text
    if text_width(ellipsis) > width:
        return _head(text, width)
    return _head(text, width - text_width(ellipsis)) + ellipsis


def cut_middle(text: str, width: int, ellipsis: str = "…") -> str:
    """`text` cut to `width` columns by dropping its middle: both the host and the file name stay readable."""
    if text_width(text) <= width:
        return text
    room = width - text_width(ellipsis)
    if room < 2:
        return cut_end(text, width, ellipsis)
    head = _head(text, room - room // 2)
    return head + ellipsis + _tail(text, room - text_width(head))


def terminal_size() -> tuple[int, int]:
    """(columns, lines) of the terminal."""
    size = shutil.get_terminal_size(FALLBACK_SIZE)
    return size.columns, size.lines


class ProgressView:
    """Turns snapshot batches into output on `out`.

    Writing never raises. What the stream's encoding cannot carry is written as a backslash escape. When the
    stream itself fails (a full disk, a closed pipe, a closed file), the view stops writing for good and says
    why in `broken`; update() still keeps `latest` current.

    Attributes:
        latest: the newest snapshot of each download.
        live: redraw a block in place (a terminal) instead of printing plain lines. Each redrawn line is cut to
            the terminal's width, so that moving the cursor up one row per line lands on the block's first row,
            and the block has fewer lines than the terminal, so the cursor can go back up over all of them.
        broken: why output stopped ("Broken pipe", "No space left on device", ...), or None while it works.
    """

    def __init__(
        self,
        out: TextIO,
        *,
        live: bool,
        refresh: float = 0.25,
        plain_every: float = 5.0,
        size: Callable[[], tuple[int, int]] = terminal_size,
    ) -> None:
        self.out = out
        self.live = live
        self.latest: dict[int, DownloadProgress] = {}
        self.broken: str | None = None
        self._refresh = refresh
        self._plain_every = plain_every
        self._size = size  # asked at every redraw, so a resized terminal is followed
        self._last_draw = 0.0 if live else time.monotonic()  # plain: the first total after plain_every
        self._drawn_lines = 0
        self._reported: set[int] = set()
        self._last_error: dict[int, tuple[str, int]] = {}  # the retry last told, per download, with its try
        self._started = time.monotonic()
        self._encoding = _codec_name(out)
        self._ellipsis = self._printable("…", errors="replace")
        if self._ellipsis != "…":
            self._ellipsis = "..."

    def update(self, batch: list[DownloadProgress]) -> None:
        for p in batch:
            self.latest[p.id] = p
        if self.broken is not None:
            return
        now = time.monotonic()
        # Event lines stay on screen for good and are never redrawn, so they are not cut: a long path wraps
        # onto more rows, which is harmless above the block, and stays whole for the user to copy.
        text = "".join(self._printable(line) + "\n" for line in self._events(batch))
        if self.live:
            if self.latest and (text or now - self._last_draw >= self._refresh):  # no "0/0 files" block
                text = self._clear() + text + self._draw()
                self._last_draw = now
        elif now - self._last_draw >= self._plain_every and not self.all_finished():
            text += self._printable(self.total_line()) + "\n"
            self._last_draw = now
        self._write(text)

    def _events(self, batch: list[DownloadProgress]) -> list[str]:
        lines = []
        for p in batch:
            if p.state is State.COMPLETED and p.id not in self._reported:
                self._reported.add(p.id)
                lines.append(f"completed {p.path} ({human_bytes(p.received)}, sha256 {p.sha256_actual})")
            elif p.state is State.QUEUED and p.error and self._last_error.get(p.id) != (p.error, p.attempts):
                self._last_error[p.id] = (p.error, p.attempts)  # the same reason twice is two events
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

    def _clear(self) -> str:
        if not self._drawn_lines:
            return ""
        lines, self._drawn_lines = self._drawn_lines, 0
        return f"\x1b[{lines}F\x1b[J"  # up N lines, clear to the end of the screen

    def _draw(self) -> str:
        columns, rows = self._size()
        width = max(1, columns)
        height = max(1, rows - 1)  # a taller block cannot be gone back over: each redraw would scroll a copy away
        running = [p for p in self.latest.values() if p.state not in FINISHED and p.state is not State.QUEUED]
        waiting = sum(1 for p in self.latest.values() if p.state is State.QUEUED)
        lines = [self._fit_download(p, width) for p in running[: max(0, min(MAX_LIVE_LINES, height - 2))]]
        hidden = len(running) - len(lines)
        if (hidden or waiting) and height >= 2:
            more = f"... {hidden + waiting} more waiting"
            lines.append(cut_end(more, width, self._ellipsis))
        lines.append(cut_end(self._printable(self.total_line()), width, self._ellipsis))
        self._drawn_lines = len(lines)
        return "\n".join(lines) + "\n"

    def _fit_download(self, p: DownloadProgress, width: int) -> str:
        """describe(p) in `width` columns: the name gives way first, so the numbers stay readable."""
        name, rest = (self._printable(part) for part in _describe_parts(p))
        room = max(width - text_width(rest), min(text_width(name), 8))
        return cut_end(cut_middle(name, room, self._ellipsis) + rest, width, self._ellipsis)

    def finish(self) -> None:
        """Leave the last state on screen (live) or a final total line (plain)."""
        if self.broken is not None:
            return
        text = self._printable(self.total_line()) + "\n"
        self._write(self._clear() + text if self.live else text)

    def _printable(self, text: str, errors: str = "backslashreplace") -> str:
        """`text` with what the stream's encoding cannot carry replaced, so writing it cannot fail to encode."""
        if self._encoding is None:
            return text
        return text.encode(self._encoding, errors).decode(self._encoding)

    def _write(self, text: str) -> None:
        if self.broken is not None or not text:
            return
        try:
            try:
                self.out.write(text)
            except UnicodeEncodeError:
                # The stream encodes more strictly than its `encoding` said: plain ASCII from now on. This once,
                # '?' (one column, never more than the character it stands for) keeps cut lines within width.
                self._encoding, self._ellipsis = "ascii", "..."
                self.out.write(self._printable(text, errors="replace"))
            self.out.flush()
        except (OSError, ValueError) as exc:  # ValueError: the stream was closed
            self._stop(exc)

    def _stop(self, exc: OSError | ValueError) -> None:
        """Stop writing for good. An OSError also points the stream at os.devnull (core/streams.py says why)."""
        text = exc.strerror if isinstance(exc, OSError) else None
        self.broken = text or str(exc) or type(exc).__name__
        if isinstance(exc, OSError):
            point_at_devnull(self.out)


def _codec_name(out: TextIO) -> str | None:
    """The stream's encoding if Python knows it, else None (io.StringIO has none: it takes any text)."""
    encoding = getattr(out, "encoding", None)
    if not isinstance(encoding, str):
        return None
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None
