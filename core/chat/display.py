"""How chat text is shown, for any viewer: other people's text made safe to draw, its links, and the words
around it (typing, days, times, connection status).

User text is never markup. safe_text() turns it into text a plain-text painter can draw without surprises:
control characters (escape sequences included) and bidi overrides, embeddings and isolates become U+FFFD, so a
message cannot reorder what follows it or hide what it says; runs of stacked combining marks are cut short.
links() finds http(s) URLs (and www. names) for a viewer to underline and open on a click, never by itself.
Pure functions; no Qt, no I/O.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

from core.chat.updates import ClientStatus, LinkState

REPLACEMENT = "\ufffd"
MAX_COMBINING = 4  # marks kept on one base character (a "zalgo" pile can cover the lines around it)
MAX_BLANK_LINES = 2  # blank lines kept in a row (4,000 newlines must not make one message a mile high)

# C0 and C1 controls except tab and newline; the bidi marks, embeddings, overrides and isolates (Trojan Source).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_LINE_SEPARATORS = re.compile("\r\n|[\r\u2028\u2029\x85]")
_MARK = (  # combining marks of the common scripts (the usual material of a "zalgo" pile)
    "[\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u0610-\u061a\u064b-\u065f"
    "\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)
_COMBINING_RUN = re.compile(f"({_MARK}{{{MAX_COMBINING}}}){_MARK}+")
_BLANK_RUN = re.compile(f"\n{{{MAX_BLANK_LINES + 2},}}")
_QUICK_SAFE = re.compile("[\x00-\x1f\x7f-\x9f\u0300-\u036f\u0483-\u20ff\u2028\u2029\u2066-\u2069\ufe20-\ufe2f]")

_URL = re.compile(r"(?i)\b(?:https?://|www\.)[^\s<>\"'`\ufffd]+")
_TRAILING = ".,;:!?'\"*_~"
_CLOSERS = {")": "(", "]": "[", "}": "{", ">": "<"}


def safe_text(text: str) -> str:
    """text as a plain-text painter may draw it: one line break per "\\n", tabs as spaces, nothing that hides or
    reorders characters. Ordinary text (the common case) is returned as it is."""
    if not _QUICK_SAFE.search(text):
        return text
    text = _LINE_SEPARATORS.sub("\n", text)
    text = text.replace("\t", "    ")
    text = _UNSAFE.sub(REPLACEMENT, text)
    text = _COMBINING_RUN.sub(r"\1", text)
    return _BLANK_RUN.sub("\n" * (MAX_BLANK_LINES + 1), text)


def safe_line(text: str) -> str:
    """safe_text on one line (a nick, a notice): line breaks become spaces."""
    return safe_text(text).replace("\n", " ")


@dataclass(frozen=True, slots=True)
class Link:
    """A URL inside a text.

    Attributes:
        start: index of its first character in the text.
        end: index just past its last character.
        url: what a click opens (http or https only).
    """

    start: int
    end: int
    url: str


def _trim(candidate: str) -> str:
    """Drop punctuation that ends a sentence rather than the URL, and closing brackets the URL did not open."""
    while candidate:
        last = candidate[-1]
        if last in _TRAILING or (last in _CLOSERS and candidate.count(_CLOSERS[last]) < candidate.count(last)):
            candidate = candidate[:-1]
        else:
            break
    return candidate


def link_url(candidate: str) -> str | None:
    """The URL a click on candidate may open, or None: only http(s) with a host, never file:, javascript: ..."""
    url = candidate if "://" in candidate else f"http://{candidate}"
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:  # "http://[oops"
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or ("." not in host and host != "localhost"):
        return None
    return url


def links(text: str) -> tuple[Link, ...]:
    """The http(s) URLs in text (as safe_text returned it), in order."""
    if "http" not in text.lower() and "www." not in text.lower():
        return ()
    found = []
    for match in _URL.finditer(text):
        candidate = _trim(match.group())
        url = link_url(candidate)
        if url is not None and len(candidate) > len("www."):
            found.append(Link(match.start(), match.start() + len(candidate), url))
    return tuple(found)


def link_at(found: tuple[Link, ...], index: int) -> Link | None:
    """The link covering character index, if any."""
    return next((link for link in found if link.start <= index < link.end), None)


# --- words ------------------------------------------------------------------------------------------------------


def typing_words(nicks: tuple[str, ...]) -> str:
    """ "bob is typing…", "bob and carol are typing…", "4 people are typing…", or "" for nobody."""
    names = [safe_line(n) for n in nicks]
    if not names:
        return ""
    if len(names) == 1:
        return f"{names[0]} is typing…"
    if len(names) == 2:
        return f"{names[0]} and {names[1]} are typing…"
    if len(names) == 3:
        return f"{names[0]}, {names[1]} and {names[2]} are typing…"
    return f"{len(names)} people are typing…"


def local_day(ts: float) -> date:
    return datetime.fromtimestamp(ts).date()


def day_words(day: date, today: date | None = None) -> str:
    """ "Today", "Yesterday", or "Monday 12 October 2026" for a day separator."""
    today = today or date.today()
    if day == today:
        return "Today"
    if day == today - timedelta(days=1):
        return "Yesterday"
    return f"{day:%A} {day.day} {day:%B %Y}"


def clock_words(ts: float) -> str:
    """ "14:03" in local time."""
    return time.strftime("%H:%M", time.localtime(ts))


def seconds_words(seconds: float) -> str:
    """A countdown: "4 s", "1 min 5 s"."""
    whole = max(1, math.ceil(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, rest = divmod(whole, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def tab_title(base: str, unread: int) -> str:
    return f"{base} ({unread})" if unread else base


def status_words(status: ClientStatus, hosting: bool, now: float) -> str:
    """The status bar's line: "hosting the room", "connected to 127.0.0.1:8765", "offline, retrying in 4 s"...

    hosting: this instance runs the hub the client is connected to (this machine's).
    """
    state = status.state
    if state is LinkState.CONNECTED:
        return "hosting the room" if hosting and status.local else f"connected to {status.address}"
    if state is LinkState.OFFLINE:
        if status.retry_at is None:
            return "offline"
        return f"offline, retrying in {seconds_words(status.retry_at - now)}"
    if state is LinkState.REFUSED:
        return f"{status.address} refused to sign you in"
    if state is LinkState.CONNECTING:
        return f"connecting to {status.address}…"
    return "chat stopped"
