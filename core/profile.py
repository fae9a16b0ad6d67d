"""Where a profile's data lives, and the lock that keeps one running instance per profile.

Layout under the data root (platform default, see default_root):

    <root>/profiles/<name>/     one folder per profile: squall.db, logs/, .lock
    <root>/hub/                 the machine-wide chat hub's folder (not part of any profile)

`--data-dir DIR` bypasses the root and uses DIR itself as the profile folder.
The lock is an OS advisory lock (flock), released by the kernel when the process dies, even by kill -9.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from core.errors import ProfileError, ProfileInUseError, ProfileNameError
from core.pidlock import PidLock

DEFAULT_PROFILE = "default"
MAX_AUTO_PROFILES = 99
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def default_root() -> Path:
    """The per-user data root: $XDG_DATA_HOME/squall on Linux, the usual places elsewhere."""
    if sys.platform == "win32":
        base = os.environ.get("APPDATA") or str(Path.home() / "AppData" / "Roaming")
        return Path(base) / "Squall"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "Squall"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "squall"


def hub_dir(root: Path | None = None) -> Path:
    """The machine-wide hub folder (per user): chat history, secret and passphrase of the local hub."""
    return (root or default_root()) / "hub"


def check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise ProfileNameError(
            f"profile name {name!r} is not allowed: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


class ProfileLock(PidLock):
    """The one-instance lock of a profile folder: `<folder>/.lock` (see core/pidlock.py)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / ".lock")


@dataclass
class Profile:
    """An open, locked profile.

    Attributes:
        name: the profile's name ("default", "default-2", or what --profile said; the folder name for --data-dir).
        path: its data folder.
        auto: True when the name was chosen because the default profile was in use.
        lock: the held lock; release() on exit (the OS also drops it if the process dies).
    """

    name: str
    path: Path
    auto: bool
    lock: ProfileLock

    def release(self) -> None:
        self.lock.release()


def _make_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ProfileError(
            f"cannot create the data folder {path}: {exc.strerror}; choose another with --data-dir"
        ) from exc


def _try_open(name: str, path: Path, auto: bool) -> Profile | None:
    _make_dir(path)
    lock = ProfileLock(path)
    try:
        if not lock.acquire():
            return None
    except OSError as exc:
        raise ProfileError(f"cannot lock the data folder {path}: {exc.strerror}") from exc
    return Profile(name, path, auto, lock)


def open_profile(name: str | None = None, data_dir: Path | None = None, root: Path | None = None) -> Profile:
    """Open and lock a profile.

    - data_dir given: use exactly that folder; refuse if it is in use.
    - name given: use <root>/profiles/<name>; refuse if it is in use.
    - neither: the default profile, or the next free one ("default-2", "default-3", ...) if it is in use.
    """
    if data_dir is not None:
        path = data_dir.expanduser().resolve()
        label = name or path.name
        profile = _try_open(label, path, auto=False)
        if profile is None:
            raise ProfileInUseError(label, str(path), ProfileLock(path).holder_pid())
        return profile
    profiles = (root or default_root()) / "profiles"
    if name is not None:
        path = profiles / check_name(name)
        profile = _try_open(name, path, auto=False)
        if profile is None:
            raise ProfileInUseError(name, str(path), ProfileLock(path).holder_pid())
        return profile
    for n in range(1, MAX_AUTO_PROFILES + 1):
        candidate = DEFAULT_PROFILE if n == 1 else f"{DEFAULT_PROFILE}-{n}"
        profile = _try_open(candidate, profiles / candidate, auto=n > 1)
        if profile is not None:
            return profile
    raise ProfileError(
        f"all {MAX_AUTO_PROFILES} automatic profiles under {profiles} are in use; "
        "close an instance or pass --profile NAME"
    )
