"""Looking inside a suspended task: its coroutine chain, where it waits and on what; a thread's stack.

A task's coroutine awaits a coroutine that awaits another ... down to a Future (or a bare yield). Each link is
followed through the public attributes (cr_await/cr_frame for coroutines, gi_yieldfrom/gi_frame for generator
based ones, ag_await/ag_frame for async generators); the object at the bottom is the task's `_fut_waiter`.
This module only reads: it never resumes, cancels or retrieves an exception from anything it inspects, and the
per-sample path (`describe`) never reads a source file.
"""

from __future__ import annotations

import asyncio
import gc
import linecache
import types
from collections.abc import Iterator
from typing import Any

from core.monitor.paths import is_asyncio_file, is_project_file, short_path
from core.monitor.snapshots import FrameLine

MAX_DEPTH = 200  # a chain deeper than this is cut (a guard against a self-referencing custom awaitable)


async def _probe_agen() -> Any:
    yield None


def _asend_types() -> tuple[type, ...]:
    agen = _probe_agen()
    asend, athrow = agen.asend(None), agen.athrow(GeneratorExit)
    types_ = (type(asend), type(athrow))
    asend.close()
    athrow.close()
    return types_


# `async for` awaits an asend/athrow object; they expose no link to their generator but hold it as a referent.
_ASEND_TYPES = _asend_types()


def _step(obj: Any) -> tuple[types.FrameType | None, Any, bool]:
    """(frame, the object it awaits, is obj a frame-carrying link) for one link of a chain."""
    kind = type(obj)
    if kind is types.CoroutineType:
        return obj.cr_frame, obj.cr_await, True
    if kind is types.GeneratorType:
        return obj.gi_frame, obj.gi_yieldfrom, True
    if kind is types.AsyncGeneratorType:
        return obj.ag_frame, obj.ag_await, True
    if kind in _ASEND_TYPES:
        agen = next((r for r in gc.get_referents(obj) if type(r) is types.AsyncGeneratorType), None)
        if agen is not None:
            return None, agen, True
    return None, None, False


def chain(coro: Any) -> tuple[list[types.FrameType], Any]:
    """The frames of a coroutine chain, outermost first, and the first object that is not a link (or None)."""
    frames: list[types.FrameType] = []
    obj = coro
    for _ in range(MAX_DEPTH):
        frame, awaited, is_link = _step(obj)
        if not is_link:
            return frames, obj
        if frame is not None:
            frames.append(frame)
        if awaited is None:
            return frames, None
        obj = awaited
    return frames, obj


def describe_awaitable(obj: Any) -> str:
    """A short, cheap description (no repr: a Future's repr formats its callbacks and costs microseconds)."""
    if obj is None:
        return ""
    if isinstance(obj, asyncio.Task):
        return f"task {obj.get_name()}"
    if isinstance(obj, asyncio.Future):
        name = type(obj).__name__
        return name if not obj.done() else f"{name} (done)"
    return type(obj).__qualname__


def coro_name(coro: Any) -> str:
    name = getattr(coro, "__qualname__", None)
    return name if isinstance(name, str) else type(coro).__qualname__


def coro_state(task: asyncio.Task[Any], coro: Any, current: asyncio.Task[Any] | None) -> str:
    if task is current:
        return "running"
    if task.cancelling():
        return "cancelling"
    if type(coro) is types.CoroutineType and not coro.cr_suspended and coro.cr_frame is not None:
        return "created"
    return "suspended"


# Per-sample string work is cached by code object. Keys use id(code) for speed (hashing a code object hashes
# its bytecode); the entry keeps the code object itself, so an id reused by a new code object never matches.
_where_cache: dict[tuple[int, int], tuple[types.CodeType, str]] = {}
_asyncio_files: dict[str, bool] = {}  # by co_filename: a str caches its hash, so this lookup is cheap
_leaf_types: set[type] = set()  # types _step found to be no link (FutureIter, ...): skip the call next time
_CACHE_LIMIT = 50_000


def _is_asyncio(code: types.CodeType) -> bool:
    filename = code.co_filename
    known = _asyncio_files.get(filename)
    if known is None:
        if len(_asyncio_files) > _CACHE_LIMIT:
            _asyncio_files.clear()
        known = _asyncio_files[filename] = is_asyncio_file(filename)
    return known


def _where(frame: types.FrameType) -> str:
    code = frame.f_code
    lineno = frame.f_lineno
    key = (id(code), lineno)
    entry = _where_cache.get(key)
    if entry is None or entry[0] is not code:
        if len(_where_cache) > _CACHE_LIMIT:
            _where_cache.clear()
        entry = (code, f"{short_path(code.co_filename)}:{lineno} in {short_name(code.co_qualname)}")
        _where_cache[key] = entry
    return entry[1]


def describe(task: asyncio.Task[Any], coro: Any) -> tuple[str, str]:
    """(where, awaiting) for a live task: the innermost frame outside asyncio, and what it waits on.

    `where` is `file:line in function`; `awaiting` names the asyncio helper it went through, if any, and the
    object at the bottom (`sleep() → Future`, `Event.wait() → Future`, `task download:42`).
    """
    # The common case (plain coroutines all the way down) is walked inline: this runs for every task, twice a
    # second, and a function call per link doubles the cost.
    app_frame = via_frame = None
    asyncio_files = _asyncio_files
    obj = coro
    leaf = None
    for _ in range(MAX_DEPTH):
        kind = type(obj)
        if kind is types.CoroutineType:
            frame, awaited = obj.cr_frame, obj.cr_await
        elif kind in _leaf_types:  # e.g. `await future` shows a FutureIter: the task's _fut_waiter names it
            leaf = obj
            break
        else:
            frame, awaited, is_link = _step(obj)
            if not is_link:
                if kind not in _ASEND_TYPES:
                    _leaf_types.add(kind)
                leaf = obj
                break
        if frame is not None:
            code = frame.f_code
            in_asyncio = asyncio_files.get(code.co_filename)  # _is_asyncio, inlined: this runs per link
            if in_asyncio is None:
                in_asyncio = _is_asyncio(code)
            if app_frame is None or not in_asyncio:
                app_frame, via_frame = frame, None
            elif via_frame is None:
                via_frame = frame
        if awaited is None:
            break
        obj = awaited
    waiter = getattr(task, "_fut_waiter", None)  # the Future the task's next step waits for
    bottom = describe_awaitable(waiter if waiter is not None else leaf)
    if app_frame is None:
        return "", bottom
    if via_frame is not None:
        via = via_frame.f_code.co_qualname
        return _where(app_frame), f"{via}() → {bottom}" if bottom else f"{via}()"
    return _where(app_frame), bottom


def _frame_line(frame: types.FrameType, lineno: int | None = None) -> FrameLine:
    code = frame.f_code
    line = frame.f_lineno if lineno is None else lineno
    return FrameLine(code.co_filename, line, code.co_qualname, linecache.getline(code.co_filename, line).strip())


def task_frames(coro: Any) -> tuple[tuple[FrameLine, ...], str]:
    """A coroutine chain's frames with source lines (reads source files: for on-demand use only) and the
    full repr of what the innermost frame awaits."""
    frames, leaf = chain(coro)
    return tuple(_frame_line(f) for f in frames), "" if leaf is None else repr(leaf)


def _walk_back(frame: types.FrameType | None) -> Iterator[tuple[str, int, str]]:
    while frame is not None:
        code = frame.f_code
        yield code.co_filename, frame.f_lineno, code.co_qualname
        frame = frame.f_back


def capture_thread(frame: types.FrameType | None) -> list[tuple[str, int, str]]:
    """The (file, line, function) of a thread's frames, outermost first, copied at once.

    Called from another thread while the owner of `frame` is paused (in C code, or waiting for the GIL): it
    only reads attributes, so the copy reflects one moment; source lines are looked up afterwards.
    """
    raw = list(_walk_back(frame))
    raw.reverse()
    return raw


def with_source(raw: list[tuple[str, int, str]]) -> tuple[FrameLine, ...]:
    """Add source lines to captured frames (reads files: call it off the loop)."""
    return tuple(FrameLine(file, line, func, linecache.getline(file, line).strip()) for file, line, func in raw)


def label(raw: list[tuple[str, int, str]]) -> str:
    """The innermost frame; when that is library code, also the innermost frame of Squall's own code."""
    if not raw:
        return "(no Python frame)"
    file, line, func = raw[-1]
    text = f"{short_path(file)}:{line} in {short_name(func)}"
    if not is_project_file(file):
        ours = next((f for f in reversed(raw) if is_project_file(f[0])), None)
        if ours is not None:
            text += f", called from {short_path(ours[0])}:{ours[1]} in {short_name(ours[2])}"
    return text


def short_name(qualname: str) -> str:
    """`Class.method` stays; `outer.<locals>.inner` becomes `inner` (the file:line already says where)."""
    return qualname.rpartition("<locals>.")[2]
