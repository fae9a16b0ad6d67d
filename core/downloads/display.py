"""Words and numbers for one download as a list shows them: size, percent, speed, time left, state with its reason.

Formatting only, from a DownloadProgress and the current time; it never calls the engine. The Downloads tab and
any other front end use the same words (`main.py get` keeps its own terminal layout in terminal.py).
"""

from __future__ import annotations

import math
import re

from core.downloads.model import RUNNING, DownloadProgress, State
from core.downloads.terminal import human_bytes

# The engine words a wait as "retrying in 8 s: REASON" (or "retrying: REASON" under a second); the count is
# redrawn from next_try_at so it goes down while the user watches.
_RETRY_PREFIX = re.compile(r"retrying(?: in \d+ s)?: ")

STATE_ORDER = {
    State.DOWNLOADING: 0,
    State.CONNECTING: 1,
    State.VERIFYING: 2,
    State.QUEUED: 3,
    State.PAUSED: 4,
    State.FAILED: 5,
    State.CANCELLED: 6,
    State.COMPLETED: 7,
}


def display_name(p: DownloadProgress) -> str:
    """The file name once known, else the last part of the URL's path, else the URL."""
    if p.name:
        return p.name
    path = p.url.split("?", 1)[0].rstrip("/")
    last = path.rsplit("/", 1)[-1]
    return last if last and "/" in path.split("://", 1)[-1] else p.url


def format_bytes(n: float) -> str:
    return human_bytes(n)


def format_speed(bytes_per_s: float) -> str:
    return f"{human_bytes(bytes_per_s)}/s"


def format_duration(seconds: float | None) -> str:
    """'45 s', '3 min 05 s', '2 h 07 min'; '' when unknown."""
    if seconds is None or math.isinf(seconds) or math.isnan(seconds):
        return ""
    total = max(0, math.ceil(seconds))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60:02d} s"
    if total < 100 * 3600:
        return f"{total // 3600} h {total % 3600 // 60:02d} min"
    return "more than 4 days"


def size_text(p: DownloadProgress) -> str:
    """'12.3 MiB of 64.0 MiB' while running, '64.0 MiB' when done, '' before anything is known."""
    if p.total is None:
        return format_bytes(p.received) if p.received else ""
    if p.state is State.COMPLETED or p.received >= p.total:
        return format_bytes(p.total)
    return f"{format_bytes(p.received)} of {format_bytes(p.total)}"


def percent_text(p: DownloadProgress) -> str:
    fraction = p.fraction
    if fraction is None:
        return ""
    # floor, so 99.96% never shows as 100% before the file is really complete
    return f"{math.floor(fraction * 1000) / 10:.1f}%" if fraction < 1 else "100%"


def speed_text(p: DownloadProgress) -> str:
    """The speed while transferring, with the download's own limit when it has one."""
    text = format_speed(p.speed) if p.state in RUNNING and p.speed > 0 else ""
    if p.rate_limit and p.state not in (State.COMPLETED, State.CANCELLED):
        limit = f"max {format_speed(p.rate_limit)}"
        return f"{text} ({limit})" if text else limit
    return text


def eta_text(p: DownloadProgress) -> str:
    return format_duration(p.eta) if p.state in RUNNING else ""


def reason_text(p: DownloadProgress, now: float) -> str:
    """Why a download waits or stopped ('retrying in 5 s: server said 503 ...'), or '' when nothing is wrong.

    A running download keeps the reason of its last failed try in `error`; that is history, not its state, so
    it is not shown here (tooltip_text has it).
    """
    if not p.error or p.state in RUNNING or p.state in (State.COMPLETED, State.PAUSED, State.CANCELLED):
        return ""
    if p.state is State.QUEUED and p.next_try_at is not None:
        match = _RETRY_PREFIX.match(p.error)
        if match is not None:
            left = math.ceil(max(0.0, p.next_try_at - now))
            when = f"retrying in {left} s" if left >= 1 else "retrying now"
            return f"{when}: {p.error[match.end() :]}"
    return p.error


def state_text(p: DownloadProgress, now: float) -> str:
    """The state in words, with its reason: 'failed: server said 404 Not Found', 'completed, SHA-256 matches'."""
    reason = reason_text(p, now)
    if reason:
        return reason if reason.startswith("retrying") else f"{p.state.value}: {reason}"
    if p.state is State.COMPLETED and p.sha256_expected:
        return "completed, SHA-256 matches"
    if p.state is State.DOWNLOADING and len(p.segments) > 1:
        return f"downloading in {len(p.segments)} parts"
    return p.state.value


def tooltip_text(p: DownloadProgress) -> str:
    """Everything known about one download, one fact per line."""
    lines = [p.url]
    if p.path:
        lines.append(f"saved as {p.path}" if p.state is State.COMPLETED else f"saving to {p.path}")
    else:
        lines.append(f"into {p.folder}")
    if p.sha256_expected:
        lines.append(f"expected SHA-256 {p.sha256_expected}")
    if p.sha256_actual:
        lines.append(f"SHA-256 {p.sha256_actual}")
    if p.rate_limit:
        lines.append(f"speed limit {format_speed(p.rate_limit)}")
    if p.error:
        lines.append(f"last problem: {p.error}")
    if p.attempts > 1:
        lines.append(f"{p.attempts} tries")
    return "\n".join(lines)
