"""Download settings: defaults, checks before storing, live application to an engine (core/downloads/preferences.py)."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import db
from core.downloads.preferences import DownloadPreferences, check_folder, default_folder
from core.errors import SettingsError
from core.schema import PROFILE_MIGRATIONS
from core.settings import Settings


class FakeEngine:
    """Records the live setter calls a DownloadEngine would get."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def set_concurrency(self, n: int) -> None:
        self.calls.append(("concurrency", n))

    def set_per_host(self, n: int) -> None:
        self.calls.append(("per_host", n))

    def set_rate_limit(self, bytes_per_s: int) -> None:
        self.calls.append(("rate_limit", bytes_per_s))


@pytest.fixture
def prefs(tmp_path: Path) -> Iterator[DownloadPreferences]:
    conn: sqlite3.Connection = db.connect(tmp_path / "squall.db")
    db.migrate(conn, PROFILE_MIGRATIONS, what="profile")
    yield DownloadPreferences(Settings(conn))
    conn.close()


def test_defaults(prefs: DownloadPreferences, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("XDG_DOWNLOAD_DIR", raising=False)
    assert prefs.folder == default_folder() == Path.home() / "Downloads"
    monkeypatch.setenv("XDG_DOWNLOAD_DIR", str(tmp_path / "dl"))
    assert prefs.folder == tmp_path / "dl"
    assert (prefs.concurrency, prefs.per_host, prefs.rate_limit, prefs.clipboard_offer) == (4, 4, 0, True)
    assert prefs.engine_options() == {"folder": tmp_path / "dl", "concurrency": 4, "per_host": 4, "rate_limit": 0}


def test_values_are_checked_before_they_are_stored(prefs: DownloadPreferences) -> None:
    for bad in (0, 65, True, 2.5):
        with pytest.raises(SettingsError, match="connections must be a whole number from 1 to 64"):
            prefs.set_concurrency(bad)  # type: ignore[arg-type]
    with pytest.raises(SettingsError, match="connections per server must be"):
        prefs.set_per_host(0)
    with pytest.raises(SettingsError, match="a speed limit must be a whole number of bytes per second, 0 for none"):
        prefs.set_rate_limit(-1)
    assert (prefs.concurrency, prefs.per_host, prefs.rate_limit) == (4, 4, 0)
    prefs.set_concurrency(9)
    prefs.set_per_host(3)
    prefs.set_rate_limit(500_000)
    prefs.set_clipboard_offer(False)
    assert (prefs.concurrency, prefs.per_host, prefs.rate_limit, prefs.clipboard_offer) == (9, 3, 500_000, False)


def test_stored_nonsense_falls_back_to_defaults(prefs: DownloadPreferences) -> None:
    prefs.settings.set("downloads.concurrency", 500)  # written around the checks (an old or hand-edited profile)
    prefs.settings.set("downloads.rate_limit", -5)
    options = prefs.engine_options()
    assert (options["concurrency"], options["rate_limit"]) == (4, 0)


def test_folder_checks(prefs: DownloadPreferences, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert check_folder(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper", "made on the first download"
    assert prefs.set_folder(f"{tmp_path}/x/") == tmp_path / "x"
    assert prefs.folder == tmp_path / "x"
    with pytest.raises(SettingsError, match="the download folder is empty"):
        prefs.set_folder("  ")
    (tmp_path / "file").write_text("x")
    with pytest.raises(SettingsError, match=r"file is a file; choose a folder"):
        prefs.set_folder(tmp_path / "file")
    with pytest.raises(SettingsError, match=r"cannot be created: .*file is a file"):
        prefs.set_folder(tmp_path / "file" / "sub")
    locked = tmp_path / "locked"
    locked.mkdir()
    # root may write anywhere, so the permission answer is faked for this one folder
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    with pytest.raises(SettingsError, match=r"locked is not writable by you; choose another download folder"):
        prefs.set_folder(locked / "sub")
    assert prefs.folder == tmp_path / "x", "a refused folder is never stored"


def test_attach_applies_changes_live_until_detached(prefs: DownloadPreferences) -> None:
    engine = FakeEngine()
    prefs.attach(engine)
    with pytest.raises(SettingsError, match="already drive an engine"):
        prefs.attach(FakeEngine())
    prefs.set_concurrency(8)
    prefs.set_per_host(2)
    prefs.set_rate_limit(1024)
    prefs.set_clipboard_offer(False)
    assert engine.calls == [("concurrency", 8), ("per_host", 2), ("rate_limit", 1024)]
    prefs.detach()
    prefs.set_concurrency(3)
    assert len(engine.calls) == 3
