"""The client's small parts: backoff with jitter, the send pacer, typing windows, the outbox and the history cache
(real SQLite), and the chat preferences with their checks."""

from __future__ import annotations

import random
import sqlite3

import pytest

from core.chat.cache import HistoryCache
from core.chat.errors import ChatInputError, NickError
from core.chat.ledger import Arrival, Ledger, parse_message
from core.chat.outbox import Outbox
from core.chat.pacing import Backoff, Pacer
from core.chat.preferences import ChatPreferences, normalize_address, parse_address
from core.chat.typists import TypingSender, Typists
from core.chat.updates import ChatMessage, Delivery
from core.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_doubles_to_a_ceiling_with_jitter_and_resets() -> None:
    backoff = Backoff(0.5, 4.0, 0.25, rng=random.Random(7))
    delays = [backoff.next() for _ in range(7)]
    for delay, base in zip(delays, [0.5, 1, 2, 4, 4, 4, 4], strict=True):
        assert base * 0.75 <= delay <= base * 1.25
    assert len({round(d, 6) for d in delays[3:]}) > 1, "jitter spreads clients that lost the same hub"
    backoff.reset()
    assert backoff.next() <= 0.5 * 1.25
    with pytest.raises(ValueError, match="0 < first <= ceiling"):
        Backoff(0, 1)


def test_the_pacer_allows_a_burst_then_spaces_sends_out() -> None:
    clock = Clock()
    pacer = Pacer(10.0, 3, clock)
    assert [pacer.delay() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.delay() == pytest.approx(0.1)
    assert pacer.delay() == pytest.approx(0.2)
    assert not pacer.available()
    clock.now += 1.0
    assert pacer.available()


def test_typing_windows_open_extend_and_close() -> None:
    clock = Clock()
    typists = Typists(5.0, clock)
    assert typists.typing("lobby", "bob") is True
    assert typists.typing("lobby", "bob") is False, "already listed"
    assert typists.typing("lobby", "carol") is True
    assert typists.nicks("lobby") == ("bob", "carol")
    assert typists.spoke("lobby", "carol") is True
    clock.now += 4.9
    assert typists.expire() == []
    clock.now += 0.2
    assert typists.expire() == ["lobby"]
    assert typists.nicks("lobby") == ()
    assert not typists
    sender = TypingSender(3.0, clock)
    assert sender.due("lobby")
    assert not sender.due("lobby")
    sender.sent_message("lobby")
    assert sender.due("lobby"), "after a message the next keystroke is news again"


def test_the_outbox_keeps_entries_per_hub_in_order_until_removed(conn: sqlite3.Connection) -> None:
    box = Outbox(conn)
    a = box.add("127.0.0.1:8765", "lobby", "first")
    b = box.add("127.0.0.1:8765", "dev", "second")
    box.add("10.0.0.5:8765", "lobby", "elsewhere")
    assert [p.text for p in box.pending("127.0.0.1:8765")] == ["first", "second"]
    failed = box.mark(b.cid, Delivery.FAILED, "refused")
    assert failed is not None
    assert (failed.state, failed.error) == (Delivery.FAILED, "refused")
    box.remove([a.cid])
    assert [p.cid for p in box.pending("127.0.0.1:8765")] == [b.cid]
    assert box.count() == 2
    with pytest.raises(sqlite3.IntegrityError):
        box.add("127.0.0.1:8765", "lobby", "same cid", cid=b.cid)


def test_the_cache_keeps_runs_per_room_and_never_loses_own(conn: sqlite3.Connection) -> None:
    cache = HistoryCache(conn)
    hub = "127.0.0.1:8765"
    cache.store(hub, [ChatMessage("lobby", i, "bob", f"t{i}", float(i), f"c{i}") for i in range(1, 11)])
    cache.store(hub, [ChatMessage("lobby", 3, "bob", "t3", 3.0, "c3", own=True)])
    cache.store(hub, [ChatMessage("lobby", 3, "bob", "t3", 3.0, "c3", own=False)])
    assert cache.newest_id(hub, "lobby") == 10
    assert cache.newest_id(hub, "dev") == 0
    assert [m.id for m in cache.before(hub, "lobby", None, 4)] == [7, 8, 9, 10]
    assert [m.id for m in cache.before(hub, "lobby", 5, 10)] == [1, 2, 3, 4]
    assert next(m for m in cache.before(hub, "lobby", 4, 1)).own
    assert cache.cid_of(hub, "lobby", 3) == "c3"
    assert cache.prune(hub, "lobby", keep=4) == 6
    assert [m.id for m in cache.before(hub, "lobby", None, 100)] == [7, 8, 9, 10]
    cache.forget_room(hub, "lobby")
    assert cache.newest_id(hub, "lobby") == 0


def test_addresses_are_parsed_with_clear_refusals() -> None:
    assert parse_address("192.168.1.20:8765") == ("192.168.1.20", 8765)
    assert parse_address(" squall.lan ") == ("squall.lan", 8765)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    assert normalize_address("LocalHost:8765") == "localhost:8765"
    assert normalize_address("[::1]:9000") == "[::1]:9000"
    with pytest.raises(ChatInputError, match="empty"):
        parse_address("  ")
    with pytest.raises(ChatInputError, match="not a port"):
        parse_address("host:99999")
    with pytest.raises(ChatInputError, match="not a host name"):
        parse_address("bad host:80")


def test_preferences_check_and_remember(conn: sqlite3.Connection) -> None:
    prefs = ChatPreferences(Settings(conn))
    assert prefs.nick  # the login name, or "squall"
    with pytest.raises(NickError, match="1 to 32 characters"):
        prefs.set_nick("x" * 33)
    assert prefs.set_nick("ada") == "ada"
    assert prefs.nick == "ada"

    assert prefs.start_target().address == "127.0.0.1:8765"
    assert prefs.start_target().local
    assert prefs.start_target("127.0.0.1:9999").address == "127.0.0.1:9999"
    prefs.remember_hub("192.168.1.20", " sesame ")
    target = prefs.start_target()
    assert (target.address, target.passphrase, target.local) == ("192.168.1.20:8765", "sesame", False)
    assert "sesame" not in repr(target)
    prefs.remember_hub("10.0.0.9:8765", "other")
    assert [h.address for h in prefs.joined_hubs()] == ["10.0.0.9:8765", "192.168.1.20:8765"]
    with pytest.raises(ChatInputError, match="passphrase is empty"):
        prefs.remember_hub("10.0.0.9:8765", " ")
    prefs.forget_hub("10.0.0.9:8765")
    assert [h.address for h in prefs.joined_hubs()] == ["192.168.1.20:8765"]

    assert prefs.rooms == ["lobby"]
    prefs.set_rooms(["lobby", "dev", "dev"])
    assert prefs.rooms == ["lobby", "dev"]
    with pytest.raises(ChatInputError, match="room must be"):
        prefs.set_rooms(["no good"])
    assert not prefs.share_on_lan
    prefs.set_share_on_lan(True)
    assert prefs.share_on_lan


def test_a_broken_hub_setting_falls_back_to_this_machine(conn: sqlite3.Connection) -> None:
    settings = Settings(conn)
    settings.set("chat.hub", "not an address")
    assert ChatPreferences(settings).start_target().address == "127.0.0.1:8765"


def test_the_ledger_tells_acknowledgements_news_repeats_and_a_replaced_history_apart(conn: sqlite3.Connection) -> None:
    ledger = Ledger(conn, "127.0.0.1:8765")
    assert ledger.switch("127.0.0.1:8765") == []
    mine = ledger.add("lobby", "hello")
    ledger.sent(mine.cid)
    assert ledger.awaiting
    assert [e.cid for e in ledger.overdue(0.0)] == [mine.cid]
    ack = ledger.arrived(ChatMessage("lobby", 1, "ada", "hello", 1.0, mine.cid))
    assert ack.acknowledged
    assert ack.message is not None
    assert ack.message.own
    assert not ledger.pending
    assert not ledger.awaiting
    news = ledger.arrived(ChatMessage("lobby", 2, "bob", "hi", 2.0, "b2"))
    assert news == Arrival(ChatMessage("lobby", 2, "bob", "hi", 2.0, "b2"))
    ledger.persist()
    assert Outbox(conn).count() == 0, "acknowledged entries leave the outbox at the flush"
    assert ledger.arrived(ChatMessage("lobby", 2, "bob", "hi", 2.0, "b2")) == Arrival(None), "a repeat"
    other = ledger.arrived(ChatMessage("lobby", 1, "zed", "new hub", 3.0, "z1"))
    assert other.reset, "id 1 with another cid: the hub's history is not the one kept"
    assert ledger.last_id["lobby"] == 1
    ledger.persist()
    assert [(m.id, m.cid) for m in ledger.older("lobby", None, 10)] == [(1, "z1")]
    assert parse_message({"room": "lobby", "id": True, "nick": "x", "text": "t", "ts": 1, "cid": "c"}) is None
    assert parse_message({"id": 3, "nick": "x", "text": "t", "ts": 1, "cid": "c"}, "dev") is not None
