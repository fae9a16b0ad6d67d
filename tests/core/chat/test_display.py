"""Hostile text made safe to draw, links found (and only http(s) ones), and the words around messages."""

from __future__ import annotations

import unicodedata
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core.chat.display import (
    REPLACEMENT,
    day_words,
    link_at,
    link_url,
    links,
    safe_line,
    safe_text,
    seconds_words,
    status_words,
    tab_title,
    typing_words,
)
from core.chat.updates import ClientStatus, LinkState

BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def test_ordinary_text_is_untouched() -> None:
    for text in ("hello", "naïve café", "日本語のテキスト", "שלום עולם", "مرحبا", "emoji 👩‍👩‍👧 ok", "<b>x</b>"):
        assert safe_text(text) == text


def test_markup_stays_literal_text() -> None:
    hostile = '<img src="file:///etc/passwd"><script>alert(1)</script><a href="x">y</a>'
    assert safe_text(hostile) == hostile  # shown literally: the viewer draws plain text, never markup


def test_controls_and_bidi_overrides_become_visible_replacements() -> None:
    assert safe_text("evil\u202etxt.exe") == f"evil{REPLACEMENT}txt.exe"
    assert safe_text("\x1b[31mred\x1b[0m") == f"{REPLACEMENT}[31mred{REPLACEMENT}[0m"
    assert safe_text("a\x00b\x7fc\x85d") == f"a{REPLACEMENT}b{REPLACEMENT}c\nd"
    assert safe_text("tab\there") == "tab    here"
    assert safe_text("one\r\ntwo\rthree\u2028four\u2029five") == "one\ntwo\nthree\nfour\nfive"


def test_piles_of_combining_marks_and_blank_lines_are_cut_short() -> None:
    zalgo = "Z" + "\u0301" * 50 + "a"
    assert safe_text(zalgo) == "Z" + "\u0301" * 4 + "a"
    assert safe_text("top" + "\n" * 4000 + "bottom") == "top\n\n\nbottom"
    assert safe_line("two\nlines") == "two lines"


@given(st.text())
def test_nothing_unsafe_survives(text: str) -> None:
    shown = safe_text(text)
    for ch in shown:
        assert ch == "\n" or unicodedata.category(ch) != "Cc", repr(ch)
        assert ch not in BIDI, repr(ch)


def test_links_are_found_with_sentence_punctuation_left_out() -> None:
    text = "see https://example.org/a_(b) and (http://x.org/path), www.squall.dev. Also https://t.co/x?y=1!"
    found = links(text)
    assert [link.url for link in found] == [
        "https://example.org/a_(b)",
        "http://x.org/path",
        "http://www.squall.dev",
        "https://t.co/x?y=1",
    ]
    first = found[0]
    assert text[first.start : first.end] == "https://example.org/a_(b)"
    assert link_at(found, first.start) == first
    assert link_at(found, first.end) is None


def test_only_http_links_are_ever_opened() -> None:
    for text in ("file:///etc/passwd", "javascript:alert(1)", "ftp://x.org/f", "data:text/html,<b>", "http://"):
        assert links(text) == ()
    assert link_url("file:///etc/passwd") is None
    assert link_url("http://[broken") is None
    assert link_url("http://localhost:8765/health") == "http://localhost:8765/health"


def test_typing_words() -> None:
    assert typing_words(()) == ""
    assert typing_words(("bob",)) == "bob is typing…"
    assert typing_words(("bob", "carol")) == "bob and carol are typing…"
    assert typing_words(("a", "b", "c")) == "a, b and c are typing…"
    assert typing_words(("a", "b", "c", "d")) == "4 people are typing…"
    assert typing_words(("e\u202evil",)) == f"e{REPLACEMENT}vil is typing…"


def test_day_and_countdown_words() -> None:
    today = date(2026, 11, 12)
    assert day_words(today, today) == "Today"
    assert day_words(date(2026, 11, 11), today) == "Yesterday"
    assert day_words(date(2026, 10, 12), today) == "Monday 12 October 2026"
    assert seconds_words(3.2) == "4 s"
    assert seconds_words(0.01) == "1 s"
    assert seconds_words(65) == "1 min 5 s"
    assert seconds_words(120) == "2 min"
    assert tab_title("Chat", 0) == "Chat"
    assert tab_title("Chat", 3) == "Chat (3)"


def test_status_words() -> None:
    connected = ClientStatus(LinkState.CONNECTED, "127.0.0.1:8765", "ada", local=True)
    assert status_words(connected, hosting=True, now=0) == "hosting the room"
    assert status_words(connected, hosting=False, now=0) == "connected to 127.0.0.1:8765"
    offline = ClientStatus(LinkState.OFFLINE, "127.0.0.1:8765", "ada", True, retry_at=103.2)
    assert status_words(offline, hosting=False, now=100.0) == "offline, retrying in 4 s"
    refused = ClientStatus(LinkState.REFUSED, "10.0.0.2:8765", "ada", False, problem="wrong passphrase")
    assert status_words(refused, hosting=False, now=0) == "10.0.0.2:8765 refused to sign you in"
    connecting = ClientStatus(LinkState.CONNECTING, "10.0.0.2:8765", "ada", False)
    assert status_words(connecting, hosting=False, now=0) == "connecting to 10.0.0.2:8765…"
