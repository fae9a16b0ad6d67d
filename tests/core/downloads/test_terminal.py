"""The progress view of `main.py get`: it never raises for output trouble, and its live block fits the terminal."""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.downloads.model import DownloadProgress, State
from core.downloads.terminal import ProgressView, cut_middle
from tests.core.downloads.snapshots import progress

ROOT = Path(__file__).resolve().parents[3]
CLEAR = re.compile(r"\x1b\[(\d+)F\x1b\[J")  # what the view writes to move up over its block and erase it


class FakeFailingStream(io.StringIO):
    """A text stream whose write or flush fails the way a full disk or a closed pipe does.

    Attributes:
        calls: how many times write and flush were called, failing calls included.
    """

    def __init__(self, error: OSError, on: str) -> None:
        super().__init__()
        self.error, self.on, self.calls = error, on, 0

    def write(self, text: str) -> int:
        self.calls += 1
        if self.on == "write":
            raise self.error
        return super().write(text)

    def flush(self) -> None:
        self.calls += 1
        if self.on == "flush":
            raise self.error


def downloading(download_id: int, name: str, **changes: object) -> DownloadProgress:
    values: dict[str, object] = {"name": name, "state": State.DOWNLOADING, "received": 512, "total": 1024}
    values.update({"speed": 2048.0, "eta": 0.25, **changes})
    return progress(download_id, **values)


def width(text: str) -> int:
    """Columns on a terminal, counted here independently of the code under test."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text)


def frames(output: str) -> Iterator[tuple[str, int | None]]:
    """Each block the view drew, with the cursor-up count written after it to erase it (None for the last)."""
    parts = CLEAR.split(output)
    yield from zip(parts[0::2], [*(int(n) for n in parts[1::2]), None], strict=True)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), "No space left on device"),
        (BrokenPipeError(errno.EPIPE, os.strerror(errno.EPIPE)), "Broken pipe"),
    ],
)
@pytest.mark.parametrize("on", ["write", "flush"])
@pytest.mark.parametrize("live", [False, True])
def test_a_failing_stream_stops_the_view_for_good(error: OSError, message: str, on: str, live: bool) -> None:
    out = FakeFailingStream(error, on)
    view = ProgressView(out, live=live, refresh=0, plain_every=0)
    assert view.broken is None
    view.update([downloading(1, "a.bin")])
    assert view.broken == message, "the CLI says once on stderr why progress stopped"
    calls = out.calls
    view.update([downloading(1, "a.bin", state=State.COMPLETED, received=1024, sha256_actual="ab")])
    view.finish()
    assert out.calls == calls, "a broken view writes nothing more"
    assert view.latest[1].state is State.COMPLETED, "it still keeps the latest snapshots"


@pytest.mark.parametrize("live", [False, True])
def test_a_closed_stream_stops_the_view(live: bool) -> None:
    out = io.StringIO()
    out.close()
    view = ProgressView(out, live=live, refresh=0, plain_every=0)
    view.update([downloading(1, "a.bin")])
    view.finish()
    assert view.broken is not None
    assert view.broken.startswith("I/O operation on closed file")


def test_a_closed_pipe_is_pointed_at_devnull() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    with open(write_end, "w", encoding="utf-8") as out:
        view = ProgressView(out, live=False, plain_every=0)
        view.update([downloading(1, "a.bin", state=State.COMPLETED, received=1024, sha256_actual="ab")])
        assert view.broken == "Broken pipe"
        devnull = os.stat(os.devnull)
        now = os.fstat(write_end)
        assert stat.S_ISCHR(now.st_mode)
        assert now.st_rdev == devnull.st_rdev
    # leaving the `with` flushed what the failed flush left buffered: into os.devnull, without an error


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full (always full) exists on Linux only")
def test_a_full_device_stops_the_view() -> None:
    with open("/dev/full", "w", encoding="utf-8") as out:
        view = ProgressView(out, live=False, plain_every=0)
        view.update([downloading(1, "a.bin", state=State.COMPLETED, received=1024, sha256_actual="ab")])
        view.finish()
        assert view.broken == "No space left on device"


def test_a_closed_stdout_pipe_leaves_no_message_at_exit() -> None:
    """The interpreter flushes stdout at exit; on a closed pipe that prints "Exception ignored ..." and exits 120."""
    script = (
        "import sys\n"
        "from core.downloads.model import State\n"
        "from core.downloads.terminal import ProgressView\n"
        "from tests.core.downloads.snapshots import progress\n"
        "view = ProgressView(sys.stdout, live=False, plain_every=0)\n"
        "view.update([progress(1, name='a.bin', state=State.COMPLETED, received=10, sha256_actual='ab')])\n"
        "view.finish()\n"
        "print('broken:', view.broken, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # buffered, as users run it
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        result = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT, env=env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert result.stderr == "broken: Broken pipe\n"
    assert result.returncode == 0


@pytest.mark.parametrize("live", [False, True])
def test_names_the_encoding_cannot_carry_are_escaped(live: bool) -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    view = ProgressView(out, live=live, refresh=0, plain_every=0, size=lambda: (200, 24))
    view.update([downloading(1, "prix-€.bin"), progress(2, url="http://h/€.iso", error="retrying in 8 s")])
    view.update([downloading(1, "prix-€.bin", state=State.COMPLETED, received=1024, sha256_actual="ab")])
    view.finish()
    assert view.broken is None
    written = raw.getvalue()
    assert b"prix-\\u20ac.bin" in written
    assert b"http://h/\\u20ac.iso: retrying in 8 s" in written
    assert b"total: 1/2 files" in written


def test_a_narrow_ascii_terminal_gets_an_ascii_ellipsis() -> None:
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="ascii")
    view = ProgressView(out, live=True, refresh=0, size=lambda: (60, 24))
    view.update([downloading(1, "€-" + "x" * 100 + ".bin")])
    text = raw.getvalue().decode("ascii")
    line = text.splitlines()[0]
    assert len(line) == 60
    assert line.startswith("\\u20ac-")
    assert "...xx.bin   50.0%" in line


def test_live_lines_fit_the_terminal_and_the_cursor_goes_back_over_all_of_them() -> None:
    out = io.StringIO()
    view = ProgressView(out, live=True, refresh=0, size=lambda: (60, 24))
    view.update([])
    assert out.getvalue() == "", "nothing to show yet: no block"
    long_url = "http://downloads.example.org/" + "very-long-folder-name/" * 8 + "file.iso"
    batch = [
        progress(1, url=long_url, state=State.CONNECTING),
        downloading(2, "データ" * 20 + ".bin"),
        downloading(3, "b.bin", state=State.PAUSED, error="server said 503 Service Unavailable; retrying later"),
        *(downloading(i, f"file-number-{i}.bin") for i in range(4, 14)),
        progress(14, url="http://example.org/queued.bin"),
    ]
    view.update(batch)
    view.update([downloading(2, "データ" * 20 + ".bin", received=1000)])
    view.finish()
    drawn = list(frames(out.getvalue()))
    assert len(drawn) == 3, "two blocks, then the final total"
    for block, count in drawn[:-1]:
        lines = block.splitlines()
        assert all(width(line) <= 60 for line in lines), lines
        assert count == len(lines), "one line is one row, so the cursor lands on the block's first row"
    first = drawn[0][0].splitlines()
    assert len(first) == 10, "8 downloads, '... more waiting', the total"
    assert first[0] == "http://d…ile.iso    ?    0 B  0 B/s  ETA --:--  [connecting]"
    assert "…" in first[1]
    assert first[1].endswith("ETA 0:00"), "the name gives way, not the numbers"
    assert width(first[1]) in (59, 60), "a wide character that does not fit leaves one column free"
    assert first[2].startswith("b.bin   50.0%  512 B/1.0 KiB  [paused]  ")
    assert drawn[2] == ("total: 0/14 files  6.5 KiB  24.0 KiB/s  ETA --:--\n", None), "finish leaves the total"


def test_live_lines_follow_a_resized_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = iter([os.terminal_size((30, 24)), os.terminal_size((100, 24))])
    monkeypatch.setattr(shutil, "get_terminal_size", lambda fallback=(80, 24): next(sizes))
    out = io.StringIO()
    view = ProgressView(out, live=True, refresh=0)
    view.update([downloading(1, "n" * 200 + ".bin")])
    view.update([downloading(1, "n" * 200 + ".bin", received=600)])
    (narrow, up), (wide, _) = frames(out.getvalue())
    assert [width(line) for line in narrow.splitlines()] == [30, 30]
    assert up == 2
    assert width(wide.splitlines()[0]) == 100


def test_the_live_block_fits_a_short_terminal() -> None:
    """On a terminal with fewer rows than the block, going back up would stop at the top row: every redraw would
    leave a copy of the block in the scrollback."""
    for rows, downloads_shown in ((5, 2), (3, 0), (2, 0)):
        out = io.StringIO()
        view = ProgressView(out, live=True, refresh=0, size=lambda rows=rows: (40, rows))
        view.update([downloading(i, f"f{i}.bin") for i in range(1, 11)])
        view.update([downloading(1, "f1.bin", received=600)])
        for block, _ in frames(out.getvalue()):
            lines = block.splitlines()
            assert len(lines) <= rows - 1, (rows, lines)
            assert sum(".bin" in line for line in lines) == downloads_shown
            assert lines[-1].startswith("total: 0/10 files")
        if rows >= 3:
            assert f"... {10 - downloads_shown} more waiting" in out.getvalue()


def test_live_event_lines_stay_whole() -> None:
    """A completed file's line is written once above the block and never redrawn: wrapping it is harmless."""
    out = io.StringIO()
    view = ProgressView(out, live=True, refresh=0, size=lambda: (40, 24))
    path_name = "a-long-file-name-worth-keeping-whole-" * 3 + ".bin"
    view.update([downloading(1, path_name)])
    view.update([downloading(1, path_name, state=State.COMPLETED, received=1024, sha256_actual="ab")])
    assert f"completed /tmp/downloads/{path_name} (1.0 KiB, sha256 ab)\n" in out.getvalue()


def test_cut_middle_keeps_both_ends() -> None:
    assert cut_middle("http://example.org/a/b/c/d/file.iso", 20) == "http://exa…/file.iso"
    assert cut_middle("データデータ", 7) == "デ…ータ"
    assert cut_middle("short", 20) == "short"


def test_each_retry_is_one_plain_line_even_with_the_same_reason() -> None:
    out = io.StringIO()
    view = ProgressView(out, live=False, refresh=0, plain_every=3600)
    reason = "retrying in 2 s: server said 429 Too Many Requests"
    view.update([progress(1, url="http://h/a", error=reason, attempts=1)])
    view.update([progress(1, url="http://h/a", error=reason, attempts=1)])  # the same event, seen again
    view.update([progress(1, url="http://h/a", error=reason, attempts=2)])  # the next try failed alike
    assert out.getvalue().count(f"http://h/a: {reason}\n") == 2
