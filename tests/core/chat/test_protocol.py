"""Protocol v1 parsing and validation: every rule a client frame can break, and the hub frames' shape."""

from __future__ import annotations

import json

import pytest

from core.chat.errors import FrameError
from core.chat.protocol import (
    ERROR_CODES,
    History,
    Join,
    Leave,
    Say,
    Typing,
    encode,
    error_frame,
    message_frame,
    nick_problem,
    parse_client_frame,
    room_problem,
    say_ids,
)


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ({"type": "join", "room": "lobby"}, Join("lobby", None)),
        ({"type": "join", "room": "lobby", "since": 0}, Join("lobby", 0)),
        ({"type": "say", "room": "a.b-c_d", "text": "hi", "cid": "u-1"}, Say("a.b-c_d", "hi", "u-1")),
        ({"type": "say", "room": "r", "text": "hi", "extra": [1]}, Say("r", "hi", None)),  # unknown fields ignored
        ({"type": "typing", "room": "r"}, Typing("r")),
        ({"type": "history", "room": "r"}, History("r", None, 50)),
        ({"type": "history", "room": "r", "before": 9, "limit": 200}, History("r", 9, 200)),
        ({"type": "leave", "room": "r"}, Leave("r")),
    ],
)
def test_valid_frames(raw: dict[str, object], parsed: object) -> None:
    assert parse_client_frame(json.dumps(raw)) == parsed


@pytest.mark.parametrize(
    ("raw", "code", "words"),
    [
        ("", "bad_json", "not valid JSON"),
        ("nul", "bad_json", "not valid JSON"),
        ('"join"', "bad_json", "JSON object"),
        ("[" * 100_000, "bad_json", "not valid JSON"),
        ('{"type": 1, "room": "r"}', "unknown_type", "unknown frame type '?'"),
        ('{"type": "\\u001b[2J", "room": "r"}', "unknown_type", "'?'"),  # never echo control characters back
        ('{"type": "join"}', "bad_field", "room must be"),
        ('{"type": "join", "room": ""}', "bad_field", "room must be"),
        ('{"type": "join", "room": "' + "r" * 33 + '"}', "bad_field", "room must be"),
        ('{"type": "join", "room": "-r"}', "bad_field", "starting with a letter or digit"),
        ('{"type": "join", "room": "r\u00e9"}', "bad_field", "ASCII"),
        ('{"type": "join", "room": "r", "since": -1}', "bad_field", "since must be"),
        ('{"type": "join", "room": "r", "since": 1.5}', "bad_field", "since must be"),
        ('{"type": "join", "room": "r", "since": 99999999999999999999}', "bad_field", "since must be"),
        ('{"type": "history", "room": "r", "before": 0}', "bad_field", "before must be"),
        ('{"type": "history", "room": "r", "limit": 0}', "bad_field", "limit must be"),
        ('{"type": "say", "room": "r"}', "bad_field", "non-empty string"),
        ('{"type": "say", "room": "r", "text": ["x"]}', "bad_field", "non-empty string"),
        ('{"type": "say", "room": "r", "text": "x", "cid": ""}', "bad_field", "cid must be"),
        ('{"type": "say", "room": "r", "text": "x", "cid": "a b"}', "bad_field", "cid must be"),
        ('{"type": "say", "room": "r", "text": "x", "cid": "' + "c" * 65 + '"}', "bad_field", "cid must be"),
        ('{"type": "say", "room": "r", "text": "\\udfff"}', "bad_field", "lone surrogate"),
    ],
)
def test_invalid_frames_name_the_problem(raw: str, code: str, words: str) -> None:
    with pytest.raises(FrameError) as error:
        parse_client_frame(raw)
    assert error.value.code == code
    assert code in ERROR_CODES
    assert words in str(error.value)


def test_text_is_limited_in_characters() -> None:
    assert parse_client_frame(json.dumps({"type": "say", "room": "r", "text": "é" * 4000})) == Say(
        "r", "é" * 4000, None
    )
    with pytest.raises(FrameError) as error:
        parse_client_frame(json.dumps({"type": "say", "room": "r", "text": "é" * 4001, "cid": "k"}))
    assert (error.value.code, error.value.room, error.value.cid) == ("text_too_long", "r", "k")


@pytest.mark.parametrize(
    ("frame", "room", "cid"),
    [
        ({"type": "say", "room": "bad room", "text": "x", "cid": "k1"}, None, "k1"),
        ({"type": "say", "text": "x", "cid": "k2"}, None, "k2"),
        ({"type": "say", "room": "r", "text": 5, "cid": "k3"}, "r", "k3"),
        ({"type": "say", "room": "r", "text": "x", "cid": 7}, "r", None),  # no cid to name
        ({"type": "say", "room": "bad room", "text": "x", "cid": ""}, None, None),
    ],
)
def test_errors_about_a_say_carry_whatever_cid_and_room_could_be_read(
    frame: dict[str, object], room: str | None, cid: str | None
) -> None:
    with pytest.raises(FrameError) as error:
        parse_client_frame(json.dumps(frame))
    assert (error.value.code, error.value.room, error.value.cid) == ("bad_field", room, cid)


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        ('{"type": "say", "room": "r", "text": "x", "cid": "k"}', ("r", "k")),
        ('{"type": "say", "room": "r", "text": "x"}', ("r", None)),
        ('{"type": "say", "room": "no good", "cid": "k"}', (None, "k")),
        ('{"type": "typing", "room": "r", "cid": "k"}', (None, None)),
        ("not json", (None, None)),
        (b"\xff\xfe", (None, None)),
        ("[1]", (None, None)),
    ],
)
def test_say_ids_names_a_dropped_say(raw: str | bytes, ids: tuple[str | None, str | None]) -> None:
    assert say_ids(raw) == ids


@pytest.mark.parametrize(
    ("nick", "problem"),
    [
        ("alice", None),
        ("Zoë 🙂", None),
        ("a" * 32, None),
        ("a b", None),
        ("", "1 to 32 characters"),
        ("a" * 33, "1 to 32 characters"),
        ("tab\there", "printable"),
        ("nul\x00", "printable"),
        ("rtl\u202eevil", "printable"),
        ("nbsp\u00a0", "printable"),
        (" lead", "start or end with a space"),
        ("trail ", "start or end with a space"),
        (7, "must be a string"),
    ],
)
def test_nick_rules(nick: object, problem: str | None) -> None:
    found = nick_problem(nick)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_room_rules() -> None:
    assert room_problem("lobby") is None
    assert room_problem("a" * 32) is None
    assert room_problem("a" * 33) is not None
    assert room_problem(None) is not None


def test_hub_frames_are_compact_utf8_json() -> None:
    frame = message_frame("lobby", 3, "Zoë", "<b>hi</b>", 1.5, "c")
    data = encode(frame)
    assert (
        data == '{"type":"message","room":"lobby","id":3,"nick":"Zoë","text":"<b>hi</b>","ts":1.5,"cid":"c"}'.encode()
    )
    assert json.loads(encode(error_frame("rate_limited", "slow down"))) == {
        "type": "error",
        "code": "rate_limited",
        "message": "slow down",
    }
    assert error_frame("bad_field", "m", room="r", cid="c")["cid"] == "c"
