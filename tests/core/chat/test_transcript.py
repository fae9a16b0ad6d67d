"""Transcript: rows in id order with pending ones last, day separators, block changes a Qt model can replay."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from core.chat.transcript import Change, Row, Transcript
from core.chat.updates import ChatMessage, Delivery, PendingMessage

DAY = 86_400.0


def day_of(ts: float) -> date:
    return date.fromordinal(738_000 + int(ts // DAY))  # a fixed calendar, whatever the test machine's zone


def msg(i: int, ts: float | None = None, cid: str | None = None, own: bool = False) -> ChatMessage:
    return ChatMessage("lobby", i, "bob", f"m{i}", float(i) if ts is None else ts, cid or f"c{i}", own)


def replay(rows: list[str], changes: list[Change], after: list[Row]) -> list[str]:
    """Apply changes to a copy of the keys, as a view would; the result must match the transcript's rows."""
    keys = list(rows)
    for kind, first, last in changes:
        if kind == "insert":
            keys[first:first] = [r.key for r in after[first : last + 1]]
        elif kind == "remove":
            del keys[first : last + 1]
    return keys


def test_new_messages_append_as_one_block_and_duplicates_are_skipped() -> None:
    t = Transcript("lobby", day_of=day_of)
    assert t.add([msg(1), msg(2), msg(3)]) == [("insert", 0, 2)]
    assert t.add([msg(3), msg(4), msg(5)]) == [("insert", 3, 4)]
    assert [r.id for r in t.rows] == [1, 2, 3, 4, 5]
    assert t.add([msg(2)]) == []
    assert t.more_before is False, "id 1 is shown: nothing is older"


def test_an_older_page_goes_on_top_and_says_whether_more_exist() -> None:
    t = Transcript("lobby", day_of=day_of)
    t.add([msg(i) for i in range(51, 61)])
    assert t.more_before
    assert t.add([msg(i) for i in range(41, 51)], older=True, more=True) == [("insert", 0, 9), ("update", 10, 10)]
    assert t.oldest_id == 41
    assert t.more_before
    t.add([msg(i) for i in range(2, 41)], older=True, more=False)
    assert t.more_before is False


def test_a_pending_row_is_replaced_by_its_acknowledgement() -> None:
    t = Transcript("lobby", day_of=day_of)
    t.add([msg(1)])
    pending = PendingMessage("mine", "lobby", "hello", 1.5)
    assert t.add_pending(pending, "ada") == [("insert", 1, 1)]
    assert t.rows[1].state == "sending"
    assert t.rows[1].own
    failed = PendingMessage("mine", "lobby", "hello", 1.5, Delivery.FAILED, "disk full")
    assert t.add_pending(failed, "ada") == [("update", 1, 1)]
    assert (t.rows[1].state, t.rows[1].error) == ("failed", "disk full")
    t.add([msg(2)])  # someone else's message goes above the pending one
    assert [r.key for r in t.rows] == ["m:1", "m:2", "p:mine"]
    changes = t.add([msg(3, cid="mine", own=True)])
    assert [r.key for r in t.rows] == ["m:1", "m:2", "m:3"]
    assert changes[0] == ("remove", 2, 2)
    assert t.rows[2].state == "sent"
    assert t.rows[2].own


def test_day_separators_follow_inserts_on_both_ends() -> None:
    t = Transcript("lobby", day_of=day_of)
    t.add([msg(10, ts=2 * DAY + 5), msg(11, ts=2 * DAY + 6), msg(12, ts=3 * DAY)])
    assert [r.day is not None for r in t.rows] == [True, False, True]
    # an older page from the same day: the separator moves up to the new first row
    changes = t.add([msg(8, ts=2 * DAY + 1), msg(9, ts=2 * DAY + 2)], older=True, more=True)
    assert changes == [("insert", 0, 1), ("update", 2, 2)]
    assert [r.day is not None for r in t.rows] == [True, False, False, False, True]


def test_dropping_the_oldest_keeps_the_view_consistent() -> None:
    t = Transcript("lobby", day_of=day_of)
    t.add([msg(i) for i in range(1, 11)])
    assert t.drop_oldest(4) == [("remove", 0, 3), ("update", 0, 0)]
    assert t.oldest_id == 5
    assert t.rows[0].day is not None
    assert t.more_before
    assert t.clear() == [("remove", 0, 5)]
    assert len(t) == 0


def test_hostile_text_is_stored_safe_with_the_original_kept_for_copying() -> None:
    t = Transcript("lobby", day_of=day_of)
    t.add([ChatMessage("lobby", 1, "e\u202evil", "<b>hi</b>\x1b[2J https://x.org", 1.0, "c")])
    row = t.rows[0]
    assert row.nick == "e\ufffdvil"
    assert row.text == "<b>hi</b>\ufffd[2J https://x.org"
    assert row.raw == "<b>hi</b>\x1b[2J https://x.org"
    assert [link.url for link in row.links] == ["https://x.org"]


@given(st.lists(st.lists(st.integers(1, 60), max_size=8), max_size=12))
def test_any_arrival_order_gives_sorted_unique_rows_and_replayable_changes(batches: list[list[int]]) -> None:
    t = Transcript("lobby", day_of=day_of)
    seen: set[int] = set()
    keys: list[str] = []
    for batch in batches:
        changes = t.add([msg(i, ts=i * DAY / 7) for i in batch])
        keys = replay(keys, changes, t.rows)
        seen.update(batch)
        assert keys == [r.key for r in t.rows]
    assert [r.id for r in t.rows] == sorted(seen)
    for i, row in enumerate(t.rows):
        opens = i == 0 or day_of(t.rows[i - 1].ts) != day_of(row.ts)
        assert (row.day is not None) == opens


class Recorder:
    """An observer that checks the begin/end contract a Qt model relies on: rows change only in between."""

    def __init__(self, t: Transcript) -> None:
        self.t = t
        self.calls: list[tuple[str, int, int]] = []
        self.expect: int | None = None

    def begin_insert(self, first: int, last: int) -> None:
        assert self.expect is None
        assert 0 <= first <= len(self.t.rows)
        self.expect = len(self.t.rows) + (last - first + 1)
        self.calls.append(("insert", first, last))

    def end_insert(self) -> None:
        assert len(self.t.rows) == self.expect
        self.expect = None

    def begin_remove(self, first: int, last: int) -> None:
        assert self.expect is None
        assert 0 <= first <= last < len(self.t.rows)
        self.expect = len(self.t.rows) - (last - first + 1)
        self.calls.append(("remove", first, last))

    def end_remove(self) -> None:
        assert len(self.t.rows) == self.expect
        self.expect = None

    def changed(self, first: int, last: int) -> None:
        assert self.expect is None
        self.calls.append(("update", first, last))


@given(st.lists(st.lists(st.integers(1, 40), max_size=6), max_size=10), st.integers(0, 5))
def test_the_observer_hears_each_change_while_it_happens(batches: list[list[int]], drop: int) -> None:
    t = Transcript("lobby", day_of=day_of)
    t.observer = recorder = Recorder(t)
    for n, batch in enumerate(batches):
        t.add_pending(PendingMessage(f"p{n}", "lobby", "pending", n * 1000.0), "ada")
        changes = t.add([msg(i, ts=i * DAY / 5, cid=f"p{i}" if i % 3 == 0 else None) for i in batch])
        if changes:
            assert recorder.calls[-len(changes) :] == changes, "the same changes, in the same order"
    t.drop_oldest(drop)
    t.clear()
    assert len(t) == 0
    assert recorder.expect is None
