"""Frames encoded once: valid WebSocket framing at every length boundary, and terminal-safe nc lines."""

from __future__ import annotations

import time

import pytest

from core.chat.hub.frames import Outgoing, chat_line, printable, ws_text_frame
from core.chat.protocol import message_frame
from tests.core.chat.hub.wsclient import parse_frames


@pytest.mark.parametrize("size", [0, 1, 125, 126, 127, 65535, 65536, 70000])
def test_ws_frames_at_length_boundaries(size: int) -> None:
    payload = b"a" * size
    frame = ws_text_frame(payload)
    assert frame[0] == 0x81  # FIN + text
    assert frame[1] & 0x80 == 0  # servers never mask
    assert parse_frames(frame) == [(0x1, payload)]
    header = 2 if size < 126 else 4 if size <= 0xFFFF else 10
    assert len(frame) == header + size


def test_outgoing_encodes_once() -> None:
    out = Outgoing(message_frame("lobby", 1, "alice", "hi", 0.0, "c"), line=b"line\n")
    first = out.ws_frame()
    assert out.ws_frame() is first  # the same bytes object for every recipient
    assert out.line == b"line\n"


def test_printable_defuses_terminal_control() -> None:
    assert printable("plain text") == "plain text"
    assert printable("a\tb\r\nc") == "a b  c"
    assert printable("\x1b[2J\x07") == "\ufffd[2J\ufffd"
    assert printable("rtl \u202eevil") == "rtl \ufffdevil"


def test_chat_line_format() -> None:
    ts = time.mktime((2026, 11, 26, 9, 5, 30, 0, 0, -1))
    assert chat_line("alice", "hi\nthere", ts) == b"[09:05] <alice> hi there\n"
    assert chat_line("al\x1bice", "x", ts) == "[09:05] <al\ufffdice> x\n".encode()
