"""The download list's model and proxy on hand-made snapshots: rows, roles, dataChanged per changed row, filters."""

from __future__ import annotations

import time

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.downloads import State
from core.downloads.model import RUNNING
from gui.downloads.filter_proxy import DownloadFilterProxy
from gui.downloads.table_model import (
    COLUMNS,
    ETA,
    ID_ROLE,
    NAME,
    PROGRESS,
    SIZE,
    SNAPSHOT_ROLE,
    SORT_ROLE,
    SPEED,
    STATE,
    DownloadTableModel,
)
from tests.core.downloads.snapshots import progress

MIB = 1024 * 1024


def names(model: DownloadTableModel | DownloadFilterProxy) -> list[str]:
    return [model.data(model.index(r, NAME)) for r in range(model.rowCount())]


def test_the_model_passes_the_model_tester_while_rows_come_change_and_go(qtmodeltester: ModelTester) -> None:
    model = DownloadTableModel()
    proxy = DownloadFilterProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)
    model.receive([progress(i, name=f"f{i}.bin", total=1000) for i in range(1, 6)])
    assert model.rowCount() == 0, "nothing shows before the tick applies it"
    model.apply_pending()
    proxy.sort(SPEED, Qt.SortOrder.DescendingOrder)
    proxy.set_filter("f", frozenset(RUNNING | {State.QUEUED}))
    model.receive([progress(3, name="f3.bin", total=1000, received=500, speed=100.0, state=State.DOWNLOADING)])
    model.apply_pending()
    model.forget(2)
    model.forget(42)  # unknown: nothing happens
    model.receive([progress(6, name="f6.bin")])
    model.apply_pending()
    assert names(model) == ["f1.bin", "f3.bin", "f4.bin", "f5.bin", "f6.bin"]
    assert names(proxy)[0] == "f3.bin", "the fastest first"
    qtmodeltester.check(model)
    qtmodeltester.check(proxy)


def test_only_changed_rows_get_data_changed_in_one_signal_per_run(qtbot: QtBot) -> None:
    model = DownloadTableModel()
    model.receive([progress(i) for i in range(1, 11)])
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _parent, first, last: inserted.append((first, last)))
    assert [p.id for p in model.apply_pending()] == list(range(1, 11))
    assert inserted == [(0, 9)], "one insert for the whole batch"
    changes: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda top, bottom, _roles: changes.append((top.row(), bottom.row(), top.column(), bottom.column()))
    )
    for i in (3, 4, 5, 9):
        model.receive([progress(i, received=1)])
    model.receive([progress(4, received=2)])  # a newer snapshot of the same download replaces the pending one
    model.receive([progress(7, speed=12.0)])  # a queued download's speed is not shown: no words change
    applied = model.apply_pending()
    assert sorted(p.id for p in applied) == [3, 4, 5, 7, 9]
    assert model.by_id(4).received == 2
    assert changes == [(2, 4, SIZE, SIZE), (8, 8, SIZE, SIZE)], "rows 3-5 and 9, only the Size cells"
    assert model.apply_pending() == [], "nothing new: no signal at all"
    assert len(changes) == 2
    model.receive([progress(3, received=1, state=State.PAUSED), progress(5, received=1, state=State.DOWNLOADING)])
    model.apply_pending()
    assert changes[2:] == [(2, 2, PROGRESS, STATE), (4, 4, PROGRESS, STATE)], "a new state repaints the bar too"


def test_removal_drops_the_pending_snapshot_and_renumbers_later_rows(qtbot: QtBot) -> None:
    model = DownloadTableModel()
    model.receive([progress(i) for i in (1, 2, 3)])
    model.apply_pending()
    model.receive([progress(2, received=5)])
    with qtbot.waitSignal(model.removed) as removed:
        model.forget(2)
    assert removed.args == [2]
    assert model.apply_pending() == []
    assert (model.row_of(1), model.row_of(2), model.row_of(3)) == (0, None, 1)
    assert model.by_id(3) is model.snapshot(1)


def test_roles_words_and_sort_keys() -> None:
    model = DownloadTableModel()
    running = progress(
        1, name="big.iso", total=64 * MIB, received=16 * MIB, state=State.DOWNLOADING, speed=MIB, eta=48.0
    )
    model.receive([running, progress(2, url="http://example.org/dir/", state=State.FAILED, error="server said 404")])
    model.apply_pending()
    row = [model.data(model.index(0, c)) for c in range(len(COLUMNS))]
    assert row == ["big.iso", "16.0 MiB of 64.0 MiB", "25.0%", "1.0 MiB/s", "48 s", "downloading", "example.org"]
    failed = model.index(1, STATE)
    assert model.data(model.index(1, NAME)) == "dir", "no name yet: the URL's last part"
    assert model.data(failed) == "failed: server said 404"
    assert model.data(failed, Qt.ItemDataRole.ForegroundRole).color().name() == "#c62828"
    assert model.data(model.index(0, SIZE), Qt.ItemDataRole.TextAlignmentRole) is not None
    assert model.data(model.index(0, NAME), ID_ROLE) == 1
    assert model.data(model.index(0, PROGRESS), SNAPSHOT_ROLE) is running
    assert "last problem: server said 404" in model.data(failed, Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(0, PROGRESS), SORT_ROLE) == 0.25
    assert model.data(model.index(1, PROGRESS), SORT_ROLE) == -1.0
    assert model.data(model.index(1, ETA), SORT_ROLE) == float("inf")
    assert model.data(model.index(0, STATE), SORT_ROLE) < model.data(failed, SORT_ROLE)
    assert model.data(model.index(0, NAME), Qt.ItemDataRole.DecorationRole) is None, "unused roles are refused"
    assert model.data(model.index(5, NAME)) is None
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.headerData(PROGRESS, Qt.Orientation.Horizontal) == "Progress"
    assert model.headerData(0, Qt.Orientation.Vertical) is None


def test_the_proxy_filters_by_state_and_words_live() -> None:
    model = DownloadTableModel()
    proxy = DownloadFilterProxy()
    proxy.setSourceModel(model)
    model.receive([
        progress(1, name="ubuntu.iso", state=State.DOWNLOADING),
        progress(2, name="debian.iso", state=State.COMPLETED, url="http://mirror.net/debian.iso"),
        progress(3, name="notes.txt", state=State.PAUSED),
    ])  # fmt: skip
    model.apply_pending()
    proxy.set_filter("", frozenset({State.COMPLETED}))
    assert names(proxy) == ["debian.iso"]
    proxy.set_filter("  ISO  ", None)
    assert names(proxy) == ["ubuntu.iso", "debian.iso"]
    proxy.set_filter("iso mirror", None)
    assert names(proxy) == ["debian.iso"], "every word must match, in name, URL, host or folder"
    proxy.set_filter("", frozenset(RUNNING))
    assert names(proxy) == ["ubuntu.iso"]
    model.receive([progress(1, name="ubuntu.iso", state=State.COMPLETED)])
    model.apply_pending()
    assert names(proxy) == [], "a row leaves the filter when its state changes"
    proxy.set_filter("", None)
    assert proxy.rowCount(QModelIndex()) == 3


def test_the_retry_countdown_redoes_only_the_state_cells_that_moved(qtbot: QtBot) -> None:
    model = DownloadTableModel()
    soon = time.time() + 30
    waiting = [
        progress(i, state=State.QUEUED, error="retrying in 30 s: server said 503", next_try_at=soon) for i in (1, 2)
    ]
    model.receive([*waiting, progress(3)])
    model.apply_pending()
    assert model.data(model.index(0, STATE)).endswith(": server said 503")
    changes: list[tuple[int, int, int, int]] = []
    model.dataChanged.connect(
        lambda top, bottom, _roles: changes.append((top.row(), top.column(), bottom.row(), bottom.column()))
    )
    model.refresh_state_words([1, 2, 3, 99])
    assert changes in ([], [(0, STATE, 1, STATE)]), "nothing, or the two countdowns if a second went by"
    changes.clear()
    model._rows[0] = progress(1, state=State.QUEUED, error="retrying in 30 s: server said 503", next_try_at=soon - 20)
    model.refresh_state_words([1, 3])
    assert changes == [(0, STATE, 0, STATE)]
    assert model.data(model.index(0, STATE)) == "retrying in 10 s: server said 503"
