"""The hub folder on disk: the hosting lock and the secret files, always owner-only (0600, folder 0700).

    <hub dir>/hosting.lock   flock held while a process hosts this hub (released by the kernel, even on kill -9)
    <hub dir>/hub.db         message history (SQLite, WAL), see store.py
    <hub dir>/secret.json    the signing keys for tokens and login cookies, see auth.Keyring
    <hub dir>/passphrase     the passphrase in force, generated when none was given (local instances read it)

Blocking file I/O: the hub calls these from an executor, never on the event loop. Nothing here logs a secret.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from core.chat.errors import HubConfigError, HubError, HubInUseError
from core.pidlock import PidLock

LOCK_NAME = "hosting.lock"
DB_NAME = "hub.db"
SECRET_NAME = "secret.json"
PASSPHRASE_NAME = "passphrase"
MAX_PASSPHRASE_BYTES = 1024


class HostingLock(PidLock):
    """The flock held while a process hosts the hub in `folder`: `<folder>/hosting.lock` (see core/pidlock.py).

    Issue 6's take-over waits on it with acquire(blocking=True) from an executor thread.
    """

    def __init__(self, folder: Path) -> None:
        super().__init__(folder / LOCK_NAME)


def make_private(path: Path, mode: int) -> None:
    """Take group and other permissions off path (a folder or file someone loosened, or an old umask made)."""
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077:
        path.chmod(current & mode)


def open_folder(path: Path) -> HostingLock:
    """Create the hub folder (0700) if needed, or make an existing one 0700, and take its hosting lock. Raises
    HubInUseError or HubError."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        make_private(path, 0o700)
        lock = HostingLock(path)
        taken = lock.acquire()
    except OSError as exc:
        raise HubError(f"cannot use the hub folder {path}: {exc.strerror}; choose another with --data-dir") from exc
    if not taken:
        raise HubInUseError(str(path), lock.holder_pid())
    return lock


def write_private(path: Path, data: bytes) -> None:
    """Replace path atomically with data, readable by the owner only (never briefly world-readable)."""
    tmp = path.with_name(f".{path.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a crash
    finally:
        os.close(dir_fd)


def read_private(path: Path, limit: int | None = None) -> bytes | None:
    """The file's bytes (at most limit + 1 of them), after making it owner-only if someone loosened it; None
    when it does not exist. Raises OSError (a folder by that name, no permission...)."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    if stat.S_IMODE(mode) & 0o077:
        path.chmod(0o600)
    with path.open("rb") as f:
        return f.read() if limit is None else f.read(limit + 1)


def local_passphrase(folder: Path) -> str | None:
    """The passphrase the hub in folder uses, for local clients of the same user; None if there is none."""
    data = read_private(folder / PASSPHRASE_NAME, MAX_PASSPHRASE_BYTES)
    return None if data is None else data.decode("utf-8").strip()


def load_or_create_passphrase(folder: Path) -> str:
    """The hub folder's passphrase, creating it (random, 0600) on first use."""
    existing = local_passphrase(folder)
    if existing:
        return existing
    phrase = secrets.token_urlsafe(16)  # 128 bits; URL-safe so it can be typed and pasted anywhere
    write_private(folder / PASSPHRASE_NAME, phrase.encode("ascii") + b"\n")
    return phrase


def keep_passphrase(folder: Path, phrase: str) -> None:
    """Record a passphrase the user chose as the folder's (0600), replacing a generated one, so that local
    instances of the same user sign in with the passphrase in force rather than a stale one."""
    try:
        same = local_passphrase(folder) == phrase
    except UnicodeDecodeError:
        same = False  # whatever was there is replaced
    if not same:
        write_private(folder / PASSPHRASE_NAME, phrase.encode("utf-8") + b"\n")


def read_passphrase_file(path: Path) -> str:
    """The passphrase in a user's --passphrase-file (surrounding whitespace and the final newline dropped)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_PASSPHRASE_BYTES + 1)  # /dev/zero or a huge file must not be read whole
    except OSError as exc:
        raise HubConfigError(f"cannot read the passphrase file {path}: {exc.strerror}") from exc
    if len(data) > MAX_PASSPHRASE_BYTES:
        raise HubConfigError(
            f"the passphrase file {path} is over {MAX_PASSPHRASE_BYTES} bytes; put only the passphrase in it"
        )
    try:
        phrase = data.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise HubConfigError(f"the passphrase file {path} is not UTF-8 text") from exc
    if not phrase:
        raise HubConfigError(f"the passphrase file {path} is empty: write the passphrase in it")
    if "\n" in phrase or "\r" in phrase:
        raise HubConfigError(f"the passphrase file {path} has several lines; put the passphrase on one line")
    return phrase
