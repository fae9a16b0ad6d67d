"""Profiles and their locks, including a lock held by a real second process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from core.errors import ProfileInUseError, ProfileNameError
from core.profile import default_root, hub_dir, open_profile

ROOT = Path(__file__).resolve().parents[2]


def test_default_root_follows_xdg_data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_root() == tmp_path / "squall"
    assert hub_dir() == tmp_path / "squall" / "hub"


def test_second_open_takes_the_next_free_profile(tmp_path: Path) -> None:
    first = open_profile(root=tmp_path)
    second = open_profile(root=tmp_path)
    try:
        assert (first.name, first.auto) == ("default", False)
        assert (second.name, second.auto) == ("default-2", True)
        assert second.path == tmp_path / "profiles" / "default-2"
    finally:
        first.release()
        second.release()
    again = open_profile(root=tmp_path)
    assert again.name == "default"
    again.release()


def test_explicit_profile_in_use_is_refused_clearly(tmp_path: Path) -> None:
    held = open_profile("work", root=tmp_path)
    try:
        with pytest.raises(ProfileInUseError, match=r"profile 'work' .* in use by another Squall") as err:
            open_profile("work", root=tmp_path)
        assert err.value.pid is not None
    finally:
        held.release()


def test_data_dir_is_used_as_is_and_locked(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    held = open_profile(data_dir=target)
    try:
        assert held.path == target.resolve()
        with pytest.raises(ProfileInUseError):
            open_profile(data_dir=target)
    finally:
        held.release()


@pytest.mark.parametrize("name", ["", "../x", "a/b", ".hidden", "x" * 65, "spa ce"])
def test_bad_profile_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ProfileNameError, match="not allowed"):
        open_profile(name, root=tmp_path)


def test_a_lock_held_by_another_process_dies_with_it(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
            import sys
            from pathlib import Path
            from core.profile import open_profile
            p = open_profile("shared", root=Path({str(tmp_path)!r}))
            print("locked", flush=True)
            sys.stdin.readline()
        """),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "locked"
        with pytest.raises(ProfileInUseError) as err:
            open_profile("shared", root=tmp_path)
        assert err.value.pid == child.pid
        child.kill()  # the kernel drops the flock; no stale-lock clean-up needed
        child.wait(timeout=10)
        open_profile("shared", root=tmp_path).release()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdin:
            child.stdin.close()
        if child.stdout:
            child.stdout.close()
