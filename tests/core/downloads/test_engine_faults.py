"""The engine against a misbehaving server: every fault ends in a complete, correct file or a clear failure."""

from __future__ import annotations

import hashlib
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from core.downloads.model import State
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import download

SIZE = 200_000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_complete(snapshot: Any, data: bytes) -> None:
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert snapshot.sha256_actual == sha(data)
    assert Path(snapshot.path).read_bytes() == data
    assert not Path(snapshot.path + ".part").exists()


def test_short_body_is_resumed_with_range_not_counted_complete(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    data = server.add("s.bin", SIZE)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/short/s.bin")))
    assert_complete(snapshot, data)
    ranges = [r for path, r, _ in server.state.requests if path == "/short/s.bin"]
    assert ranges == ["bytes=0-", f"bytes={SIZE // 2}-"], "the second request continues where the body stopped"
    assert snapshot.attempts == 2
    assert "retrying: the server closed the connection before the end of the file" in caplog.text


def test_stall_after_headers_hits_the_idle_timeout_then_resumes(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    data = server.add("st.bin", SIZE)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/stall/st.bin")))
    assert_complete(snapshot, data)
    assert "no data for 0.5 s (idle timeout)" in caplog.text
    assert [r for p, r, _ in server.state.requests if p == "/stall/st.bin"][1] == "bytes=1000-"


def test_trickle_fails_the_low_speed_rule_with_a_clear_reason(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    server.add("t.bin", 100_000)
    from core.downloads.retry import RetryPolicy, Timeouts

    engine_args = {
        "timeouts": Timeouts(connect=2, first_byte=2, idle=2, low_speed_bytes=5000, low_speed_time=0.5),
        "retry": RetryPolicy(max_attempts=2, base=0.05, jitter=0),
    }

    def make(**kw: Any) -> Any:
        return make_engine(**engine_args, **kw)

    snapshot = aloop.run(download(make, recorder, server.url("/trickle/t.bin")))
    assert snapshot.state is State.FAILED
    assert "slower than 5000 bytes/s for 0.5 s (low-speed limit)" in snapshot.error
    assert "gave up after 2 tries" in snapshot.error


def test_connection_reset_mid_body_resumes(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("r.bin", SIZE)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/reset/r.bin")))
    assert_complete(snapshot, data)
    assert snapshot.attempts == 2


def test_redirect_loop_fails_without_retrying(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    snapshot = aloop.run(download(make_engine, recorder, server.url("/loop")))
    assert snapshot.state is State.FAILED
    assert "redirects in a loop" in snapshot.error
    assert snapshot.attempts == 1
    assert server.state.hits["/loop"] == 1


def test_redirect_to_a_non_http_scheme_is_refused(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    snapshot = aloop.run(download(make_engine, recorder, server.url("/to-ftp")))
    assert snapshot.state is State.FAILED
    assert "redirected to 'ftp://127.0.0.1/file'" in snapshot.error
    assert "only http:// and https://" in snapshot.error


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        ("http://[::1", "it is not a valid URL (Invalid IPv6 URL)"),
        ("http://exa mple.com/", "it contains spaces or control characters"),
        ("http://127.0.0.1:0/x", "it has port 0"),
        ("http:///f/r.bin", "it has no host name"),  # not a path on the current host
        ("http://exa%mple.com/", "it has an invalid host name 'exa%mple.com'"),
    ],
)
def test_redirect_to_an_invalid_address_fails_at_once(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, location: str, reason: str
) -> None:
    server.add("r.bin", 10)
    url = server.url("/to?location=" + urllib.parse.quote(location, safe=""))
    snapshot = aloop.run(download(make_engine, recorder, url))
    assert snapshot.state is State.FAILED
    assert snapshot.error == f"the server redirected to an invalid address {location!r}: {reason}"
    assert snapshot.attempts == 1
    assert [path for path, _, _ in server.state.requests] == ["/to"]


def test_a_raw_space_in_a_redirect_path_or_query_is_encoded_as_browsers_do(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("r.bin", 10)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/to?location=/f/r.bin%3Fnote%3Da%20b")))
    assert_complete(snapshot, data)
    assert [path for path, _, _ in server.state.requests] == ["/to", "/f/r.bin"]


def test_a_redirect_without_a_location_says_so(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    snapshot = aloop.run(download(make_engine, recorder, server.url("/to?location=")))
    assert snapshot.state is State.FAILED
    assert snapshot.error == "server said 302 Found without saying where to (no Location header)"
    assert snapshot.attempts == 1


def test_a_raw_utf8_redirect_path_asks_for_those_bytes(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("ünï.bin", 10)  # the server sends the Location's bytes as UTF-8, unencoded
    url = server.url("/to?location=" + urllib.parse.quote("/f/ünï.bin"))
    snapshot = aloop.run(download(make_engine, recorder, url))
    assert_complete(snapshot, data)
    assert snapshot.name == "ünï.bin"


def test_redirect_is_followed_and_names_come_from_the_final_url(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("target.txt", 5000)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/redirect/target.txt")))
    assert_complete(snapshot, data)
    assert snapshot.name == "target.txt"


def test_too_many_redirects(aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder) -> None:
    server.add("x.bin", 10)

    def make(**kw: Any) -> Any:
        return make_engine(max_redirects=0, **kw)

    snapshot = aloop.run(download(make, recorder, server.url("/redirect/x.bin")))
    assert snapshot.state is State.FAILED
    assert "too many redirects (more than 0)" in snapshot.error


def test_range_ignored_on_resume_restarts_cleanly(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    """The first body is cut short; the server then ignores Range: the file is rewritten, not appended."""
    data = server.add("n.bin", SIZE)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/norange/n.bin")))
    assert_complete(snapshot, data)
    assert snapshot.received == SIZE
    assert [r for _, r, _ in server.state.requests] == ["bytes=0-", f"bytes={SIZE // 2}-"]


def test_file_changed_between_attempts_is_downloaded_again_from_zero(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    server.add("c.bin", SIZE)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/changing/c.bin")))
    newest = server.state.files["c.bin"]
    assert_complete(snapshot, newest)
    requests = [(r, i) for p, r, i in server.state.requests if p == "/changing/c.bin"]
    assert requests[1][0] == f"bytes={SIZE // 2}-"
    assert "c.bin-1-" in (requests[1][1] or ""), "If-Range carries the old version's ETag"


def test_wrong_content_range_is_never_appended(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    data = server.add("b.bin", SIZE)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/badrange/b.bin")))
    assert_complete(snapshot, data)
    assert "the server sent bytes 1-199999/200000 when asked for 0-" in caplog.text
    assert [r for _, r, _ in server.state.requests] == ["bytes=0-", None], "no second range request"


def test_416_on_a_fresh_download_falls_back_to_no_range(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("u.bin", 3000)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/unsatisfiable/u.bin")))
    assert_complete(snapshot, data)
    assert [r for _, r, _ in server.state.requests] == ["bytes=0-", None]


@pytest.mark.parametrize("code", [503, 429])
def test_retry_after_is_honoured_and_shown(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, code: int
) -> None:
    data = server.add("status", 1234)
    snapshot = aloop.run(download(make_engine, recorder, server.url(f"/status/{code}?after=1&retry_after=1")))
    assert_complete(snapshot, data)
    waits = [s for b in recorder.batches for s in b if s.error.startswith("retrying in 1 s: server said")]
    assert waits, "the snapshot says when and why it retries"
    assert waits[0].next_try_at is not None
    assert f"server said {code} Nope" in waits[0].error
    assert snapshot.finished_at is not None
    assert snapshot.finished_at - waits[0].added_at >= 0.9


@pytest.mark.parametrize("code", [404, 403, 410])
def test_client_errors_fail_at_once(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, code: int
) -> None:
    snapshot = aloop.run(download(make_engine, recorder, server.url(f"/status/{code}")))
    assert snapshot.state is State.FAILED
    assert snapshot.error == f"server said {code} Nope"
    assert server.state.hits[f"/status/{code}"] == 1


def test_server_errors_give_up_after_the_bounded_tries(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    snapshot = aloop.run(download(make_engine, recorder, server.url("/status/500")))
    assert snapshot.state is State.FAILED
    assert snapshot.error == "server said 500 Nope (gave up after 4 tries)"
    assert server.state.hits["/status/500"] == 4


def test_gzip_bomb_is_stored_compressed_not_inflated(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    snapshot = aloop.run(download(make_engine, recorder, server.url("/gzipbomb")))
    assert snapshot.state is State.COMPLETED
    assert snapshot.received == len(server.state.gzip_body) < 1024 * 1024
    assert Path(snapshot.path).read_bytes() == server.state.gzip_body
    assert server.state.requests[0] == ("/gzipbomb", "bytes=0-", None)


def test_chunked_body_without_length(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("ch.bin", 50_000)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/chunked/ch.bin")))
    assert_complete(snapshot, data)
    assert snapshot.total == 50_000


def test_checksum_mismatch_fails_and_leaves_no_file(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tmp_path: Path
) -> None:
    server.add("m.bin", 1000)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/f/m.bin"), sha256="ab" * 32))
    assert snapshot.state is State.FAILED
    assert snapshot.error.startswith("checksum mismatch: expected " + "ab" * 32)
    folder = tmp_path / "downloads"
    assert not folder.exists() or list(folder.iterdir()) == []


def test_checksum_from_the_url_fragment(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder
) -> None:
    data = server.add("g.bin", 1000)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/f/g.bin") + "#sha256=" + sha(data).upper()))
    assert_complete(snapshot, data)
    assert snapshot.sha256_expected == sha(data)
    assert snapshot.url == server.url("/f/g.bin")


def test_connection_refused_is_retried_then_reported(aloop: LoopRunner, make_engine: Any, recorder: Recorder) -> None:
    from tests.helpers import free_port

    snapshot = aloop.run(download(make_engine, recorder, f"http://127.0.0.1:{free_port()}/x"))
    assert snapshot.state is State.FAILED
    assert snapshot.error == "the connection was refused (is the server up?) (gave up after 4 tries)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("attachment; filename*=UTF-8''%E2%82", "cd"),
        ("attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82", "plain.txt"),
    ],
)
def test_undecodable_filename_star_falls_back_to_the_plain_name_or_the_url(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, value: str, expected: str
) -> None:
    import urllib.parse

    snapshot = aloop.run(download(make_engine, recorder, server.url("/cd?value=" + urllib.parse.quote(value))))
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert snapshot.name == expected
    assert Path(snapshot.path).read_bytes() == b"hello"


@pytest.mark.parametrize(
    "value",
    [
        'attachment; filename="../../../../tmp/evil.sh"',
        "attachment; filename*=UTF-8''..%2F..%2Fescape.txt",
        'attachment; filename="/etc/cron.d/job"',
        'attachment; filename="..\\\\..\\\\boot.ini"',
        'attachment; filename=".."',
        'attachment; filename="CON"',
        'attachment; filename="\u202egnp.exe"',
    ],
)
def test_hostile_content_disposition_never_leaves_the_folder(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tmp_path: Path, value: str
) -> None:
    import urllib.parse

    url = server.url("/cd?value=" + urllib.parse.quote(value))
    snapshot = aloop.run(download(make_engine, recorder, url))
    assert snapshot.state is State.COMPLETED, snapshot.error
    folder = (tmp_path / "downloads").resolve()
    saved = Path(snapshot.path).resolve()
    assert saved.parent == folder
    assert saved.read_bytes() == b"hello"
    assert sorted(p.name for p in folder.iterdir()) == [saved.name]
    assert not saved.name.startswith(".")
    assert "\u202e" not in saved.name
