"""`main.py serve` parsing and set-up (in process); the running program is tested in tests/e2e/test_serve.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import cli
from core.chat import serve


def test_options_and_defaults(tmp_path: Path) -> None:
    args = cli.parse(["serve"])
    assert (args.host, args.port, args.tcp_port, args.passphrase_file, args.max_conns_per_ip) == (
        "127.0.0.1",
        8765,
        None,
        None,
        16,
    )
    args = cli.parse(["--data-dir", str(tmp_path), "serve", "--port", "0", "--tcp-port", "9000"])
    assert (args.data_dir, args.port, args.tcp_port) == (tmp_path, 0, 9000)


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--port", "70000"],
        ["serve", "--port", "http"],
        ["serve", "--tcp-port", "-1"],
        ["serve", "--max-conns-per-ip", "0"],
        ["serve", "--bogus"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.parse(argv)
    assert exited.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_lan_without_a_passphrase_is_refused_with_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = cli.parse(["--data-dir", str(tmp_path), "serve", "--host", "0.0.0.0"])
    assert serve.run(args) == 2
    err = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without a passphrase" in err
    assert "--passphrase-file" in err
    assert not (tmp_path / "hub.db").exists()  # refused before touching anything


def test_an_unusable_passphrase_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n", encoding="utf-8")
    for path, words in ((tmp_path / "missing", "cannot read the passphrase file"), (empty, "is empty")):
        args = cli.parse(["--data-dir", str(tmp_path), "serve", "--passphrase-file", str(path)])
        assert serve.run(args) == 2
        assert words in capsys.readouterr().err
