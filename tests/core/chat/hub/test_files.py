"""The hub folder: owner-only files, the hosting lock, the generated and user-given passphrases."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from core.chat.errors import HubConfigError, HubInUseError
from core.chat.hub.files import (
    HostingLock,
    load_or_create_passphrase,
    local_passphrase,
    open_folder,
    read_passphrase_file,
    read_private,
    write_private,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_folder_is_private_and_hosted_by_one_process(tmp_path: Path) -> None:
    folder = tmp_path / "hub"
    lock = open_folder(folder)
    try:
        assert mode(folder) == 0o700
        assert mode(folder / "hosting.lock") == 0o600
        with pytest.raises(HubInUseError) as busy:
            open_folder(folder)
        assert busy.value.pid == os.getpid()
        assert "already hosted by another Squall" in str(busy.value)
        assert "--data-dir" in str(busy.value)
    finally:
        lock.release()
    open_folder(folder).release()  # free again once released


def test_the_lock_is_released_when_its_process_dies(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from core.chat.hub.files import open_folder;"
            f" lock = open_folder(Path({str(tmp_path)!r})); print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[4],
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        assert not HostingLock(tmp_path).acquire()
        holder.kill()  # kill -9: the kernel drops the flock
        holder.wait(timeout=10)
        lock = HostingLock(tmp_path)
        assert lock.acquire()
        lock.release()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()


def test_private_files_are_0600_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "secret"
    write_private(path, b"one")
    assert mode(path) == 0o600
    write_private(path, b"two")
    assert path.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]  # no temporary file left behind
    path.chmod(0o644)
    assert read_private(path) == b"two"
    assert mode(path) == 0o600  # loosened by someone: tightened again on read
    assert read_private(tmp_path / "missing") is None


def test_generated_passphrase_is_kept_for_local_clients(tmp_path: Path) -> None:
    assert local_passphrase(tmp_path) is None
    phrase = load_or_create_passphrase(tmp_path)
    assert len(phrase) >= 20
    assert mode(tmp_path / "passphrase") == 0o600
    assert load_or_create_passphrase(tmp_path) == phrase  # stable across restarts
    assert local_passphrase(tmp_path) == phrase
    other = tmp_path / "other"
    other.mkdir()
    assert load_or_create_passphrase(other) != phrase  # random per hub


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "is empty"),
        (b"  \n", "is empty"),
        (b"one\ntwo\n", "several lines"),
        (b"\xff\xfe", "not UTF-8"),
        (b"x" * 2000, "over 1024 bytes"),
    ],
)
def test_unusable_passphrase_files_are_refused(tmp_path: Path, content: bytes, words: str) -> None:
    path = tmp_path / "phrase"
    path.write_bytes(content)
    with pytest.raises(HubConfigError, match=words):
        read_passphrase_file(path)


def test_passphrase_file(tmp_path: Path) -> None:
    path = tmp_path / "phrase"
    path.write_text("  correct horse battery staple \n", encoding="utf-8")
    assert read_passphrase_file(path) == "correct horse battery staple"
    with pytest.raises(HubConfigError, match="cannot read the passphrase file"):
        read_passphrase_file(tmp_path / "missing")
