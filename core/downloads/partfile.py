"""The NAME.part file a download writes, and the SHA-256 that follows it from disk.

A .part is reserved with O_EXCL (so an existing file or another download's .part is never touched), flocked for
as long as it is written (a second process gets PartLockedError), fdatasync'ed before its progress is recorded,
and moved to its final name with link+unlink, which never replaces an existing file. Every open, truncate,
fsync, close, delete and rename here is blocking and runs in an executor thread; only `write` (one chunk,
pwrite into the page cache) runs on the loop. Nothing here touches SQLite or the network.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import os
import sys
import threading
from collections.abc import Collection
from concurrent.futures import Executor, Future
from pathlib import Path

from core.downloads.errors import PartLockedError, TransferError
from core.downloads.names import PART_SUFFIX, numbered

MAX_NUMBERED = 1000


def describe_os_error(exc: OSError, path: Path | str, doing: str, *, part_kept: bool = True) -> TransferError:
    """A user-facing, non-retryable TransferError for a local file problem (disk full, permissions...).

    part_kept says whether the .part stays to resume from (not for a small file written whole at the end).
    """
    code = exc.errno
    kept = "the .part is kept" if part_kept else "nothing was saved"
    if code in (errno.ENOSPC, errno.EDQUOT):
        text = f"the disk is full while {doing} {path}; free some space, then retry ({kept})"
    elif code == errno.EFBIG:
        text = (
            f"the file became too large for this file system or for the process's file size limit "
            f"(ulimit -f) while {doing} {path}; {kept}"
        )
    elif code == errno.EROFS:
        text = f"the file system is read-only while {doing} {path}; choose a folder on a writable one"
    elif code in (errno.EACCES, errno.EPERM):
        text = f"permission denied while {doing} {path}; choose a folder you can write to"
    else:
        text = f"{exc.strerror or exc} while {doing} {path}"
    return TransferError(text, retryable=False)


def holder_pid(path: Path) -> int | None:
    """The pid holding a flock on path, read from /proc/locks (Linux); None when it cannot be found."""
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" (blocked waiters have "->" after the number)
        if "->" in fields:
            continue
        if len(fields) < 6 or fields[1] != "FLOCK":
            continue
        try:
            major, minor, inode = fields[5].split(":")
            if int(inode) == st.st_ino and (int(major, 16), int(minor, 16)) == (
                os.major(st.st_dev),
                os.minor(st.st_dev),
            ):
                pid = int(fields[4])
                return pid if pid != os.getpid() else None
        except ValueError:
            continue
    return None


class FolderSync:
    """fsync of folders after renames, group-committed: one fsync covers every rename done before it started.

    Many small files finishing at once would otherwise cost one directory open and fsync each. Blocking: call
    sync() from executor threads. Keeps one O_DIRECTORY descriptor per folder until close().
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._fds: dict[str, int] = {}
        self._asked: dict[str, int] = {}
        self._done: dict[str, int] = {}
        self._running: set[str] = set()

    def sync(self, folder: str) -> None:
        with self._cond:
            ticket = self._asked[folder] = self._asked.get(folder, 0) + 1
            while True:
                if self._done.get(folder, 0) >= ticket:
                    return  # an fsync that started after our rename has finished
                if folder not in self._running:
                    self._running.add(folder)
                    covers = self._asked[folder]
                    break
                self._cond.wait()
        try:
            fd = self._fds.get(folder)
            if fd is None:
                fd = self._fds[folder] = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            os.fsync(fd)
        except OSError:
            pass  # some file systems cannot sync a directory; the rename itself is already done
        finally:
            with self._cond:
                self._running.discard(folder)
                self._done[folder] = max(self._done.get(folder, 0), covers)
                self._cond.notify_all()

    def close(self) -> None:
        with self._cond:
            fds, self._fds = list(self._fds.values()), {}
        for fd in fds:
            os.close(fd)


class PartFile:
    """An open, locked NAME.part in a folder.

    Attributes:
        folder: the target folder.
        name: the final file name (the .part is name + ".part").
        fd: the open descriptor (O_RDWR), or -1 once closed.
        already_final: reopen() found the final file already linked to the .part (a crash between the two
            steps of finish()); the download is complete.
    """

    def __init__(self, folder: Path, name: str, fd: int) -> None:
        self.folder = folder
        self.name = name
        self.fd = fd
        self.already_final = False
        self.kept = True  # whether a failure leaves this .part to resume from (see create_complete)

    @property
    def path(self) -> Path:
        return self.folder / (self.name + PART_SUFFIX)

    # --- blocking: call these in an executor -------------------------------------------------------

    @classmethod
    def reserve(cls, folder: Path, wanted: str, taken: Collection[str]) -> PartFile:
        """Create a new, locked `wanted.part` (or `wanted (n).part`) whose final name is free too."""
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise describe_os_error(exc, folder, "creating the folder") from exc
        for n in range(MAX_NUMBERED):
            name = numbered(wanted, n)
            if name in taken or os.path.lexists(folder / name):
                continue
            try:
                fd = os.open(folder / (name + PART_SUFFIX), os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                continue
            except OSError as exc:
                raise describe_os_error(exc, folder / (name + PART_SUFFIX), "creating") from exc
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a file we just created: nobody else has it
            return cls(folder, name, fd)
        raise TransferError(
            f"{folder} already holds {MAX_NUMBERED} files named like {wanted!r}; tidy the folder, then retry",
            retryable=False,
        )

    @classmethod
    def reopen(cls, folder: Path, name: str) -> PartFile:
        """Open (or recreate) an existing download's .part and lock it; PartLockedError if another has it."""
        path = folder / (name + PART_SUFFIX)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise describe_os_error(exc, path, "opening") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise PartLockedError(str(path), holder_pid(path)) from None
        part = cls(folder, name, fd)
        final = folder / name
        try:
            if os.path.exists(final) and os.path.samefile(final, path):
                os.unlink(path)
                part.already_final = True
        except OSError:
            pass
        return part

    @classmethod
    def create_complete(cls, folder: Path, wanted: str, data: bytes | bytearray, folders: FolderSync | None) -> str:
        """A whole small file at once: reserve `wanted.part`, write, then finish(); returns the final name.

        On any failure the new .part is removed (there is nothing to resume from memory).
        """
        part = cls.reserve(folder, wanted, ())
        part.kept = False
        try:
            part.write(data, 0)
            return part.finish(folders)
        except BaseException:
            part.close()
            with contextlib.suppress(OSError):
                os.unlink(part.path)
            raise

    def size(self) -> int:
        return os.fstat(self.fd).st_size

    def truncate(self, size: int) -> None:
        try:
            os.ftruncate(self.fd, size)
        except OSError as exc:
            raise describe_os_error(exc, self.path, "truncating", part_kept=self.kept) from exc

    def preallocate(self, size: int) -> None:
        """Reserve the whole file up front, so a full disk shows before the download rather than during it."""
        try:
            os.posix_fallocate(self.fd, 0, size)
        except OSError as exc:
            if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
                raise describe_os_error(exc, self.path, "reserving space for", part_kept=self.kept) from exc
            self.truncate(size)  # the file system cannot preallocate: a sparse file of the right size

    def sync(self) -> None:
        try:
            os.fdatasync(self.fd)
        except OSError as exc:
            raise describe_os_error(exc, self.path, "saving", part_kept=self.kept) from exc

    def close(self) -> None:
        if self.fd >= 0:
            fd, self.fd = self.fd, -1
            os.close(fd)  # also drops the flock

    def finish(self, folders: FolderSync | None = None) -> str:
        """Sync, give the file its final name without replacing anything, close; returns the final name."""
        self.sync()
        part = self.path
        for n in range(MAX_NUMBERED):
            name = numbered(self.name, n)
            target = self.folder / name
            try:
                os.link(part, target)
            except FileExistsError:
                continue
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
                    raise describe_os_error(exc, target, "naming", part_kept=self.kept) from exc
                if os.path.lexists(target):  # no hard links here (FAT, some FUSE): check, then rename
                    continue
                os.rename(part, target)
            else:
                os.unlink(part)
            if folders is not None:
                folders.sync(str(self.folder))
            else:
                self._sync_folder()
            self.close()
            self.name = name
            return name
        raise TransferError(f"no free name for {self.name} in {self.folder}; tidy the folder", retryable=False)

    def _sync_folder(self) -> None:
        try:
            dfd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass  # some file systems cannot sync a directory; the rename itself is already done
        finally:
            os.close(dfd)

    @staticmethod
    def delete(folder: Path, name: str, part: bool) -> None:
        path = folder / (name + PART_SUFFIX if part else name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)

    # --- loop side ---------------------------------------------------------------------------------

    def write(self, data: bytes | bytearray | memoryview, offset: int) -> None:
        """pwrite one chunk (small: it runs on the loop); raises TransferError for disk full and the like."""
        view = memoryview(data)
        try:
            while view:
                written = os.pwrite(self.fd, view, offset)
                view = view[written:]
                offset += written
        except OSError as exc:
            raise describe_os_error(exc, self.path, "writing", part_kept=self.kept) from exc


def lower_thread_priority() -> None:
    """For the hashing thread: the event loop's thread wins the CPU when cores are busy (Linux: nice per thread)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)


class Hasher:
    """SHA-256 of a file's contiguous prefix, read back from the page cache in an executor thread.

    It follows the download's frontier (poke), so hashing uses the other core while bytes arrive, covers what
    was already on disk when resuming, and works for segments arriving out of order. For small files (inline)
    the chunks are hashed as they are written instead: ~10 us each, cheaper than a trip to a thread.

    Attributes:
        hashed: bytes hashed so far (the loop reads it only when no job runs).
        inline: hash chunks given to feed() on the loop when they continue the hashed prefix.
    """

    # Big blocks: the hashing thread takes the GIL back only twice per block (after pread, after update).
    STEP = 8 * 1024 * 1024
    BLOCK = 8 * 1024 * 1024

    def __init__(self, path: Path, executor: Executor, *, inline: bool = False) -> None:
        self.path = path
        self.inline = inline
        self.hashed = 0
        self._executor = executor
        self._sha = hashlib.sha256()
        self._fd = -1
        self._job: Future[None] | None = None

    def _work(self, target: int) -> None:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        while self.hashed < target:
            data = os.pread(self._fd, min(self.BLOCK, target - self.hashed), self.hashed)
            if not data:
                raise TransferError(f"{self.path} is shorter than expected while checking it", retryable=True)
            self._sha.update(data)
            self.hashed += len(data)

    def feed(self, data: bytes | memoryview, offset: int) -> None:
        """A chunk just written at offset: hash it now if inline and it continues the hashed prefix."""
        if self.inline and offset == self.hashed and self._job is None:
            self._sha.update(data)
            self.hashed += len(data)

    def poke(self, frontier: int) -> None:
        """Hash further in the background when at least STEP new contiguous bytes are on disk."""
        job = self._job
        if job is not None:
            if not job.done() or (not job.cancelled() and job.exception() is not None):
                return  # still running, or failed: result() reports the failure
            self._job = None
        if frontier - self.hashed >= self.STEP:
            self._job = self._executor.submit(self._work, frontier)

    async def _drain(self) -> None:
        """Wait for the running job; it stays referenced until done, even if our task is cancelled meanwhile."""
        job = self._job
        if job is None:
            return
        try:
            if not job.cancelled():
                await asyncio.wrap_future(job)
        finally:
            if job.done():
                self._job = None

    async def result(self, size: int) -> str:
        """Finish hashing the first `size` bytes and return the hex digest."""
        await self._drain()
        if self.hashed < size:
            self._job = self._executor.submit(self._work, size)
            await self._drain()
        return self._sha.hexdigest()

    async def reset(self) -> None:
        """Start over (the file is being rewritten from byte 0)."""
        with contextlib.suppress(OSError, TransferError):
            await self._drain()
        self._sha = hashlib.sha256()
        self.hashed = 0

    async def close(self) -> None:
        with contextlib.suppress(OSError, TransferError):
            await self._drain()
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            await asyncio.get_running_loop().run_in_executor(self._executor, os.close, fd)
