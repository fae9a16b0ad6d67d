"""Standard streams that stopped taking output (a closed pipe, a full disk): make them quiet for good."""

from __future__ import annotations

import os
from typing import TextIO


def point_at_devnull(stream: TextIO) -> None:
    """Point stream's file descriptor at os.devnull. The interpreter flushes what is still buffered at exit, and
    that flush must not fail again and print "Exception ignored ... BrokenPipeError" (the recipe in the docs of
    the `signal` module, "Note on SIGPIPE"). Does nothing for streams without a descriptor, never raises."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError, AttributeError):
        return  # not backed by a file descriptor (io.StringIO, a test double), or already closed
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, fd)
    except OSError:
        pass  # at worst the interpreter complains once at exit
    finally:
        os.close(devnull)
