"""URL and checksum checks for what users add and where servers redirect: http(s) only, a valid host and port, no
spaces; `URL#sha256=HEX` split off.

Pure functions, no I/O. Errors are BadUrlError with a message that names the URL and what is wrong with it.
"""

from __future__ import annotations

import re
import urllib.parse

from core.downloads.errors import BadUrlError

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f]")
# Never part of a host name (the WHATWG URL standard's forbidden domain code points that urlsplit lets through);
# such a host could only fail name resolution, attempt after attempt.
_BAD_HOST_CHARS = re.compile(r"[%<>^|\\]")
_KEEP = "/%:@!$&'()*+,;=?~"  # what stays as it is when a redirect's path or query is encoded (RFC 3986 sub-delims)


def check_sha256(value: str, *, what: str = "checksum") -> str:
    """A SHA-256 in lowercase hex; BadUrlError unless it is exactly 64 hex digits."""
    if not _HEX64.fullmatch(value):
        raise BadUrlError(
            f"{what} {value!r} is not a SHA-256: give 64 hexadecimal digits (what `sha256sum FILE` prints)"
        )
    return value.lower()


def check_url(url: str) -> str:
    """Return url when it is an http(s) URL with a valid host and port; raise BadUrlError saying what is wrong."""
    if not url:
        raise BadUrlError("an empty URL cannot be downloaded; give an http:// or https:// address")
    problem = _problem(url)
    if problem is not None:
        what, advice = problem
        raise BadUrlError(f"{url!r} {what}; {advice}")
    return url


def redirect_target(current: str, location: str) -> str:
    """The URL a redirect's Location leads to (resolved against current), checked as check_url checks a user's.

    A Location with a scheme is taken as it stands: urljoin would read `http:///x` (no host) as a path on the
    current host. BadUrlError names the target and what is wrong with it.
    """
    try:
        absolute = bool(urllib.parse.urlsplit(location).scheme)
        target = location if absolute else urllib.parse.urljoin(current, location)
        scheme = urllib.parse.urlsplit(target).scheme.lower()
    except ValueError as exc:  # urljoin/urlsplit refuse e.g. an unclosed IPv6 bracket
        raise BadUrlError(
            f"the server redirected to an invalid address {location!r}: it is not a valid URL ({exc})"
        ) from None
    if scheme not in ("http", "https"):
        raise BadUrlError(f"the server redirected to {target!r}; only http:// and https:// redirects are followed")
    # Servers do send a raw space (or other unsafe bytes) in a Location's path or query: encode those as browsers
    # and curl do. The host is left as it is, so a bad one is still refused below.
    parts = urllib.parse.urlsplit(target)
    target = urllib.parse.urlunsplit(parts._replace(path=_encode_raw(parts.path), query=_encode_raw(parts.query)))
    problem = _problem(target)
    if problem is not None:
        raise BadUrlError(f"the server redirected to an invalid address {target!r}: it {problem[0]}")
    return target


def _encode_raw(text: str) -> str:
    """Percent-encode what may not stand raw in a URL. Tornado reads header values as latin-1, so each character
    here is one byte the server sent (UTF-8 ones included): encode those bytes, as curl does."""
    try:
        return urllib.parse.quote(text, safe=_KEEP, encoding="latin-1")
    except UnicodeEncodeError:  # not from a header: text with characters beyond latin-1, taken as UTF-8
        return urllib.parse.quote(text, safe=_KEEP)


def _problem(url: str) -> tuple[str, str] | None:
    """(what is wrong with url, what the user can do about it), or None for a usable http(s) URL."""
    if _BAD_CHARS.search(url):
        return "contains spaces or control characters", "percent-encode them (%20)"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # raises ValueError for a bad port
    except ValueError as exc:
        return f"is not a valid URL ({exc})", "check it and try again"
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"'{parts.scheme}:'" if parts.scheme else "no scheme"
        return f"has {shown}", "only http:// and https:// URLs can be downloaded"
    if not parts.hostname:
        return "has no host name", "write it as http://HOST/PATH"
    if ":" not in parts.hostname and _BAD_HOST_CHARS.search(parts.hostname):  # [IPv6%zone]: urlsplit checked it
        return f"has an invalid host name {parts.hostname!r}", "check it and try again"
    if port == 0:
        return "has port 0", "give a real port or none"
    return None


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
