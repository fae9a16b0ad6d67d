"""`main.py serve` as a real process: the ready line, SIGTERM/SIGINT, kill -9 with nothing lost, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.e2e


class Serve:
    """A running `main.py serve` with its output collected.

    Attributes:
        process: the child.
        stdout: stdout lines so far.
        stderr: stderr lines so far.
    """

    def __init__(self, folder: Path, *extra: str) -> None:
        argv = [sys.executable, str(ROOT / "main.py"), "--data-dir", str(folder), "serve", "--port", "0", *extra]
        self.process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(pipe: Any, into: list[str]) -> None:
        for line in pipe:
            into.append(line.rstrip("\n"))

    def ready(self, timeout: float = 20) -> str:
        """The ws:// URL from the ready line."""
        deadline = time.monotonic() + timeout
        while not self.stdout:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"serve did not get ready: {self.stderr}")
            time.sleep(0.01)
        match = re.search(r"ws://[\d.]+:\d+/ws", self.stdout[0])
        assert match, self.stdout
        return match.group(0)

    def finish(self, timeout: float = 10) -> int:
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=5)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.finish()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "hub"


@pytest.fixture
def hub(folder: Path) -> Iterator[Serve]:
    server = Serve(folder)
    try:
        yield server
    finally:
        server.kill()


def token(ws_url: str, folder: Path, nick: str) -> str:
    base = ws_url.replace("ws://", "http://").removesuffix("/ws")
    body = json.dumps({"nick": nick, "passphrase": (folder / "passphrase").read_text().strip()}).encode()
    with urllib.request.urlopen(urllib.request.Request(base + "/api/token", data=body), timeout=5) as reply:
        return str(json.loads(reply.read())["token"])


def chat(ws_url: str, folder: Path, nick: str) -> ClientConnection:
    headers = {"Authorization": f"Bearer {token(ws_url, folder, nick)}"}
    return connect(ws_url, additional_headers=headers, open_timeout=5, close_timeout=2)


def frames(ws: ClientConnection, kind: str, count: int) -> list[dict[str, Any]]:
    found = []
    while len(found) < count:
        frame = json.loads(ws.recv(timeout=5))
        if frame["type"] == kind:
            found.append(frame)
    return found


def test_a_new_hub_folder_and_its_logs_are_private(folder: Path) -> None:
    previous = os.umask(0o022)  # the usual umask, which would leave both 0755
    try:
        server = Serve(folder)
    finally:
        os.umask(previous)
    try:
        server.ready()
        modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (folder, folder / "logs")}
        assert modes == {"hub": 0o700, "logs": 0o700}
        assert stat.S_IMODE((folder / "passphrase").stat().st_mode) == 0o600
    finally:
        server.kill()


def test_an_old_hub_folder_left_open_to_others_is_made_private(folder: Path) -> None:
    previous = os.umask(0)  # the loosest: files and folders made by the hub must not depend on it
    try:
        first = Serve(folder)
        first.ready()
        os.kill(first.process.pid, signal.SIGTERM)
        assert first.finish() == 0
        for path in (folder, folder / "logs"):
            path.chmod(0o755)
        for path in (folder / "hub.db", folder / "logs" / "squall.log", folder / "passphrase"):
            path.chmod(0o644)
        server = Serve(folder)
    finally:
        os.umask(previous)
    try:
        server.ready()
        modes = {
            str(path.relative_to(folder.parent)): stat.S_IMODE(path.stat().st_mode)
            for path in (folder, folder / "logs", folder / "logs" / "squall.log", folder / "hub.db")
        }
        assert modes == {"hub": 0o700, "hub/logs": 0o700, "hub/logs/squall.log": 0o600, "hub/hub.db": 0o600}
    finally:
        server.kill()


def test_a_ready_line_stdout_cannot_take_is_said_on_stderr_and_the_hub_serves(folder: Path) -> None:
    argv = [sys.executable, str(ROOT / "main.py"), "--data-dir", str(folder), "serve", "--port", "0"]
    with open("/dev/full", "w", encoding="utf-8") as full:
        process = subprocess.Popen(argv, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "cannot write the ready line to stdout" in line
        assert "serving anyway" in line
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_a_chosen_passphrase_replaces_the_generated_one_local_instances_read(folder: Path, tmp_path: Path) -> None:
    first = Serve(folder)
    first.ready()
    os.kill(first.process.pid, signal.SIGTERM)
    assert first.finish() == 0
    chosen = tmp_path / "chosen"
    chosen.write_text("correct horse battery staple\n", encoding="utf-8")
    server = Serve(folder, "--passphrase-file", str(chosen))
    try:
        url = server.ready()
        assert (folder / "passphrase").read_text(encoding="utf-8").strip() == "correct horse battery staple"
        assert stat.S_IMODE((folder / "passphrase").stat().st_mode) == 0o600
        token(url, folder, "ada")  # what a local instance reads is what the hub wants
    finally:
        server.kill()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_one_ready_line_then_a_signal_closes_everyone_with_1001(
    hub: Serve, folder: Path, signum: signal.Signals
) -> None:
    url = hub.ready()
    with chat(url, folder, "alice") as ws:
        ws.send(json.dumps({"type": "join", "room": "lobby"}))
        frames(ws, "presence", 1)
        asked = time.monotonic()
        hub.process.send_signal(signum)
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1001
    assert hub.finish() == 0
    assert time.monotonic() - asked < 2.0
    assert len(hub.stdout) == 1
    assert hub.stdout[0].startswith("squall hub: ws://127.0.0.1:")
    assert f"passphrase in {folder / 'passphrase'}" in hub.stdout[0]
    assert not [line for line in hub.stderr if "Traceback" in line or "ERROR" in line], hub.stderr


def test_kill_9_loses_no_broadcast_message_and_keeps_the_ids(folder: Path) -> None:
    first = Serve(folder, "--log-level", "debug")
    try:
        url = first.ready()
        with chat(url, folder, "alice") as ws:
            ws.send(json.dumps({"type": "join", "room": "lobby"}))
            frames(ws, "presence", 1)
            seen = []
            for i in range(50):
                ws.send(json.dumps({"type": "say", "room": "lobby", "text": f"m{i}", "cid": f"c{i}"}))
                seen += frames(ws, "message", 1)  # broadcast back to us, so it was committed first
                time.sleep(0.05)  # under the 20/s rate limit
            first.process.send_signal(signal.SIGKILL)
            assert first.finish() == -signal.SIGKILL
    finally:
        first.kill()
    second = Serve(folder, "--log-level", "debug")
    try:
        url = second.ready()
        with chat(url, folder, "alice") as ws:
            ws.send(json.dumps({"type": "join", "room": "lobby", "since": 0}))
            replayed = frames(ws, "message", 50)
            assert replayed == seen  # same ids, texts, times and cids
            ws.send(json.dumps({"type": "say", "room": "lobby", "text": "after", "cid": "c0"}))
            assert frames(ws, "message", 1)[0]["id"] == seen[0]["id"]  # cids survived too
            ws.send(json.dumps({"type": "say", "room": "lobby", "text": "new"}))
            assert frames(ws, "message", 1)[0]["id"] == 51
            secret = token(url, folder, "bob")
            misplaced = url.replace("ws://", "http://").replace("/ws", f"/nope?token={secret}")
            with pytest.raises(urllib.error.HTTPError):  # a token put in a URL by mistake
                urllib.request.urlopen(misplaced, timeout=5)
    finally:
        second.kill()
    logged = (folder / "logs" / "squall.log").read_text(encoding="utf-8")
    assert "404 GET /nope (127.0.0.1)" in logged  # the request is logged, its query string is not
    assert secret not in logged
    assert (folder / "passphrase").read_text().strip() not in logged


def test_a_second_hub_on_the_same_folder_exits_3(hub: Serve, folder: Path) -> None:
    hub.ready()
    second = Serve(folder)
    try:
        assert second.finish() == 3
    finally:
        second.kill()
    assert "already hosted by another Squall" in "\n".join(second.stderr)
    assert second.stdout == []


def test_a_busy_port_exits_1(folder: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = Serve(folder, "--port", str(port))
        try:
            assert server.finish() == 1
        finally:
            server.kill()
    assert "choose another --port" in "\n".join(server.stderr)


def test_bad_arguments_exit_2(folder: Path) -> None:
    cases = [
        (["--port", "nope"], "not a port number"),
        (["--host", "0.0.0.0"], "without a passphrase"),
        (["--host", ""], "--host is empty"),
        (["--port", "18777", "--tcp-port", "18777"], "need a port each"),
        (["--passphrase-file", "/dev/zero"], "over 1024 bytes"),  # read no further than that
    ]
    for extra, words in cases:
        server = Serve(folder, *extra)
        try:
            assert server.finish() == 2, server.stderr
        finally:
            server.kill()
        assert "Traceback" not in "\n".join(server.stderr)
        assert words in "\n".join(server.stderr), (extra, server.stderr)


def test_an_unusable_file_in_the_hub_folder_is_one_clear_line(folder: Path) -> None:
    (folder / "passphrase").mkdir(parents=True)
    server = Serve(folder)
    try:
        assert server.finish() == 1
    finally:
        server.kill()
    assert server.stderr == [
        f"squall serve: cannot use {folder / 'passphrase'} in the hub folder: Is a directory; "
        "move it aside or choose --data-dir"
    ]


def test_nc_gateway_from_the_command_line(folder: Path) -> None:
    phrase = folder.parent / "phrase"
    phrase.write_text("open sesame\n", encoding="utf-8")
    server = Serve(folder, "--tcp-port", "0", "--passphrase-file", str(phrase))
    try:
        server.ready()
        line = server.stdout[0]
        assert "passphrase from --passphrase-file" in line
        match = re.search(r"nc 127\.0\.0\.1 (\d+)", line)
        assert match, line
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as nc, nc.makefile("rwb") as f:
            assert f.read(len(b"Squall hub. Passphrase: ")) == b"Squall hub. Passphrase: "
            f.write(b"open sesame\n")
            f.flush()
            assert f.read(len(b"Nick: ")) == b"Nick: "
            f.write(b"carol\nhello\n")
            f.flush()
            assert b"You are in #lobby" in f.readline()
            assert f.readline().endswith(b"<carol> hello\n")
        assert stat.S_IMODE((folder / "passphrase").stat().st_mode) == 0o600  # kept for local instances
        server.process.send_signal(signal.SIGTERM)
        assert server.finish() == 0
    finally:
        server.kill()
