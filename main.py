"""Squall's entry point: `python main.py` opens the window; `get` and `serve` run headless (see --help)."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl+C before a mode installed its own handling (while importing, say)
        print("squall: interrupted", file=sys.stderr)
        return 1


def _main(argv: Sequence[str] | None) -> int:
    from core import cli
    from core.errors import ProfileError, ProfileInUseError, SquallError
    from core.logs import setup_logging
    from core.profile import open_profile

    args = cli.parse(argv)
    if args.mode is not None:
        return int(args.run(args))

    problem = cli.display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return cli.EXIT_USAGE
    try:
        profile = open_profile(args.profile, args.data_dir)
    except ProfileInUseError as exc:
        print(f"squall: {exc}", file=sys.stderr)
        return cli.EXIT_PROFILE_IN_USE
    except ProfileError as exc:
        print(f"squall: {exc}", file=sys.stderr)
        return cli.EXIT_USAGE
    try:
        setup_logging(profile.path / "logs", args.log_level)
        if profile.auto:
            print(f"squall: the default profile is in use; using profile {profile.name!r}", file=sys.stderr)
        from core.app import LaunchOptions
        from gui.runtime import run  # Qt is imported only when a window is really wanted

        return run(profile, LaunchOptions(hub=args.hub))
    except SquallError as exc:
        print(f"squall: {exc}", file=sys.stderr)
        return cli.EXIT_FAILED
    finally:
        profile.release()


if __name__ == "__main__":
    sys.exit(main())
