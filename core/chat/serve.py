"""`main.py serve`: run one chat hub on a plain asyncio loop until SIGINT or SIGTERM.

Prints one line with its address once it accepts connections (stdout), then closes every connection with 1001
and exits 0 within 2 s of the signal. Exit status: 0 after a signal, 1 when the hub fails, 2 for bad arguments
(including a non-loopback --host without --passphrase-file), 3 when another hub already hosts the folder.
Parsing and process plumbing only: the hub itself is core.chat.hub.Hub.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from core.chat.errors import HubConfigError, HubError, HubInUseError
from core.chat.protocol import DEFAULT_HOST, DEFAULT_PORT
from core.errors import SquallError
from core.logs import setup_logging
from core.profile import hub_dir
from core.streams import point_at_devnull

if TYPE_CHECKING:
    from core.chat.hub import Hub, HubConfig

HELP = "run a headless chat hub (WebSocket at /ws; with --tcp-port, a line gateway for nc)"
SHUTDOWN_BUDGET = 1.5  # seconds for the hub to close everything; the process exits within 2 s

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_IN_USE = 0, 1, 2, 3


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535)") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535; 0 picks a free one)")
    return value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default=DEFAULT_HOST, help="address to listen on (default %(default)s; others need a passphrase)"
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="WebSocket/HTTP port (default %(default)s)")
    parser.add_argument(
        "--passphrase-file",
        type=Path,
        metavar="FILE",
        help="read the passphrase from FILE (default: generate one, kept 0600 in the hub folder)",
    )
    parser.add_argument("--tcp-port", type=_port, metavar="PORT", help="also accept `nc HOST PORT` users on PORT")
    parser.add_argument(
        "--max-conns-per-ip",
        type=_positive,
        default=16,
        metavar="N",
        help="chat connections allowed per client address (default %(default)s)",
    )


def _config(args: argparse.Namespace, folder: Path) -> HubConfig:
    # The hub (Tornado's web stack) is imported when the mode runs: parsing `main.py get` imports this module too.
    from core.chat.hub import HubConfig
    from core.chat.hub.files import read_passphrase_file

    if not args.host.strip():
        raise HubConfigError("--host is empty: give an address to listen on, such as 127.0.0.1")
    if args.tcp_port is not None and args.tcp_port == args.port != 0:
        raise HubConfigError(
            f"--port and --tcp-port are both {args.port}: the WebSocket and the nc gateway need a port each"
        )
    passphrase = read_passphrase_file(args.passphrase_file) if args.passphrase_file is not None else None
    config = HubConfig(
        data_dir=folder,
        host=args.host,
        port=args.port,
        tcp_port=args.tcp_port,
        passphrase=passphrase,
        max_conns_per_ip=args.max_conns_per_ip,
    )
    config.check()
    return config


def ready_line(hub: Hub) -> str:
    parts = [hub.ws_url]
    if hub.tcp_port is not None:
        parts.append(f"nc {hub.host} {hub.tcp_port}")
    where = hub.passphrase_file
    parts.append(f"passphrase in {where}" if where is not None else "passphrase from --passphrase-file")
    return "squall hub: " + ", ".join(parts)


def _announce(line: str) -> None:
    """Print the ready line. When stdout cannot take it (a closed pipe, a full disk) the hub serves anyway: say so
    on stderr, and point stdout at /dev/null so that nothing fails on it again (at exit, Python flushes it)."""
    try:
        print(line, flush=True)
    except (OSError, ValueError) as exc:  # ValueError: stdout was closed by the process itself
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"squall serve: cannot write the ready line to stdout ({why}); serving anyway", file=sys.stderr)
        point_at_devnull(sys.stdout)


async def _serve(config: HubConfig) -> int:
    loop = asyncio.get_running_loop()
    quit_requested = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, quit_requested.set)
    from core.chat.hub import Hub

    try:
        hub = Hub(config)
        await hub.start()
        try:
            _announce(ready_line(hub))
            await quit_requested.wait()
        finally:
            await hub.stop(SHUTDOWN_BUDGET)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    folder = (getattr(args, "data_dir", None) or hub_dir()).expanduser().resolve()
    level = getattr(args, "log_level", None) or "warning"
    try:
        config = _config(args, folder)
    except HubConfigError as exc:
        print(f"squall serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # before the logs folder inside it takes the umask's
        setup_logging(folder / "logs", level)
    except OSError as exc:
        print(f"squall serve: cannot write logs under {folder}: {exc.strerror}; choose --data-dir", file=sys.stderr)
        return EXIT_FAILED
    try:
        return asyncio.run(_serve(config))
    except HubInUseError as exc:
        print(f"squall serve: {exc}", file=sys.stderr)
        return EXIT_IN_USE
    except (HubError, SquallError) as exc:
        print(f"squall serve: {exc}", file=sys.stderr)
        return EXIT_FAILED
