"""Chat protocol v1 as it travels: limits, validation of client frames, and the hub's frames.

Shared by the hub and by clients, so both sides agree on every rule; docs/protocol.md is the prose version and
the two change together. Pure functions and frozen dataclasses only: no I/O, no tornado, no hub state.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from core.chat.errors import FrameError

PROTOCOL_VERSION = 1
DEFAULT_HOST = "127.0.0.1"  # where a hub listens unless told otherwise (loopback: no one else can reach it)
DEFAULT_PORT = 8765
LOBBY = "lobby"

MAX_TEXT_CHARS = 4000
MAX_FRAME_BYTES = 64 * 1024
MAX_NICK_CHARS = 32
MAX_CID_CHARS = 64
HISTORY_DEFAULT = 50
HISTORY_MAX = 200
MAX_ID = 2**63 - 1  # SQLite's INTEGER range; larger numbers are refused rather than overflowing

# WebSocket close codes the hub uses (RFC 6455 section 7.4.1)
CLOSE_GOING_AWAY = 1001  # the hub is shutting down: reconnect later and join with since
SHUTTING_DOWN = "hub shutting down: reconnect in a moment"  # the reason that goes with it (and nc's notice)
CLOSE_POLICY = 1008  # rate limit kept being exceeded, or the reader fell too far behind
CLOSE_TOO_BIG = 1009  # a frame over MAX_FRAME_BYTES

# code -> when the hub sends it (the error frame's message says the specifics)
ERROR_CODES = {
    "bad_json": "the frame is not a JSON object",
    "bad_frame": "a binary frame (protocol v1 is JSON text frames only)",
    "unknown_type": "the frame's type is missing or not one of join, say, typing, history, leave",
    "bad_field": "a field is missing, of the wrong kind, or breaks its rule",
    "text_too_long": f"a say's text is over {MAX_TEXT_CHARS} characters",
    "not_joined": "say, typing or leave for a room this connection has not joined",
    "already_joined": "join for a room this connection has already joined",
    "too_many_rooms": "join beyond the per-connection room limit",
    "rate_limited": "frames arrive faster than the rate limit; they are dropped until the rate falls",
    "store_failed": "the hub could not store the message (it was not sent); try again later",
}

_ROOM_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}", re.ASCII)


def _is_unicode(text: str) -> bool:
    """False for strings with lone surrogates (JSON "\\ud800" escapes), which cannot be stored or re-encoded."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def nick_problem(nick: object) -> str | None:
    """Why nick is not a valid nick (a sentence), or None when it is."""
    if not isinstance(nick, str):
        return "nick must be a string"
    if not 1 <= len(nick) <= MAX_NICK_CHARS:
        return f"nick must be 1 to {MAX_NICK_CHARS} characters long (got {len(nick)})"
    if not nick.isprintable():
        return "nick must contain only printable characters (no control, format or separator characters)"
    if nick != nick.strip():
        return "nick must not start or end with a space"
    return None


def room_problem(room: object) -> str | None:
    """Why room is not a valid room name, or None when it is."""
    if not isinstance(room, str) or not _ROOM_RE.fullmatch(room):
        return (
            "room must be 1 to 32 characters of ASCII letters, digits, '_', '.' or '-', starting with a letter or digit"
        )
    return None


@dataclass(frozen=True, slots=True)
class Join:
    room: str
    since: int | None  # replay every stored message with a larger id; None: only new messages


@dataclass(frozen=True, slots=True)
class Say:
    room: str
    text: str
    cid: str | None  # the client's id for this message; a resend with the same cid is stored once


@dataclass(frozen=True, slots=True)
class Typing:
    room: str


@dataclass(frozen=True, slots=True)
class History:
    room: str
    before: int | None  # only messages with a smaller id; None: the newest
    limit: int


@dataclass(frozen=True, slots=True)
class Leave:
    room: str


ClientFrame = Join | Say | Typing | History | Leave


def _room(obj: dict[str, Any], cid: str | None = None) -> str:
    room = obj.get("room")
    problem = room_problem(room)
    if problem:
        raise FrameError("bad_field", problem, cid=cid)
    assert isinstance(room, str)
    return room


def _cid(obj: dict[str, Any]) -> str | None:
    """A say's cid, read before anything else in it so that every other error about that say can carry it."""
    cid = obj.get("cid")
    if cid is not None and (
        not isinstance(cid, str) or not 1 <= len(cid) <= MAX_CID_CHARS or not cid.isprintable() or " " in cid
    ):
        room = obj.get("room")
        raise FrameError(
            "bad_field",
            f"cid must be 1 to {MAX_CID_CHARS} printable characters without spaces",
            room=room if room_problem(room) is None else None,
        )
    return cid


def _optional_int(obj: dict[str, Any], key: str, low: int, high: int, room: str) -> int | None:
    if key not in obj or obj[key] is None:
        return None
    value = obj[key]
    # bool is an int subclass: `"since": true` is a mistake, not 1
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise FrameError("bad_field", f"{key} must be a whole number from {low} to {high}", room=room)
    return value


def _say(obj: dict[str, Any]) -> Say:
    cid = _cid(obj)
    room = _room(obj, cid)
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise FrameError("bad_field", "text must be a non-empty string", room=room, cid=cid)
    if len(text) > MAX_TEXT_CHARS:
        raise FrameError(
            "text_too_long",
            f"text is {len(text)} characters; the limit is {MAX_TEXT_CHARS}: split it into several messages",
            room=room,
            cid=cid,
        )
    if not _is_unicode(text):
        raise FrameError("bad_field", "text contains a lone surrogate escape; send valid Unicode", room=room, cid=cid)
    return Say(room, text, cid)


def parse_client_frame(raw: str) -> ClientFrame:
    """Parse and validate one client text frame. Raises FrameError (with the code to send back)."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: "[[[[...]]]]" nested past the parser's stack
        raise FrameError("bad_json", f"the frame is not valid JSON ({type(exc).__name__})") from None
    if not isinstance(obj, dict):
        raise FrameError("bad_json", "the frame must be a JSON object with a 'type'")
    kind = obj.get("type")
    if kind not in ("join", "say", "typing", "history", "leave"):
        shown = kind if isinstance(kind, str) and len(kind) <= 32 and kind.isprintable() else "?"
        raise FrameError("unknown_type", f"unknown frame type {shown!r}; use join, say, typing, history or leave")
    if kind == "say":
        return _say(obj)
    room = _room(obj)
    if kind == "join":
        return Join(room, _optional_int(obj, "since", 0, MAX_ID, room))
    if kind == "history":
        before = _optional_int(obj, "before", 1, MAX_ID, room)
        limit = _optional_int(obj, "limit", 1, HISTORY_MAX, room)
        return History(room, before, HISTORY_DEFAULT if limit is None else limit)
    if kind == "typing":
        return Typing(room)
    return Leave(room)


def say_ids(raw: str | bytes) -> tuple[str | None, str | None]:
    """(room, cid) of raw when it is a say whose room and cid are valid (either may be None); (None, None) for
    anything else. For errors about a frame that was not otherwise parsed (rate limiting)."""
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        return None, None
    if not isinstance(obj, dict) or obj.get("type") != "say":
        return None, None
    try:
        cid = _cid(obj)
    except FrameError:
        cid = None
    room = obj.get("room")
    return (room if room_problem(room) is None else None), cid


# --- the hub's frames -------------------------------------------------------------------------------------------


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON: what goes into a text frame."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def message_record(msg_id: int, nick: str, text: str, ts: float, cid: str) -> dict[str, Any]:
    return {"id": msg_id, "nick": nick, "text": text, "ts": ts, "cid": cid}


def message_frame(room: str, msg_id: int, nick: str, text: str, ts: float, cid: str) -> dict[str, Any]:
    return {"type": "message", "room": room, "id": msg_id, "nick": nick, "text": text, "ts": ts, "cid": cid}


def presence_frame(room: str, users: list[str], count: int) -> dict[str, Any]:
    return {"type": "presence", "room": room, "users": users, "count": count}


def typing_frame(room: str, nick: str) -> dict[str, Any]:
    return {"type": "typing", "room": room, "nick": nick}


def history_frame(room: str, messages: list[dict[str, Any]], more: bool) -> dict[str, Any]:
    return {"type": "history", "room": room, "messages": messages, "more": more}


def error_frame(code: str, message: str, *, room: str | None = None, cid: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "error", "code": code, "message": message}
    if room is not None:
        frame["room"] = room
    if cid is not None:
        frame["cid"] = cid
    return frame
