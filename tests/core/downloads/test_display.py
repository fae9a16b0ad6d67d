"""The words and numbers a list shows for one download (core/downloads/display.py)."""

from __future__ import annotations

import pytest

from core.downloads.display import (
    display_name,
    eta_text,
    format_duration,
    percent_text,
    size_text,
    speed_text,
    state_text,
    tooltip_text,
)
from core.downloads.model import SegmentProgress, State
from tests.core.downloads.snapshots import progress

MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, ""), (float("inf"), ""), (0, "0 s"), (0.2, "1 s"), (59, "59 s"), (61, "1 min 01 s"),
     (3599, "59 min 59 s"), (3600 * 2 + 420, "2 h 07 min"), (3600 * 200, "more than 4 days")],
)  # fmt: skip
def test_durations(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_size_and_percent_follow_what_is_known() -> None:
    assert size_text(progress()) == ""
    assert percent_text(progress()) == ""
    assert size_text(progress(received=3 * MIB)) == "3.0 MiB"
    running = progress(received=int(12.3 * MIB), total=64 * MIB, state=State.DOWNLOADING)
    assert size_text(running) == "12.3 MiB of 64.0 MiB"
    assert percent_text(running) == "19.2%"
    almost = progress(received=64 * MIB - 1, total=64 * MIB, state=State.DOWNLOADING)
    assert percent_text(almost) == "99.9%", "never 100% before the last byte"
    done = progress(received=64 * MIB, total=64 * MIB, state=State.COMPLETED)
    assert (size_text(done), percent_text(done)) == ("64.0 MiB", "100%")
    empty = progress(received=0, total=0, state=State.COMPLETED)
    assert percent_text(empty) == "100%"


def test_speed_and_eta_only_while_running() -> None:
    running = progress(state=State.DOWNLOADING, speed=2.5 * MIB, eta=75.0, total=MIB)
    assert (speed_text(running), eta_text(running)) == ("2.5 MiB/s", "1 min 15 s")
    paused = progress(state=State.PAUSED, speed=0.0, eta=None)
    assert (speed_text(paused), eta_text(paused)) == ("", "")
    limited = progress(state=State.DOWNLOADING, speed=500 * 1024, rate_limit=512 * 1024)
    assert speed_text(limited) == "500.0 KiB/s (max 512.0 KiB/s)"
    assert speed_text(progress(state=State.QUEUED, rate_limit=1024)) == "max 1.0 KiB/s"
    assert speed_text(progress(state=State.COMPLETED, rate_limit=1024)) == ""


def test_state_with_its_reason_and_a_live_retry_countdown() -> None:
    now = 1000.0
    waiting = progress(
        state=State.QUEUED, error="retrying in 8 s: server said 503 Service Unavailable", next_try_at=now + 4.2
    )
    assert state_text(waiting, now) == "retrying in 5 s: server said 503 Service Unavailable"
    assert state_text(waiting, now + 5) == "retrying now: server said 503 Service Unavailable"
    quick = progress(state=State.QUEUED, error="retrying: connection reset", next_try_at=now + 0.5)
    assert state_text(quick, now) == "retrying in 1 s: connection reset"
    failed = progress(state=State.FAILED, error="server said 404 Not Found")
    assert state_text(failed, now) == "failed: server said 404 Not Found"
    interrupted = progress(state=State.QUEUED, error="interrupted; it resumes when downloads start again")
    assert state_text(interrupted, now) == "queued: interrupted; it resumes when downloads start again"
    stale = progress(state=State.DOWNLOADING, error="retrying in 1 s: server said 503")
    assert state_text(stale, now) == "downloading", "a running download's last failure is history"
    assert "last problem: retrying in 1 s: server said 503" in tooltip_text(stale)
    assert state_text(progress(state=State.COMPLETED, sha256_expected="ab" * 32), now) == "completed, SHA-256 matches"
    parts = tuple(SegmentProgress(i * 10, i * 10 + 10, 3) for i in range(4))
    assert state_text(progress(state=State.DOWNLOADING, segments=parts), now) == "downloading in 4 parts"
    assert state_text(progress(state=State.PAUSED), now) == "paused"


def test_tooltip_lists_every_fact() -> None:
    p = progress(
        name="a.iso", state=State.COMPLETED, sha256_expected="ab" * 32, sha256_actual="ab" * 32,
        rate_limit=2048, attempts=3, error="",
    )  # fmt: skip
    assert tooltip_text(p).splitlines() == [
        "http://example.org/file1.bin",
        "saved as /tmp/downloads/a.iso",
        f"expected SHA-256 {'ab' * 32}",
        f"SHA-256 {'ab' * 32}",
        "speed limit 2.0 KiB/s",
        "3 tries",
    ]
    assert tooltip_text(progress()).splitlines() == ["http://example.org/file1.bin", "into /tmp/downloads"]


def test_a_name_before_the_server_answered() -> None:
    assert display_name(progress(name="chosen.iso", url="http://h/x")) == "chosen.iso"
    assert display_name(progress(url="http://h/dir/file.tar.gz?token=1")) == "file.tar.gz"
    assert display_name(progress(url="http://h/dir/")) == "dir"
    assert display_name(progress(url="http://h")) == "http://h"
    assert display_name(progress(url="http://h/")) == "http://h/"
