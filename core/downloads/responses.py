"""What a download reads from a response: which statuses are retried or followed, the validator If-Range may
carry, Content-Range and Content-Length as numbers."""

from __future__ import annotations

import re

from core.downloads.errors import TransferError
from core.downloads.http import Response
from core.downloads.model import Item
from core.downloads.retry import parse_retry_after

REDIRECTS = (301, 302, 303, 307, 308)
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)
UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)\s*$", re.IGNORECASE)


def status_error(response: Response) -> TransferError:
    text = f"server said {response.code} {response.reason}".rstrip()
    if response.code in REDIRECTS:  # a redirect is only followed with a Location (redirects with one never get here)
        text += " without saying where to (no Location header)"
    if response.code in RETRYABLE_STATUS:
        return TransferError(text, retryable=True, retry_after=parse_retry_after(response.headers.get("Retry-After")))
    return TransferError(text, retryable=False)


def validator(item: Item) -> str | None:
    """What If-Range may carry: a strong ETag, else Last-Modified (weak ETags are not allowed there)."""
    if item.etag and not item.etag.startswith("W/"):
        return item.etag
    return item.last_modified


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total or None) from `bytes first-last/total`; None when absent or malformed."""
    match = CONTENT_RANGE.match(value or "")
    if match is None:
        return None
    first, last, total = match.groups()
    return int(first), int(last), None if total == "*" else int(total)


def content_length(response: Response) -> int | None:
    value = response.headers.get("Content-Length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)
