"""Reading URLs from typed, pasted and copied text; sorting them against the list (core/downloads/intake.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.downloads.intake import Entry, links_in, plan, read_links
from core.downloads.model import State
from tests.core.downloads.snapshots import progress

SUM = "ab" * 32


def test_one_url_or_a_list_in_any_layout() -> None:
    reading = read_links("http://a.org/1.iso\n\n  https://b.org/2.iso http://c.org/3\t\n# a comment line\n")
    assert [e.url for e in reading.entries] == ["http://a.org/1.iso", "https://b.org/2.iso", "http://c.org/3"]
    assert reading.rejected == ()
    assert reading.repeated == ()
    assert not reading.empty
    assert read_links(" \n# only a comment\n").empty


def test_checksums_in_each_of_the_three_forms() -> None:
    upper = SUM.upper()
    text = f"http://a.org/1#sha256={upper}\nhttp://a.org/2 {SUM}\n{SUM}  http://a.org/3\nhttp://a.org/4"
    entries = read_links(text).entries
    assert [(e.url, e.sha256) for e in entries] == [
        ("http://a.org/1", SUM),
        ("http://a.org/2", SUM),
        ("http://a.org/3", SUM),
        ("http://a.org/4", None),
    ]
    assert entries[1].text == f"http://a.org/2 {SUM}"


def test_bad_pieces_are_rejected_with_the_engines_reason_and_the_rest_kept() -> None:
    reading = read_links("ftp://x.org/f\nhttp://ok.org/a\nexample.org/page\nhttp://h/x#sha256=1234")
    assert [e.url for e in reading.entries] == ["http://ok.org/a"]
    assert [(r.text, r.reason.split(";")[0].split(":")[0]) for r in reading.rejected] == [
        ("ftp://x.org/f", "'ftp"),
        ("example.org/page", "'example.org/page' has no scheme"),
        ("http://h/x#sha256=1234", "the checksum in 'http"),
    ]
    assert reading.rejected[0].reason == "'ftp://x.org/f' has 'ftp:'; only http:// and https:// URLs can be downloaded"
    assert "'1234' is not a SHA-256: give 64 hexadecimal digits" in reading.rejected[2].reason


def test_ambiguous_checksum_lines_are_refused() -> None:
    reading = read_links(f"http://a.org/1 http://a.org/2 {SUM}\n{SUM} {SUM} http://a.org/3\n{SUM}")
    assert reading.entries == ()
    assert [r.reason for r in reading.rejected] == ["a line may hold one URL and one SHA-256; split it into lines"] * 3


def test_a_url_given_twice_is_kept_once_and_reported() -> None:
    reading = read_links(f"http://a.org/1\nhttp://a.org/1#top\nhttp://a.org/1 {SUM}")
    assert reading.entries == (Entry("http://a.org/1", SUM, "http://a.org/1"),)
    assert reading.repeated == ("http://a.org/1",)
    clash = read_links(f"http://a.org/1 {SUM}\nhttp://a.org/1 {'cd' * 32}")
    assert [e.sha256 for e in clash.entries] == [SUM]
    assert clash.rejected[0].reason == "http://a.org/1 is given twice with different checksums; keep one"
    own = read_links(f"http://a.org/1#sha256={SUM} {'cd' * 32}")
    assert own.rejected[0].reason.endswith("carries two different checksums; keep one")


def test_the_separate_checksum_field() -> None:
    assert read_links("http://a.org/1", sha256=f" {SUM.upper()} ").entries == (
        Entry("http://a.org/1", SUM, "http://a.org/1"),
    )
    assert read_links("http://a.org/1", sha256="  ").entries[0].sha256 is None
    many = read_links("http://a.org/1 http://a.org/2", sha256=SUM)
    assert many.entries == ()
    assert many.rejected[0].reason.startswith("the SHA-256 field is for one URL; with a list, write")
    assert read_links("", sha256=SUM).rejected[0].reason == "the SHA-256 field needs a URL to go with it"
    bad = read_links("http://a.org/1", sha256="xyz")
    assert bad.entries == ()
    assert bad.rejected[0].reason.startswith("the SHA-256 'xyz' is not a SHA-256")
    other = read_links(f"http://a.org/1#sha256={'cd' * 32}", sha256=SUM)
    assert other.rejected[0].reason == "http://a.org/1 already carries a different checksum; keep one"


def test_links_in_free_text_for_the_clipboard_offer() -> None:
    text = (
        "Get it (https://a.org/x.iso), or http://b.org/y.tar.gz. Mirror: <http://c.org/z>; "
        "not ftp://d.org/f nor http:///nohost, again https://a.org/x.iso!"
    )
    assert [e.url for e in links_in(text)] == ["https://a.org/x.iso", "http://b.org/y.tar.gz", "http://c.org/z"]
    assert links_in("no links here") == []
    assert links_in(f"HTTP://A.org/q#sha256={SUM}")[0].sha256 == SUM


@given(st.text())
def test_reading_never_raises_and_keeps_only_checked_urls(text: str) -> None:
    reading = read_links(text)
    for entry in reading.entries:
        assert entry.url.lower().startswith(("http://", "https://"))
        assert not any(c.isspace() for c in entry.url)
    for entry in links_in(text):
        assert entry.url.lower().startswith(("http://", "https://"))


def test_plan_sorts_new_blocking_and_again() -> None:
    folder = "/tmp/downloads"
    existing = [
        progress(1, url="http://a.org/running", state=State.DOWNLOADING, name="running"),
        progress(2, url="http://a.org/done", state=State.COMPLETED, name="done"),
        progress(3, url="http://a.org/elsewhere", state=State.QUEUED, folder="/srv/other"),
        progress(4, url="http://a.org/done", state=State.FAILED, name="done"),
    ]
    entries = [Entry(u, None, u) for u in ("http://a.org/new", "http://a.org/running", "http://a.org/done",
                                           "http://a.org/elsewhere")]  # fmt: skip
    result = plan(entries, existing, folder + "/")
    assert [e.url for e in result.new] == ["http://a.org/new"]
    assert [(d.entry.url, d.existing.id, d.blocking) for d in result.duplicates] == [
        ("http://a.org/running", 1, True),
        ("http://a.org/done", 4, False),
        ("http://a.org/elsewhere", 3, False),
    ]
    assert [e.url for e in result.again] == ["http://a.org/done", "http://a.org/elsewhere"]
    reasons = [d.reason for d in result.duplicates]
    assert reasons == [
        "running is already in the list (downloading); it is not added twice",
        "done was downloaded before (failed); add it again only if you mean to",
        "http://a.org/elsewhere is already being downloaded into /srv/other; add it again only if you mean to",
    ]
