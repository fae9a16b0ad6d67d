"""Outgoing frames, encoded once per broadcast however many connections receive them.

Measured on this project: Tornado's write_message costs about half a broadcast's CPU (JSON, UTF-8, frame header,
a Future and a task, per recipient). A broadcast here builds one Outgoing; the first WebSocket recipient encodes
the complete frame (header included) and every other recipient writes the same bytes. nc users get a text line,
also built once. Server-to-client frames are never masked and we never negotiate compression, so the bytes are
identical for every WebSocket client.
"""

from __future__ import annotations

import struct
import time
from typing import Any

from core.chat.protocol import encode

_TEXT_FIN = 0x81  # FIN + opcode 1 (text)


def ws_text_frame(payload: bytes) -> bytes:
    """A complete, unmasked, final WebSocket text frame carrying payload (RFC 6455 section 5.2)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", _TEXT_FIN, n)
    elif n <= 0xFFFF:
        header = struct.pack("!BBH", _TEXT_FIN, 126, n)
    else:
        header = struct.pack("!BBQ", _TEXT_FIN, 127, n)
    return header + payload


def printable(text: str) -> str:
    """text made safe for a terminal on one line: tabs and line breaks become spaces, every other control or
    format character (ESC, bidi overrides, ...) becomes U+FFFD, so no peer can drive an nc user's terminal."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else (" " if c in "\t\r\n" else "\ufffd") for c in text)


def chat_line(nick: str, text: str, ts: float) -> bytes:
    """`[HH:MM] <nick> text` in the hub's local time, as nc users see a message."""
    stamp = time.strftime("%H:%M", time.localtime(ts))
    return f"[{stamp}] <{printable(nick)}> {printable(text)}\n".encode()


class Outgoing:
    """One hub frame on its way to many connections; each encoding is made at most once.

    Attributes:
        payload: the frame as a JSON-able dict (protocol.message_frame and friends).
        line: the nc line for it, or None when nc users do not see this kind of frame.
    """

    __slots__ = ("_ws", "line", "payload")

    def __init__(self, payload: dict[str, Any], line: bytes | None = None) -> None:
        self.payload = payload
        self.line = line
        self._ws: bytes | None = None

    def ws_frame(self) -> bytes:
        if self._ws is None:
            self._ws = ws_text_frame(encode(self.payload))
        return self._ws
