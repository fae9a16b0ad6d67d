from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester

from core.monitor import TaskSnapshot
from gui.tasks.task_models import (
    AGE,
    NAME,
    OWNER,
    SORT_ROLE,
    STATE,
    TASK_ID_ROLE,
    WHAT,
    GroupedTaskModel,
    TaskFilterProxy,
    TaskTableModel,
    format_age,
)

T0 = 1_800_000_000.0


def snap(task_id: int, owner: str = "downloads", *, name: str = "", state: str = "suspended") -> TaskSnapshot:
    return TaskSnapshot(
        task_id,
        name or f"{owner or 'task'}:{task_id}",
        owner,
        f"serves {task_id}",
        "coro",
        state,
        T0 - task_id,
        f"core/x.py:{task_id} in run",
        "sleep() → Future",
        owner == "hub",
    )


class Signals:
    """Records a model's structural and data signals as plain tuples.

    Attributes:
        seen: ("removed"/"inserted", first, last) and ("changed", top row, bottom row, first col, last col).
    """

    def __init__(self, model: TaskTableModel | GroupedTaskModel) -> None:
        self.seen: list[tuple[object, ...]] = []
        model.rowsRemoved.connect(lambda _p, first, last: self.seen.append(("removed", first, last)))
        model.rowsInserted.connect(lambda _p, first, last: self.seen.append(("inserted", first, last)))
        model.dataChanged.connect(
            lambda tl, br, _roles: self.seen.append(("changed", tl.row(), br.row(), tl.column(), br.column()))
        )


def test_format_age() -> None:
    assert [format_age(s) for s in (-1, 0.25, 42, 3725, 7500)] == ["0.0 s", "0.2 s", "42 s", "1 h 2 min", "2 h 5 min"]
    assert format_age(125) == "2 min 5 s"


def test_flat_model_diffs_rows(qtmodeltester: ModelTester) -> None:
    model = TaskTableModel()
    qtmodeltester.check(model)  # the tester stays attached and checks every signal below
    signals = Signals(model)
    first = [snap(i) for i in range(1, 6)]
    model.update(first, T0)
    assert model.rowCount() == 5
    assert signals.seen == [("inserted", 0, 4)]
    signals.seen.clear()

    moved = first[3]._replace(where="core/x.py:99 in run")
    model.update([first[0], first[2], moved, first[4], snap(6)], T0 + 1)
    assert signals.seen == [
        ("removed", 1, 1),  # task 2 ended
        ("changed", 2, 2, 0, 6),  # only task 4 moved: one row, all columns
        ("inserted", 4, 4),  # task 6 is new
    ]  # no signal for the ages that moved on: their order never changes; the panel repaints instead
    assert [model.snapshot(r).id for r in range(model.rowCount())] == [1, 3, 4, 5, 6]
    assert model.data(model.index(2, 5)) == "core/x.py:99 in run"
    assert model.data(model.index(0, AGE)) == "2.0 s"
    assert model.data(model.index(0, AGE), SORT_ROLE) == -(T0 - 1), "age sorts by start time"
    assert model.data(model.index(0, NAME), TASK_ID_ROLE) == 1
    assert model.headerData(NAME, Qt.Orientation.Horizontal) == "Name"
    model.update([], T0 + 2)
    assert model.rowCount() == 0


def test_unowned_and_critical_tasks_are_marked() -> None:
    model = TaskTableModel()
    model.update([snap(1, ""), snap(2, "hub", state="cancelling")], T0)
    assert model.data(model.index(0, OWNER)) == "(unowned)"
    assert model.data(model.index(1, NAME), Qt.ItemDataRole.FontRole).bold()
    assert "cancelling asks first" in model.data(model.index(1, NAME), Qt.ItemDataRole.ToolTipRole)
    assert model.data(model.index(1, STATE), Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(model.index(0, STATE), Qt.ItemDataRole.ForegroundRole) is None


def test_grouped_model_keeps_owners_and_their_tasks(qtmodeltester: ModelTester) -> None:
    model = GroupedTaskModel()
    qtmodeltester.check(model)
    model.update([snap(1, "downloads"), snap(2, "hub"), snap(3, "downloads"), snap(4, "")], T0)
    owners = [model.data(model.index(r, NAME)) for r in range(model.rowCount())]
    assert owners == ["downloads", "hub", "(unowned)"]
    downloads = model.index(0, 0)
    assert model.rowCount(downloads) == 2
    assert model.data(model.index(0, WHAT)) == "2 tasks"
    child = model.index(1, NAME, downloads)
    assert model.data(child) == "downloads:3"
    assert model.parent(child) == downloads
    assert model.data(downloads, TASK_ID_ROLE) is None

    # the hub's only task ends, a new owner appears, downloads loses one task and gains another
    model.update([snap(3, "downloads"), snap(4, ""), snap(5, "chat"), snap(6, "downloads")], T0 + 1)
    owners = [model.data(model.index(r, NAME)) for r in range(model.rowCount())]
    assert owners == ["downloads", "(unowned)", "chat"]
    downloads = model.index(0, 0)
    assert [model.snapshot(model.index(r, 0, downloads)).id for r in range(model.rowCount(downloads))] == [3, 6]
    assert model.snapshot(downloads) is None
    chat_task = model.index(0, 0, model.index(2, 0))
    assert model.parent(chat_task).row() == 2, "a child finds its owner row after other owners left"
    model.update([], T0 + 2)
    assert model.rowCount() == 0
    assert model.rowCount(QModelIndex()) == 0


def test_the_proxy_filters_by_text_and_owner_on_both_models(qtmodeltester: ModelTester) -> None:
    tasks = [snap(1, "downloads"), snap(2, "hub"), snap(3, "downloads", name="download:big.iso"), snap(4, "")]
    flat, grouped = TaskTableModel(), GroupedTaskModel()
    flat.update(tasks, T0)
    grouped.update(tasks, T0)
    proxy = TaskFilterProxy()
    proxy.setSourceModel(flat)
    qtmodeltester.check(proxy)

    def names() -> list[str]:
        found = []
        for row in range(proxy.rowCount()):
            top = proxy.index(row, 0)
            if proxy.rowCount(top):
                found += [proxy.data(proxy.index(r, 0, top)) for r in range(proxy.rowCount(top))]
            else:
                found.append(proxy.data(top))
        return sorted(found)

    assert names() == ["download:big.iso", "downloads:1", "hub:2", "task:4"]
    proxy.set_filter("BIG", None)
    assert names() == ["download:big.iso"]
    proxy.set_filter("", "hub")
    assert names() == ["hub:2"]
    proxy.set_filter("", "")  # unowned only
    assert names() == ["task:4"]
    proxy.set_filter("x.py:1 ", None)  # matches the Where column
    assert names() == ["downloads:1"]

    proxy.setSourceModel(grouped)
    proxy.set_filter("big", None)
    assert proxy.rowCount() == 1, "only the owner with a matching task stays"
    assert names() == ["download:big.iso"]
    proxy.set_filter("", "downloads")
    assert names() == ["download:big.iso", "downloads:1"]
    proxy.set_filter("", None)
    assert proxy.rowCount() == 3


def test_the_proxy_sorts_by_age_numerically() -> None:
    model = TaskTableModel()
    model.update([snap(1), snap(2), snap(10)], T0)  # ages 1 s, 2 s, 10 s
    proxy = TaskFilterProxy()
    proxy.setSourceModel(model)
    proxy.sort(AGE, Qt.SortOrder.DescendingOrder)
    assert [proxy.data(proxy.index(r, AGE)) for r in range(3)] == ["10 s", "2.0 s", "1.0 s"]
