"""The command-line surface of `main.py`: parsing and exit codes only; each mode runs elsewhere.

`main.py` with no mode opens the window (gui/); `get` and `serve` are headless modes whose modules live in
core/ and provide HELP, add_arguments(parser) and run(args) -> exit code. The options and exit codes are a
public interface, documented in docs/cli.md: change them only together with that page.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from core.logs import LEVELS
from core.version import __version__

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2  # bad arguments, or no display for the window
EXIT_PROFILE_IN_USE = 3

# mode name -> module providing HELP, add_arguments(parser), run(args)
MODES = {
    "get": "core.downloads.cli",
    "serve": "core.chat.serve",
}


def _add_common(parser: argparse.ArgumentParser, *, in_mode: bool) -> None:
    # In a mode's parser the defaults are suppressed so `main.py --data-dir X get` and
    # `main.py get --data-dir X` both work and neither resets the other.
    default = argparse.SUPPRESS if in_mode else None
    parser.add_argument(
        "--data-dir",
        type=folder_path,
        metavar="DIR",
        default=default,
        help="use DIR as the data folder (database, logs) instead of the platform default",
    )
    parser.add_argument(
        "--log-level",
        choices=LEVELS,
        default=argparse.SUPPRESS if in_mode else "warning",
        help="what to print on stderr (the log file in the data folder always gets info and up)",
    )


def build_parser(mode_parsers: dict[str, argparse.ArgumentParser] | None = None) -> argparse.ArgumentParser:
    """The whole parser; mode_parsers, when given, receives each mode's own parser by name."""
    parser = argparse.ArgumentParser(
        prog="main.py",
        description="Squall: downloads, chat and an asyncio monitor in one window on one event loop. "
        "Without a mode, opens the window.",
        epilog="exit status: 0 ok, 1 failed, 2 bad arguments or no display, 3 profile in use. See docs/cli.md.",
    )
    parser.add_argument("--version", action="version", version=f"Squall {__version__}")
    parser.add_argument(
        "--profile",
        metavar="NAME",
        help="open this profile (default: 'default', or the next free one if another instance has it)",
    )
    parser.add_argument(
        "--hub",
        metavar="HOST:PORT",
        type=host_port,
        help="chat hub to join, or to host if none answers there (default: the chat.hub setting, 127.0.0.1:8765)",
    )
    _add_common(parser, in_mode=False)
    modes = parser.add_subparsers(dest="mode", metavar="MODE", title="modes")
    for name, module_name in MODES.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not module_name.startswith(exc.name):
                raise  # the mode exists but something it imports is missing: a real error
            continue  # the mode's feature has not landed in this build
        mode = modes.add_parser(name, help=module.HELP, description=module.HELP)
        _add_common(mode, in_mode=True)
        module.add_arguments(mode)
        mode.set_defaults(run=module.run)
        if mode_parsers is not None:
            mode_parsers[name] = mode
    return parser


def folder_path(value: str) -> Path:
    """argparse type for a folder option: "" would quietly mean the current folder."""
    if not value:
        raise argparse.ArgumentTypeError("an empty folder name; give a path (. for the current folder)")
    return Path(value)


def host_port(value: str) -> str:
    """argparse type for HOST:PORT (IPv6 hosts in brackets: [::1]:8765)."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST:PORT with a port from 1 to 65535")
    return value


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    modes: dict[str, argparse.ArgumentParser] = {}
    parser = build_parser(modes)
    args, extra = parser.parse_known_args(argv)
    if extra:  # said by the mode's parser, so its usage (not the window's) comes with the error
        (modes.get(args.mode or "") or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def display_problem(env: dict[str, str] | None = None) -> str | None:
    """Why the window cannot open here (one line, with the way out), or None when a display is available."""
    env = dict(os.environ) if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith(("xcb", "wayland")):
        return None  # offscreen, vnc, eglfs...: the user chose a platform that needs no desktop
    if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "squall: the window needs a display, and neither DISPLAY nor WAYLAND_DISPLAY is set; "
        "run it in a desktop session, or headless under Xvfb: xvfb-run -a ./dev.sh run (or xvfb-run -a python main.py)"
    )
