"""URL and checksum checks for what users add: http(s) only, a host, no spaces; `URL#sha256=HEX` split off.

Pure functions, no I/O. Errors are BadUrlError with a message that names the URL and what is wrong with it.
"""

from __future__ import annotations

import re
import urllib.parse

from core.downloads.errors import BadUrlError

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")


def check_sha256(value: str, *, what: str = "checksum") -> str:
    """A SHA-256 in lowercase hex; BadUrlError unless it is exactly 64 hex digits."""
    if not _HEX64.fullmatch(value):
        raise BadUrlError(
            f"{what} {value!r} is not a SHA-256: give 64 hexadecimal digits (what `sha256sum FILE` prints)"
        )
    return value.lower()


def check_url(url: str) -> str:
    """Return url when it is an http(s) URL with a host; raise BadUrlError saying what is wrong otherwise."""
    if not url:
        raise BadUrlError("an empty URL cannot be downloaded; give an http:// or https:// address")
    if _BAD_CHARS.search(url):
        raise BadUrlError(f"{url!r} contains spaces or control characters; percent-encode them (%20)")
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        raise BadUrlError(f"{url!r} is not a valid URL ({exc}); check it and try again") from exc
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        raise BadUrlError(f"{url!r} has {shown}; only http:// and https:// URLs can be downloaded")
    if not parts.hostname:
        raise BadUrlError(f"{url!r} has no host name; write it as http://HOST/PATH")
    if port == 0:
        raise BadUrlError(f"{url!r} has port 0; give a real port or none")
    return url


def split_checksum(text: str) -> tuple[str, str | None]:
    """Split `URL#sha256=HEX` into (URL, hex); any other fragment is dropped (it is never sent to servers)."""
    url, _, fragment = text.partition("#")
    sha = None
    if fragment.lower().startswith("sha256="):
        sha = check_sha256(fragment[len("sha256=") :], what=f"the checksum in {text!r}")
    return check_url(url), sha


def host_of(url: str) -> str:
    """The host (and non-default port) a URL points at, for per-host limits and display."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    default = 443 if parts.scheme.lower() == "https" else 80
    if parts.port and parts.port != default:
        return f"{host}:{parts.port}"
    return host
