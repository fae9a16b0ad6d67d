"""`main.py` as its users run it: a real subprocess each time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from core.profile import open_profile
from core.version import __version__

ROOT = Path(__file__).resolve().parent.parent


def run_main(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        cwd=ROOT,
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_version() -> None:
    result = run_main("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"Squall {__version__}"


def test_help_lists_options_and_exit_codes() -> None:
    result = run_main("--help")
    assert result.returncode == 0
    for word in ("--profile", "--data-dir", "--log-level", "modes", "exit status"):
        assert word in result.stdout


def test_bad_option_exits_2() -> None:
    result = run_main("--no-such-option")
    assert result.returncode == 2
    assert "unrecognized arguments: --no-such-option" in result.stderr


def test_a_bad_option_of_a_mode_is_told_with_that_mode_s_usage() -> None:
    for mode, rest in (("get", ["http://127.0.0.1/a"]), ("serve", [])):
        result = run_main(mode, "--no-such-option", *rest)
        assert result.returncode == 2
        assert result.stderr.startswith(f"usage: main.py {mode} ")
        assert result.stderr.endswith(f"main.py {mode}: error: unrecognized arguments: --no-such-option\n")


def test_no_display_says_so_in_one_line_and_exits_2() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"}}
    result = run_main(env=env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs a display" in lines[0]
    assert "xvfb-run" in lines[0]


def test_profile_in_use_is_refused_with_exit_3(tmp_path: Path) -> None:
    held = open_profile(data_dir=tmp_path / "busy")
    try:
        result = run_main("--data-dir", str(tmp_path / "busy"), env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    finally:
        held.release()
    assert result.returncode == 3
    assert "in use by another Squall" in result.stderr
    assert "Traceback" not in result.stderr


def test_hub_option_wants_host_and_port() -> None:
    result = run_main("--hub", "localhost")
    assert result.returncode == 2
    assert "'localhost' is not HOST:PORT" in result.stderr
