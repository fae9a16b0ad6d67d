"""PidLock: an exclusive OS lock on a file that also records the holder's pid.

The lock is advisory (flock on Linux and macOS, msvcrt on Windows) and the kernel drops it when the holder dies,
even by kill -9, so a lock file left behind never blocks anyone. The pid inside only names the holder in error
messages. Used for the one-instance-per-profile lock (core/profile.py) and the hub's hosting lock
(core/chat/hub/files.py).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO


class PidLock:
    """An exclusive lock on `path` (created 0600 when missing); the file records the holder's pid.

    Attributes:
        path: the lock file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[str] | None = None

    def acquire(self, *, blocking: bool = False) -> bool:
        """Take the lock; False when another process holds it (only when not blocking)."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        f = open(fd, "a+", encoding="ascii")  # noqa: SIM115 - held open for the lock's lifetime
        try:
            _lock_file(f, blocking)
        except BlockingIOError:
            f.close()
            return False
        except BaseException:
            f.close()
            raise
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        self._file = f
        return True

    def holder_pid(self) -> int | None:
        try:
            return int(self.path.read_text(encoding="ascii").strip() or 0) or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing the file drops the lock
            self._file = None

    @property
    def held(self) -> bool:
        return self._file is not None


if sys.platform == "win32":  # pragma: no cover - Squall is developed and tested on Linux
    import msvcrt

    def _lock_file(f: IO[str], blocking: bool) -> None:
        try:
            msvcrt.locking(f.fileno(), msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
        except OSError as exc:
            raise BlockingIOError(str(exc)) from exc

else:
    import fcntl

    def _lock_file(f: IO[str], blocking: bool) -> None:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
