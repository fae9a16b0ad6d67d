"""Short, readable source paths for stacks: `core/downloads/engine.py`, `asyncio/tasks.py`.

Only string work on paths already known (cached per file); nothing here reads a file after import.
"""

from __future__ import annotations

import asyncio
import os
import sysconfig
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = str(Path(__file__).resolve().parents[2])
ASYNCIO_DIR = os.path.dirname(os.path.abspath(asyncio.__file__))


def _prefixes() -> list[str]:
    found = {PROJECT_ROOT}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            found.add(os.path.abspath(path))
    # longest first, so site-packages inside the project's .venv wins over the project root
    return sorted((p.rstrip(os.sep) + os.sep for p in found), key=len, reverse=True)


_PREFIXES = _prefixes()
_PROJECT_PREFIX = PROJECT_ROOT + os.sep
_VENV_PREFIX = os.path.join(PROJECT_ROOT, ".venv") + os.sep


@lru_cache(maxsize=4096)
def short_path(filename: str) -> str:
    """filename relative to the project, the stdlib or site-packages; unchanged when under none of them."""
    for prefix in _PREFIXES:
        if filename.startswith(prefix):
            return filename[len(prefix) :]
    return filename


def is_asyncio_file(filename: str) -> bool:
    """True for asyncio's own modules: frames there say how a task waits, not where the app waits."""
    return filename.startswith(ASYNCIO_DIR)


def is_project_file(filename: str) -> bool:
    """True for Squall's own source files (not the libraries in its .venv)."""
    return filename.startswith(_PROJECT_PREFIX) and not filename.startswith(_VENV_PREFIX)
