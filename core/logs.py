"""Logging set-up: named loggers per area, a rotating log file in the data folder, terse stderr.

Areas: squall.app, squall.downloads, squall.chat, squall.monitor, squall.supervisor, squall.qt (Qt's own messages,
routed by gui/qt_logging.py). Library loggers (asyncio, tornado) reach the same handlers through the root logger.
"""

from __future__ import annotations

import io
import logging
import logging.handlers
import os
import stat
import sys
from pathlib import Path

FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
STDERR_FORMAT = "%(levelname)s %(name)s: %(message)s"
LEVELS = ("debug", "info", "warning", "error")


def setup_logging(log_dir: Path | None, stderr_level: str = "warning", *, file_level: str = "info") -> Path | None:
    """Configure the root logger once per process; returns the log file's path (None without a folder)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    root.setLevel(min(_level(stderr_level), _level(file_level)))

    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(_level(stderr_level))
    stderr.setFormatter(logging.Formatter(STDERR_FORMAT))
    root.addHandler(stderr)

    log_file = None
    if log_dir is not None:
        log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # lines name peers and addresses
        if stat.S_IMODE(log_dir.stat().st_mode) & 0o077:
            log_dir.chmod(0o700)  # made by an older version or under another umask
        log_file = log_dir / "squall.log"
        handler = PrivateLogHandler(log_file, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        handler.setLevel(_level(file_level))
        handler.setFormatter(logging.Formatter(FILE_FORMAT))
        root.addHandler(handler)

    logging.captureWarnings(True)
    logging.getLogger("tornado.access").setLevel(logging.WARNING)  # one line per request is noise here
    # qasync's debug lines print what every executor job returned, passphrases included: never below INFO.
    logging.getLogger("qasync").setLevel(logging.INFO)
    return log_file


class PrivateLogHandler(logging.handlers.RotatingFileHandler):
    """A rotating log whose files are the owner's alone (0600), whatever the umask, like the folder they are in."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
            os.fchmod(fd, 0o600)
        stream = open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115 (the handler closes it)
        assert isinstance(stream, io.TextIOWrapper)
        return stream


def _level(name: str) -> int:
    if name not in LEVELS:
        raise ValueError(f"unknown log level {name!r}; use one of {', '.join(LEVELS)}")
    return int(getattr(logging, name.upper()))
