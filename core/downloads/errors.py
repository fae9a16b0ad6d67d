"""Errors of the download engine, one class per meaning; messages say what happened and what to do next.

    SquallError
    └── DownloadError                 base of everything the engine reports
        ├── BadUrlError               a URL that cannot be downloaded (scheme, host, syntax, checksum)
        ├── DuplicateDownloadError    the same URL is already queued or running into the same folder
        ├── UnknownDownloadError      no download has that id
        └── TransferError             one attempt failed; `retryable` says whether backing off and trying again
            │                         can help, `retry_after` carries a server's Retry-After (seconds)
            ├── RestartNeededError         what is on disk cannot be continued (file changed, Range ignored or wrong):
            │                         start again from byte 0, at once
            └── PartLockedError       another Squall process is writing the same NAME.part

TransferError and its subclasses travel inside the engine; users see their text as a download's `error`.
This module must not import anything from the rest of the download package.
"""

from __future__ import annotations

from core.errors import SquallError


class DownloadError(SquallError):
    """Base of every error the download engine reports."""


class BadUrlError(DownloadError):
    """A URL (or the checksum attached to it) that Squall cannot download."""


class DuplicateDownloadError(DownloadError):
    """add() of a URL that is already queued or running into the same folder.

    Attributes:
        existing_id: the id of the download already doing it.
    """

    def __init__(self, url: str, existing_id: int) -> None:
        super().__init__(
            f"{url} is already being downloaded into that folder (download {existing_id}); "
            "wait for it to finish, or remove it first"
        )
        self.existing_id = existing_id


class UnknownDownloadError(DownloadError):
    """A command named a download id the engine does not have."""

    def __init__(self, download_id: int) -> None:
        super().__init__(f"there is no download with id {download_id}; it may have been removed")
        self.download_id = download_id


class TransferError(DownloadError):
    """One attempt at a download failed.

    Attributes:
        reason: plain words for the user ("server said 503 Service Unavailable").
        retryable: True when trying again later may succeed (resets, timeouts, 5xx, 429).
        retry_after: seconds the server asked us to wait (Retry-After), or None.
    """

    def __init__(self, reason: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


class RestartNeededError(TransferError):
    """The bytes on disk cannot be continued; the download starts again from byte 0 right away."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, retryable=True)


class PartLockedError(TransferError):
    """Another process holds the flock on the NAME.part this download would write.

    Attributes:
        pid: the other process's id when it can be found (Linux /proc/locks), else None.
    """

    def __init__(self, path: str, pid: int | None) -> None:
        holder = f" (pid {pid})" if pid else ""
        super().__init__(
            f"{path} is already being downloaded by another Squall{holder}; let that one finish",
            retryable=False,
        )
        self.pid = pid
