"""`main.py get` as users run it: a real subprocess against a real server on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import pty
import shutil
import signal
import sqlite3
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.core.downloads.faultserver import FaultServer, ServerThread
from tests.helpers import wait_until_sync

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e
MAIN = [sys.executable, str(ROOT / "main.py"), "get"]


@pytest.fixture
def server() -> Iterator[FaultServer]:
    with ServerThread() as fault_server:
        yield fault_server


def get(*args: str, cwd: Path, timeout: float = 60, wrap: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*(wrap or []), *MAIN, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([*MAIN, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def saved_bytes(data_dir: Path) -> int:
    db = data_dir / "squall.db"
    if not db.exists():
        return 0
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT max(received) FROM downloads").fetchone()
    except sqlite3.OperationalError:  # the other process has not created its tables yet
        return 0
    finally:
        conn.close()
    return int(row[0] or 0)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_kill_9_mid_download_then_rerun_gives_the_exact_file(server: FaultServer, tmp_path: Path) -> None:
    data = server.add("k.bin", 6_000_000)
    url = server.url("/throttle/k.bin?bps=2000000")
    args = (url, "-d", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"))
    process = start(*args, cwd=tmp_path)
    try:
        wait_until_sync(lambda: saved_bytes(tmp_path / "data") > 1_000_000, timeout=20, what="a checkpoint")
        process.kill()  # SIGKILL: no cleanup at all
        process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert (tmp_path / "out" / "k.bin.part").exists()
    assert not (tmp_path / "out" / "k.bin").exists()
    first_requests = len(server.state.requests)

    result = get(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sha((tmp_path / "out" / "k.bin").read_bytes()) == sha(data)
    assert list((tmp_path / "out").iterdir()) == [tmp_path / "out" / "k.bin"]
    resumed_from = server.state.requests[first_requests][1]
    assert resumed_from is not None
    assert int(resumed_from.removeprefix("bytes=").rstrip("-")) >= 1_000_000, "the rerun resumed, not restarted"
    assert f"sha256 {sha(data)}" in result.stdout


def test_ctrl_c_saves_progress_exits_1_and_says_how_to_resume(server: FaultServer, tmp_path: Path) -> None:
    data = server.add("i.bin", 3_000_000)
    url = server.url("/throttle/i.bin?bps=1000000")
    args = (url, "-d", str(tmp_path), "--data-dir", str(tmp_path / "data"))
    process = start(*args, cwd=tmp_path)
    wait_until_sync(lambda: (tmp_path / "i.bin.part").exists(), timeout=20, what="the download to start")
    wait_until_sync(lambda: (tmp_path / "i.bin.part").stat().st_size > 300_000, timeout=20, what="some bytes")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 1
    assert f"{url}: interrupted; run the same command again to resume" in out  # the CLI's words, not the window's
    assert f"squall get: interrupted: {url} (" in err
    assert "saved); run the same command again to resume" in err
    assert "Traceback" not in err
    assert saved_bytes(tmp_path / "data") > 300_000, "stopping checkpointed what was written"
    result = get(*args, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "i.bin").read_bytes() == data


def test_a_second_get_of_the_same_file_is_refused_while_the_first_runs(server: FaultServer, tmp_path: Path) -> None:
    server.add("l.bin", 3_000_000)
    url = server.url("/throttle/l.bin?bps=500000")
    args = (url, "-d", str(tmp_path), "--data-dir", str(tmp_path / "data"))
    first = start(*args, cwd=tmp_path)
    try:
        wait_until_sync(lambda: saved_bytes(tmp_path / "data") > 0, timeout=20, what="the first to checkpoint")
        second = get(*args, cwd=tmp_path)
    finally:
        first.kill()
        first.communicate(timeout=10)
    assert second.returncode == 1
    line = f"squall get: failed: {url}: {tmp_path / 'l.bin.part'} is already being downloaded by another Squall"
    assert line + f" (pid {first.pid}); let that one finish" in second.stderr


def test_disk_full_on_a_small_tmpfs_fails_that_file_and_finishes_the_others(
    server: FaultServer, tmp_path: Path
) -> None:
    small = tmp_path / "small"
    small.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(small)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); the RLIMIT_FSIZE test covers it")
    try:
        server.add("big.bin", 4_000_000)
        a, b = server.add("a.bin", 200_000), server.add("b.bin", 300_000)
        # The big one is paced so the small ones are written before it fills the disk.
        urls = [server.url("/throttle/big.bin?bps=2000000"), server.url("/f/a.bin"), server.url("/f/b.bin")]
        result = get(*urls, "-d", str(small), "--data-dir", str(tmp_path / "data"), "-j", "3", cwd=tmp_path)
        assert result.returncode == 1
        failures = [line for line in result.stderr.splitlines() if line.startswith("squall get: failed:")]
        assert len(failures) == 1, result.stderr
        assert failures[0].startswith(f"squall get: failed: {urls[0]}: the disk is full while writing")
        assert "free some space, then retry (the .part is kept)" in failures[0]
        assert (small / "a.bin").read_bytes() == a
        assert (small / "b.bin").read_bytes() == b
        assert (small / "big.bin.part").exists()
    finally:
        subprocess.run(["umount", str(small)], check=False)


def test_a_file_size_limit_fails_that_file_with_a_clear_reason(server: FaultServer, tmp_path: Path) -> None:
    server.add("big.bin", 3_000_000)
    a = server.add("a.bin", 100_000)
    urls = [server.url("/f/big.bin"), server.url("/f/a.bin")]
    ulimit = ["bash", "-c", 'ulimit -f 2048 && exec "$@"', "get"]  # 2 MiB per file for this process
    result = get(*urls, "-d", str(tmp_path), "--data-dir", str(tmp_path / "data"), cwd=tmp_path, wrap=ulimit)
    assert result.returncode == 1, result.stderr
    assert f"squall get: failed: {urls[0]}: the file became too large for this file system or for the process's" in (
        result.stderr
    )
    assert "(ulimit -f)" in result.stderr
    assert (tmp_path / "a.bin").read_bytes() == a


def test_exit_codes_and_one_line_per_failure(server: FaultServer, tmp_path: Path) -> None:
    good = server.add("g.bin", 1000)
    data_dir = ("--data-dir", str(tmp_path / "data"))
    ok = get(server.url("/f/g.bin") + f"#sha256={sha(good)}", "-d", str(tmp_path), *data_dir, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stderr == ""

    failed = get(server.url("/status/404"), server.url("/f/g.bin"), "-d", str(tmp_path / "x"), *data_dir, cwd=tmp_path)
    assert failed.returncode == 1
    assert failed.stderr.splitlines() == [f"squall get: failed: {server.url('/status/404')}: server said 404 Nope"]

    mismatch = get(server.url("/f/g.bin"), "--sha256", "0" * 64, "-d", str(tmp_path / "y"), *data_dir, cwd=tmp_path)
    assert mismatch.returncode == 1
    assert "checksum mismatch: expected " + "0" * 64 in mismatch.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.org/x"], "squall get: 'ftp://example.org/x' has 'ftp:'; only http:// and https://"),
        (["http://h/a", "http://h/b", "--sha256", "a" * 64], "--sha256 applies to one URL"),
        (["http://h/a#sha256=xyz"], "is not a SHA-256: give 64 hexadecimal digits"),
        (["http://h/a", "-j", "0"], "'0' is not a number of connections from 1 to 64"),
        (["http://h/a", "--limit-rate", "fast"], "'fast' is not a speed"),
        (["http://h/a", "--limit-rate", "0.5"], "'0.5' is under 1 byte per second; 0 means no limit"),
        (["http://h/a", "-d", ""], "an empty folder name"),
        (["http://h/a", "--data-dir", ""], "an empty folder name"),
        ([f"http://h/a#sha256={'a' * 64}", "--sha256", "b" * 64], "--sha256 and the #sha256= of http://h/a disagree"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(tmp_path: Path, args: list[str], message: str) -> None:
    result = get(*args, "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_folder_that_is_a_file_or_a_damaged_database_is_a_clear_error(server: FaultServer, tmp_path: Path) -> None:
    server.add("z.bin", 1000)
    (tmp_path / "plain").write_text("not a folder")
    result = get(server.url("/f/z.bin"), "-d", str(tmp_path / "plain"), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"squall get: -d {tmp_path / 'plain'} is a file, not a folder\n"
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "squall.db").write_bytes(os.urandom(5000))
    result = get(server.url("/f/z.bin"), "-d", str(tmp_path), "--data-dir", str(damaged), cwd=tmp_path)
    assert result.returncode == 1
    assert f"squall get: the database {damaged / 'squall.db'} cannot be used (file is not a database)" in result.stderr
    assert "move it away" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "z.bin").exists()


def test_a_rerun_after_ctrl_c_keeps_what_the_first_run_finished(server: FaultServer, tmp_path: Path) -> None:
    quick, slow = server.add("q.bin", 1000), server.add("s.bin", 3_000_000)
    urls = (server.url("/f/q.bin"), server.url("/throttle/s.bin?bps=1000000"))
    args = (*urls, "-d", str(tmp_path / "dl"), "--data-dir", str(tmp_path / "data"))
    process = start(*args, cwd=tmp_path)
    wait_until_sync(lambda: (tmp_path / "dl" / "q.bin").exists(), timeout=20, what="the small file to complete")
    wait_until_sync(lambda: saved_bytes(tmp_path / "data") > 0, timeout=20, what="the big one to checkpoint")
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert process.returncode == 1
    rerun = get(*args, cwd=tmp_path)
    assert rerun.returncode == 0, rerun.stderr
    assert f"completed {tmp_path / 'dl' / 'q.bin'} (1000 B, sha256 {sha(quick)})" in rerun.stdout
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["q.bin", "s.bin"]  # no "q (1).bin"
    assert (tmp_path / "dl" / "s.bin").read_bytes() == slow
    before = (tmp_path / "dl" / "q.bin").stat()
    (tmp_path / "dl" / "q.bin").write_bytes(b"x" * 1000)  # same size, other bytes, and the old mtime (as cp -p)
    os.utime(tmp_path / "dl" / "q.bin", ns=(before.st_atime_ns, before.st_mtime_ns))
    same_folder = str(tmp_path / "elsewhere" / ".." / "dl")  # the same folder, spelt otherwise
    again = get(urls[0], "-d", same_folder, "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "dl" / "q (1).bin").read_bytes() == quick  # fetched again, beside it
    assert (tmp_path / "dl" / "q.bin").read_bytes() == b"x" * 1000
    third = get(urls[0], "-d", same_folder, "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert f"completed {tmp_path / 'dl' / 'q (1).bin'}" in third.stdout  # the newest copy is intact: kept


def test_the_same_url_with_and_without_a_checksum_is_one_checked_download(server: FaultServer, tmp_path: Path) -> None:
    data = server.add("c.bin", 1000)
    url = server.url("/f/c.bin")
    result = get(
        url, f"{url}#sha256={sha(data)}", "-d", str(tmp_path / "dl"), "--data-dir", str(tmp_path / "data"), cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "dl").iterdir()) == ["c.bin"]
    bad = get(
        url, f"{url}#sha256={'0' * 64}", "-d", str(tmp_path / "dl2"), "--data-dir", str(tmp_path / "data"), cwd=tmp_path
    )
    assert bad.returncode == 1
    assert "checksum mismatch" in bad.stderr


@pytest.mark.parametrize("stdout", ["full", "closed"])
def test_output_that_cannot_be_written_never_stops_the_downloads(
    server: FaultServer, tmp_path: Path, stdout: str
) -> None:
    data = server.add("o.bin", 200_000)
    argv = [*MAIN, server.url("/f/o.bin"), "-d", str(tmp_path), "--data-dir", str(tmp_path / "data")]
    if stdout == "full":
        with open("/dev/full", "w") as full:
            result = subprocess.run(argv, cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True, timeout=60)
        assert "squall get: progress output stopped: No space left on device" in result.stderr
    else:  # started with stdout closed, as `>&-` does
        result = subprocess.run(
            ["sh", "-c", 'exec "$@" >&-', "sh", *argv], cwd=tmp_path, stderr=subprocess.PIPE, text=True, timeout=60
        )
        assert "squall get: progress output stopped: stdout is closed" in result.stderr
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert (tmp_path / "o.bin").read_bytes() == data


def test_a_terminal_gets_live_progress(server: FaultServer, tmp_path: Path) -> None:
    server.add("t.bin", 1_500_000)
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [*MAIN, server.url("/throttle/t.bin?bps=1000000"), "-d", str(tmp_path), "--data-dir", str(tmp_path / "d")],
        cwd=tmp_path, stdout=terminal, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    os.close(terminal)
    output = b""
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break  # the child closed the terminal
            if not chunk:
                break
            output += chunk
        assert process.wait(timeout=10) == 0
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
        process.communicate()
    text = output.decode(errors="replace")
    assert "\x1b[" in text, "the block is redrawn in place"
    for part in ("%", "/s", "ETA"):
        assert part in text
    assert "total: 1/1 files" in text


@pytest.mark.allow_logs(r"SSL Error on .*(unknown ca|certificate unknown)")
def test_a_refused_certificate_is_one_line_on_stderr(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed (apt-get install openssl); it makes the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with ServerThread(ssl_options=context) as server:
        server.add("s.bin", 1000)
        url = server.url("/f/s.bin")
        result = get(url, "-d", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"squall get: failed: {url}: the server's TLS certificate was refused (self-signed certificate); "
        "Squall always checks certificates: fix the server's certificate or use another source"
    ]
    assert "SSL Error on" in (tmp_path / "data" / "logs" / "squall.log").read_text(), "kept in the log file"
    # The test's own server (in this process) logs the client's refusal; that is the record allowed above.
    wait_until_sync(lambda: "unknown ca" in caplog.text, timeout=5, what="the test server's handshake warning")
