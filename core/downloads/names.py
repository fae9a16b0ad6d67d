"""File names for downloads: from Content-Disposition (filename* first) or the URL, made safe for any folder.

The rule: whatever a server or URL says, the result is one plain file name: no separators, no `..`, no
control or bidi characters, no Windows-reserved names or characters, at most MAX_NAME_BYTES of UTF-8, never
empty and never hidden (no leading dot). Bytes that do not decode never become U+FFFD: an undecodable filename*
counts as absent, an undecodable URL name stays percent-encoded. Pure functions, no I/O: the engine checks
existence off the loop.
"""

from __future__ import annotations

import email.message
import email.utils
import os.path
import re
import unicodedata
import urllib.parse

DEFAULT_NAME = "download"
# Room below the usual 255-byte limit for " (999)" and ".part".
MAX_NAME_BYTES = 200
PART_SUFFIX = ".part"

_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
_WINDOWS_RESERVED |= {f"COM{i}" for i in range(1, 10)} | {f"LPT{i}" for i in range(1, 10)}
_WINDOWS_RESERVED |= {f"COM{c}" for c in "¹²³"} | {f"LPT{c}" for c in "¹²³"}
_FORBIDDEN = re.compile(r'[<>:"|?*\\/]')


def from_content_disposition(value: str | None) -> str | None:
    """The file name a Content-Disposition header suggests (filename* wins over filename), unsanitised."""
    if not value:
        return None
    message = email.message.Message()
    try:
        message["content-disposition"] = value
        params = message.get_params(header="content-disposition") or []
    except Exception:  # a hostile header must never break a download; fall back to the URL
        return None
    plain = extended = None
    for key, param in params:
        if key.lower() != "filename":
            continue
        raw: object = param  # typeshed says str; filename* arrives as a (charset, language, text) tuple
        if isinstance(raw, tuple):  # filename*=charset'lang'value (RFC 6266 / 5987)
            extended = _decode_extended(raw) or extended
        elif isinstance(raw, str) and plain is None:
            plain = _latin1_to_utf8(email.utils.unquote(raw))
    return extended or plain or None


def _decode_extended(value: tuple[str | None, str | None, str]) -> str | None:
    """A filename* value's text, or None when its bytes are not in its charset (or the charset is unknown).

    Undecodable means ignored, as if filename* were absent: the plain filename or the URL names the file, not a
    name of U+FFFD replacement characters.
    """
    charset, _language, text = value
    try:
        # email keeps the percent-decoded bytes as Latin-1 characters (raw-unicode-escape gives them back).
        return text.encode("raw-unicode-escape").decode(charset or "us-ascii")
    except (LookupError, UnicodeError):  # LookupError: unknown charset, or not a text encoding (rot13)
        return None


def _latin1_to_utf8(text: str) -> str:
    # HTTP headers arrive decoded as Latin-1; servers that send raw UTF-8 names expect them read as UTF-8.
    try:
        return text.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def from_url(url: str) -> str | None:
    """The last path segment of a URL, percent-decoded (UTF-8), unsanitised; left encoded when not UTF-8."""
    path = urllib.parse.urlsplit(url).path
    segment = path.rstrip("/").rsplit("/", 1)[-1]
    try:
        return urllib.parse.unquote(segment, errors="strict") or None
    except UnicodeDecodeError:  # `caf%E9.txt` (Latin-1) stays as it is rather than becoming `caf\ufffd.txt`
        return segment or None


def _keep(ch: str) -> bool:
    category = unicodedata.category(ch)
    # Cc: control (NUL, newline, ESC); Cf: format (bidi overrides that disguise extensions, zero-width);
    # Cs/Co/Cn: surrogates, private use and unassigned code points.
    return category not in ("Cc", "Cf", "Cs", "Co", "Cn") and ch not in "\u2028\u2029"


def _truncate_utf8(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def sanitize(name: str | None) -> str:
    """One safe file name from anything (see the module docstring); DEFAULT_NAME when nothing usable is left."""
    if not name:
        return DEFAULT_NAME
    text = unicodedata.normalize("NFC", name)
    # Keep only what follows the last separator of any platform: "../../x", "C:\\x", "/etc/x" all become "x".
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(ch if _keep(ch) else "" for ch in text)
    text = _FORBIDDEN.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip(" .")  # Windows drops trailing dots/spaces; leading dots hide files
    if not text:
        return DEFAULT_NAME
    stem, ext = os.path.splitext(text)
    if len(ext.encode("utf-8")) > 32:  # not a real extension; keep it in the stem so truncation sees it
        stem, ext = text, ""
    if stem.split(".")[0].upper().rstrip(" ") in _WINDOWS_RESERVED:
        stem = "_" + stem
    stem = _truncate_utf8(stem, MAX_NAME_BYTES - len(ext.encode("utf-8"))).rstrip(" .")
    return (stem or DEFAULT_NAME) + ext


def choose(requested: str | None, content_disposition: str | None, url: str) -> str:
    """The safe name for a download: the user's wish, else the server's, else the URL's."""
    for candidate in (requested, from_content_disposition(content_disposition), from_url(url)):
        if candidate:
            name = sanitize(candidate)
            if name != DEFAULT_NAME:
                return name
    return DEFAULT_NAME


def numbered(name: str, n: int) -> str:
    """`name (n).ext` for the n-th alternative when `name` is taken (n >= 1); n == 0 gives name itself."""
    if n == 0:
        return name
    stem, ext = os.path.splitext(name)
    if name.lower().endswith((".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst")):
        stem, ext = name[: name.lower().rindex(".tar.")], name[name.lower().rindex(".tar.") :]
    return f"{stem} ({n}){ext}"
