"""What a user hands a front end to download: typed, pasted or dropped text, turned into URLs to add.

`read_links` reads one URL or a whole list (one per line or separated by spaces; `URL#sha256=HEX`, `URL HEX` or
`HEX URL` as sha256sum prints it) and says, with the engine's own words, why a piece cannot be downloaded.
`links_in` finds the http(s) links in any text (the clipboard offer). `plan` sorts entries against the downloads
already in the list: new, already there (the engine would refuse it), or downloaded before (may be added again
on purpose). Pure functions over text and snapshots: no I/O, and it never calls the engine.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from core.downloads.errors import BadUrlError
from core.downloads.model import FINISHED, DownloadProgress
from core.downloads.store import folder_key
from core.downloads.urls import check_sha256, split_checksum

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_LINK = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>*"  # punctuation that ends a sentence around a link rather than the link itself


@dataclass(frozen=True)
class Entry:
    """One URL to download.

    Attributes:
        url: the checked URL, without any #fragment.
        sha256: the expected checksum (lowercase hex), or None.
        text: what the user wrote for it (to show it back).
    """

    url: str
    sha256: str | None
    text: str


@dataclass(frozen=True)
class Rejected:
    """A piece of the input that cannot be downloaded.

    Attributes:
        text: the piece as the user wrote it (a line, or one word of a line).
        reason: why, in words that say what to do.
    """

    text: str
    reason: str


@dataclass(frozen=True)
class Reading:
    """What read_links found.

    Attributes:
        entries: the URLs to add, each once, in the order given.
        rejected: the pieces that cannot be added, in the order given.
        repeated: URLs given more than once (they appear once in entries).
    """

    entries: tuple[Entry, ...]
    rejected: tuple[Rejected, ...]
    repeated: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not self.entries and not self.rejected


def read_links(text: str, *, sha256: str | None = None) -> Reading:
    """Read URLs (with optional checksums) from text typed or pasted by a user.

    sha256, when given (a separate field), is the checksum of the only URL in text; with several URLs it is
    rejected, since it could belong to any of them. Blank lines and lines starting with '#' are skipped.
    """
    entries: dict[str, Entry] = {}
    rejected: list[Rejected] = []
    repeated: list[str] = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        sums = [w for w in words if _HEX64.fullmatch(w)]
        urls = [w for w in words if not _HEX64.fullmatch(w)]
        if len(sums) > 1 or (sums and len(urls) != 1):
            rejected.append(Rejected(line.strip(), "a line may hold one URL and one SHA-256; split it into lines"))
            continue
        for word in urls:
            try:
                url, own = split_checksum(word)
                if sums:
                    given = sums[0].lower()
                    if own is not None and own != given:
                        raise BadUrlError(f"{word!r} carries two different checksums; keep one")
                    own = given
            except BadUrlError as exc:
                rejected.append(Rejected(word, str(exc)))
                continue
            _keep(entries, repeated, rejected, Entry(url, own, line.strip() if sums else word))
    if sha256 is not None and sha256.strip():
        return _with_field_checksum(Reading(tuple(entries.values()), tuple(rejected), tuple(repeated)), sha256.strip())
    return Reading(tuple(entries.values()), tuple(rejected), tuple(repeated))


def _keep(entries: dict[str, Entry], repeated: list[str], rejected: list[Rejected], entry: Entry) -> None:
    earlier = entries.get(entry.url)
    if earlier is None:
        entries[entry.url] = entry
    elif earlier.sha256 is not None and entry.sha256 is not None and earlier.sha256 != entry.sha256:
        rejected.append(Rejected(entry.text, f"{entry.url} is given twice with different checksums; keep one"))
    else:
        if entry.sha256 is not None and earlier.sha256 is None:
            entries[entry.url] = Entry(earlier.url, entry.sha256, earlier.text)
        if entry.url not in repeated:
            repeated.append(entry.url)


def _with_field_checksum(reading: Reading, sha256: str) -> Reading:
    try:
        digest = check_sha256(sha256, what="the SHA-256")
    except BadUrlError as exc:
        return Reading((), (*reading.rejected, Rejected(sha256, str(exc))), reading.repeated)
    if len(reading.entries) != 1:
        reason = (
            "the SHA-256 field is for one URL; with a list, write `URL#sha256=HEX` or `HEX URL` on each line"
            if reading.entries
            else "the SHA-256 field needs a URL to go with it"
        )
        return Reading((), (*reading.rejected, Rejected(sha256, reason)), reading.repeated)
    entry = reading.entries[0]
    if entry.sha256 is not None and entry.sha256 != digest:
        reason = f"{entry.url} already carries a different checksum; keep one"
        return Reading((), (*reading.rejected, Rejected(sha256, reason)), reading.repeated)
    return Reading((Entry(entry.url, digest, entry.text),), reading.rejected, reading.repeated)


def links_in(text: str) -> list[Entry]:
    """The downloadable http(s) links anywhere in text, each once (for "3 links copied: add them?").

    Lenient where read_links is strict: words that are not links are ignored, punctuation closing a sentence
    is dropped, and a link the engine would refuse is left out rather than reported.
    """
    found: dict[str, Entry] = {}
    for match in _LINK.finditer(text):
        word = match.group(0).rstrip(_TRAILING)
        try:
            url, sha = split_checksum(word)
        except BadUrlError:
            continue
        found.setdefault(url, Entry(url, sha, word))
    return list(found.values())


@dataclass(frozen=True)
class Duplicate:
    """An entry whose URL is already in the list.

    Attributes:
        entry: what the user asked for.
        existing: the newest download of the same URL.
        blocking: True when that download is unfinished and goes to the same folder: the engine refuses a
            second one. False when it finished (or goes elsewhere): adding it again is allowed on purpose.
    """

    entry: Entry
    existing: DownloadProgress
    blocking: bool

    @property
    def reason(self) -> str:
        p = self.existing
        name = p.name or p.url  # the URL the user typed says more than a guess at a name
        if self.blocking:
            return f"{name} is already in the list ({p.state.value}); it is not added twice"
        if p.state in FINISHED:
            return f"{name} was downloaded before ({p.state.value}); add it again only if you mean to"
        return f"{name} is already being downloaded into {p.folder}; add it again only if you mean to"


@dataclass(frozen=True)
class Plan:
    """Entries sorted against the list.

    Attributes:
        new: entries no download in the list has.
        duplicates: entries whose URL is in the list already.
    """

    new: tuple[Entry, ...]
    duplicates: tuple[Duplicate, ...]

    @property
    def again(self) -> tuple[Entry, ...]:
        """Duplicates that may still be added on purpose (not blocking)."""
        return tuple(d.entry for d in self.duplicates if not d.blocking)


def plan(entries: Iterable[Entry], existing: Iterable[DownloadProgress], folder: str) -> Plan:
    """Sort entries into new ones and duplicates of downloads in `existing`, for adding into folder."""
    target = folder_key(folder)
    newest: dict[str, DownloadProgress] = {}
    blocking: dict[str, DownloadProgress] = {}
    for p in existing:
        if p.url not in newest or p.id > newest[p.url].id:
            newest[p.url] = p
        if p.state not in FINISHED and p.folder == target:
            blocking[p.url] = p
    new: list[Entry] = []
    duplicates: list[Duplicate] = []
    for entry in entries:
        if entry.url in blocking:
            duplicates.append(Duplicate(entry, blocking[entry.url], True))
        elif entry.url in newest:
            duplicates.append(Duplicate(entry, newest[entry.url], False))
        else:
            new.append(entry)
    return Plan(tuple(new), tuple(duplicates))
