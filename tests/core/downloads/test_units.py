"""Small pure parts: URL checks, token buckets, backoff, Retry-After, the scheduler, the terminal view."""

from __future__ import annotations

import errno
import io
import os
import time

import pytest

from core.downloads.errors import BadUrlError
from core.downloads.model import DownloadProgress, State
from core.downloads.partfile import describe_os_error
from core.downloads.ratelimit import TokenBucket
from core.downloads.retry import RetryPolicy, parse_retry_after
from core.downloads.scheduler import Scheduler
from core.downloads.terminal import ProgressView, describe, human_bytes
from core.downloads.urls import check_url, host_of, split_checksum


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "an empty URL"),
        ("ftp://h/x", "has 'ftp:'; only http:// and https://"),
        ("example.org/x", "has no scheme"),
        ("http:///x", "has no host name"),
        ("http://h:99999/x", "is not a valid URL"),
        ("http://h/a b", "contains spaces or control characters"),
        ("file:///etc/passwd", "has 'file:'"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(BadUrlError, match=message):
        check_url(url)


def test_checksum_fragment() -> None:
    digest = "A" * 64
    assert split_checksum(f"http://h/x#sha256={digest}") == ("http://h/x", "a" * 64)
    assert split_checksum("http://h/x#section") == ("http://h/x", None)
    with pytest.raises(BadUrlError, match="is not a SHA-256: give 64 hexadecimal digits"):
        split_checksum("http://h/x#sha256=1234")


def test_host_keeps_non_default_ports() -> None:
    assert host_of("http://h:80/x") == "h"
    assert host_of("https://h:8443/x") == "h:8443"


def test_token_bucket_holds_the_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(1000, clock=lambda: now[0])
    bucket.consume(1000)  # a new limit starts with an empty bucket: a second's worth of debt
    assert bucket.delay() == pytest.approx(1.0)
    now[0] += 0.5
    assert bucket.delay() == pytest.approx(0.5)
    bucket.set_rate(0)
    assert bucket.delay() == 0
    with pytest.raises(ValueError, match="cannot be negative"):
        bucket.set_rate(-1)


def test_token_bucket_pays_consumers_in_the_order_they_took_tokens() -> None:
    now = [100.0]
    bucket = TokenBucket(1000, clock=lambda: now[0])
    first, second = bucket.consume(1000), bucket.consume(1000)
    assert bucket.wait_for(first) == pytest.approx(1.0)
    assert bucket.wait_for(second) == pytest.approx(2.0)
    now[0] += 1.0
    assert bucket.wait_for(first) == 0, "paid: the first consumer goes on"
    again = bucket.consume(1000)  # and takes more at once: it queues behind the second, not ahead of it
    assert bucket.wait_for(second) == pytest.approx(1.0)
    assert bucket.wait_for(again) == pytest.approx(2.0)
    bucket.set_rate(2000)  # a raised limit pays everyone sooner, in the same order
    assert bucket.wait_for(second) == pytest.approx(0.5)
    assert bucket.wait_for(again) == pytest.approx(1.0)
    bucket.set_rate(0)
    assert bucket.wait_for(again) == 0, "no limit: nobody waits"


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    policy = RetryPolicy(base=1, factor=2, max_delay=10, jitter=0.5, rng=lambda: 1.0)
    assert policy.delay(1) == pytest.approx(1.5)
    assert policy.delay(3) == pytest.approx(6.0)
    assert policy.delay(10) == 10
    assert policy.delay(1, retry_after=7) == 7
    assert policy.delay(1, retry_after=7000) == 10


def test_retry_after_forms() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == pytest.approx(10)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_scheduler_takes_oldest_first_within_host_limits() -> None:
    scheduler = Scheduler(concurrency=3, per_host=2)
    for download_id, host in [(1, "a"), (2, "a"), (3, "a"), (4, "b")]:
        scheduler.push(download_id, host)
    started = [scheduler.pop_next(), scheduler.pop_next(), scheduler.pop_next()]
    assert started == [(1, "a"), (2, "a"), (4, "b")]
    assert scheduler.pop_next() is None
    scheduler.give("b")
    assert scheduler.pop_next() is None, "host a is at its limit; b has nothing queued"
    assert not scheduler.try_extra("b") or scheduler.in_use == 3
    scheduler.discard(3)
    scheduler.give("a")
    assert scheduler.pop_next() is None


def snapshot(**kw: object) -> DownloadProgress:
    base: dict[str, object] = {
        "id": 1, "url": "http://h/f", "host": "h", "folder": "/d", "name": "f", "path": "/d/f", "received": 512,
        "total": 1024, "state": State.DOWNLOADING, "speed": 2048.0, "eta": 0.25, "error": "", "next_try_at": None,
        "attempts": 1, "sha256_expected": None, "sha256_actual": None, "rate_limit": 0, "segments": (),
        "added_at": time.time(), "finished_at": None,
    }  # fmt: skip
    base.update(kw)
    return DownloadProgress(**base)  # type: ignore[arg-type]


def test_terminal_lines() -> None:
    assert human_bytes(1536) == "1.5 KiB"
    assert describe(snapshot()) == "f   50.0%  512 B/1.0 KiB  2.0 KiB/s  ETA 0:00"
    failed = describe(snapshot(state=State.FAILED, error="server said 404"))
    assert failed.endswith("[failed]  server said 404")
    out = io.StringIO()
    view = ProgressView(out, live=False, plain_every=0)
    view.update([snapshot(state=State.COMPLETED, received=1024, sha256_actual="ab")])
    assert "completed /d/f (1.0 KiB, sha256 ab)" in out.getvalue()
    live = io.StringIO()
    view = ProgressView(live, live=True, refresh=0)
    view.update([snapshot()])
    view.update([snapshot(received=1024)])
    assert "\x1b[" in live.getvalue(), "a terminal gets the block redrawn in place"


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "the disk is full while writing /d/f.part; free some space, then retry (the .part is kept)"),
        (errno.EROFS, "the file system is read-only while writing /d/f.part; choose a folder on a writable one"),
        (errno.EACCES, "permission denied while writing /d/f.part; choose a folder you can write to"),
    ],
)
def test_local_file_problems_are_named_for_what_they_are(code: int, words: str) -> None:
    error = describe_os_error(OSError(code, os.strerror(code)), "/d/f.part", "writing")
    assert str(error) == words
    assert not error.retryable
