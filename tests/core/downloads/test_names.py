"""File names from hostile servers and URLs are always one safe name inside the target folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.downloads import names


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('attachment; filename="report.pdf"', "report.pdf"),
        ("attachment; filename*=UTF-8''%E2%82%AC%20rates.txt", "€ rates.txt"),
        ("attachment; filename=\"fallback.txt\"; filename*=UTF-8''real%20name.txt", "real name.txt"),
        ('attachment; filename="../../etc/passwd"', "passwd"),
        ('attachment; filename="/etc/shadow"', "shadow"),
        ('attachment; filename="..\\\\..\\\\windows\\\\system.ini"', "system.ini"),
        ('attachment; filename="C:\\\\evil.exe"', "evil.exe"),
        ('attachment; filename=".bashrc"', "bashrc"),
        ('attachment; filename=".."', "fallback.bin"),
        ('attachment; filename="caf\xc3\xa9.txt"', "café.txt"),
        ('attachment; filename="CON.txt"', "_CON.txt"),
        ('attachment; filename="nul"', "_nul"),
        ('attachment; filename="a<b>c:d|e?f*.txt"', "a_b_c_d_e_f_.txt"),
        ('attachment; filename="invoice\u202etxt.exe"', "invoicetxt.exe"),
        ('attachment; filename="line\r\nbreak.txt"', "linebreak.txt"),
        ('attachment; filename="trailing. . "', "trailing"),
    ],
)
def test_content_disposition_names_are_sanitised(header: str, expected: str) -> None:
    assert names.choose(None, header, "http://h/fallback.bin") == expected


def test_name_falls_back_to_the_url_then_to_download() -> None:
    assert names.choose(None, None, "http://h/dir/file%20name.iso?x=1") == "file name.iso"
    assert names.choose(None, "inline", "http://h/") == "download"
    assert names.choose(None, 'attachment; filename="/"', "http://h/a.txt") == "a.txt"
    assert names.choose("mine.bin", 'attachment; filename="theirs.bin"', "http://h/url.bin") == "mine.bin"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("attachment; filename*=UTF-8''%E2%82", "fallback.bin"),
        ("attachment; filename=\"plain.txt\"; filename*=UTF-8''%E2%82", "plain.txt"),
        ("attachment; filename*=UTF-8''%FF%FE; filename=plain.txt", "plain.txt"),
        ("attachment; filename*=X-NO-SUCH-CHARSET''abc.txt; filename=plain.txt", "plain.txt"),
        ("attachment; filename*=ISO-8859-1''caf%E9.txt", "café.txt"),
    ],
)
def test_an_undecodable_filename_star_counts_as_absent(header: str, expected: str) -> None:
    assert names.choose(None, header, "http://h/fallback.bin") == expected


def test_an_undecodable_url_name_stays_percent_encoded() -> None:
    assert names.choose(None, None, "http://h/caf%E9.txt") == "caf%E9.txt"
    assert names.choose(None, None, "http://h/%2E%2E%2F%FF") == "%2E%2E%2F%FF", "no `../` comes out of it"


def test_over_long_names_keep_their_extension_within_the_byte_limit() -> None:
    name = names.sanitize("é" * 300 + ".tar.gz")
    assert len(name.encode()) <= names.MAX_NAME_BYTES
    assert name.endswith(".gz")
    assert len(names.sanitize("x" * 1000).encode()) <= names.MAX_NAME_BYTES


def test_numbered_alternatives() -> None:
    assert names.numbered("a.txt", 0) == "a.txt"
    assert names.numbered("a.txt", 1) == "a (1).txt"
    assert names.numbered("archive.tar.gz", 2) == "archive (2).tar.gz"
    assert names.numbered("README", 3) == "README (3)"


@settings(max_examples=400, deadline=None)
@given(header=st.text(max_size=300), url_path=st.text(max_size=100), requested=st.none() | st.text(max_size=50))
@example(header="attachment; filename*=UTF-8''..%2F..%2Fx", url_path="", requested=None)
@example(header='attachment; filename="\x00"', url_path="..%2F..", requested="../../../x")
def test_the_saved_path_is_always_inside_the_target_folder(
    header: str, url_path: str, requested: str | None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    folder = Path("/srv/downloads")
    url = "http://example.org/" + url_path
    name = names.choose(requested, 'attachment; filename="' + header + '"', url)
    name_star = names.choose(None, "attachment; filename*=UTF-8''" + header, url)
    for candidate in (name, name_star, names.numbered(name, 7) + names.PART_SUFFIX):
        assert candidate
        assert not set(candidate) & {"/", "\\", "\x00"}
        assert candidate not in (".", "..")
        assert not candidate.startswith(".")
        assert len(candidate.encode()) <= 255
        resolved = Path(os.path.normpath(folder / candidate))
        assert resolved.parent == folder
