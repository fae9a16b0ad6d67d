"""Small files (whole body in the first read) are written in one job at the end: the same guarantees hold."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.downloads.model import State
from tests.conftest import LoopRunner
from tests.core.downloads.conftest import Recorder
from tests.core.downloads.faultserver import FaultServer
from tests.core.downloads.helpers import download


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of two pages (8 KiB), unmounted afterwards; skipped where mounting is not allowed."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8k", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_small_file_that_does_not_fit_fails_clearly_and_leaves_nothing(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tiny_disk: Path
) -> None:
    server.add("s.bin", 12_000)
    snapshot = aloop.run(download(make_engine, recorder, server.url("/f/s.bin"), folder=tiny_disk))
    assert snapshot.state is State.FAILED
    assert snapshot.error == (
        f"the disk is full while writing {tiny_disk / 's.bin.part'}; free some space, then retry (nothing was saved)"
    )
    assert list(tiny_disk.iterdir()) == []
    assert snapshot.received == 0


def test_a_small_file_that_fits_completes_next_to_a_taken_name(
    aloop: LoopRunner, server: FaultServer, make_engine: Any, recorder: Recorder, tiny_disk: Path
) -> None:
    data = server.add("t.bin", 3_000)
    (tiny_disk / "t.bin").write_bytes(b"the user's own file")
    snapshot = aloop.run(download(make_engine, recorder, server.url("/f/t.bin"), folder=tiny_disk))
    assert snapshot.state is State.COMPLETED, snapshot.error
    assert (tiny_disk / "t (1).bin").read_bytes() == data
    assert (tiny_disk / "t.bin").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tiny_disk.iterdir()) == ["t (1).bin", "t.bin"]
