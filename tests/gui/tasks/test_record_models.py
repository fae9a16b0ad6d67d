from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from core.monitor import STYLES, BlockRecord, FinishedTask, FrameLine, LabProgress, LabResult
from gui.tasks.record_models import RECORD_ROLE, BlockTableModel, FinishedTableModel, LabResultModel
from gui.tasks.task_models import SORT_ROLE

T0 = 1_800_000_000.0


def finished(n: int, outcome: str = "result") -> FinishedTask:
    tb = "Traceback (most recent call last):\n  ...\nValueError: bad" if outcome == "exception" else ""
    return FinishedTask(n, f"job:{n}", "downloads" if n % 2 else "", "a job", T0 + n, T0 + n + 1.5, outcome, "42", tb)


def test_finished_tasks_newest_first_and_bounded(qtmodeltester: ModelTester) -> None:
    model = FinishedTableModel(limit=5)
    qtmodeltester.check(model)
    model.add([finished(1), finished(2)])
    model.add([finished(n) for n in range(3, 9)])  # 6 more: only 5 are kept, the newest
    assert model.rowCount() == 5
    assert [model.record(r).id for r in range(5)] == [8, 7, 6, 5, 4]
    assert model.data(model.index(0, 1)) == "job:8"
    assert model.data(model.index(0, 2)) == "(unowned)"
    assert model.data(model.index(1, 2)) == "downloads"
    assert model.data(model.index(0, 5)) == "1.5 s"
    assert model.data(model.index(0, 5), SORT_ROLE) == 1.5
    assert model.data(model.index(0, 0), RECORD_ROLE) == finished(8)
    assert model.headerData(3, Qt.Orientation.Horizontal) == "Outcome"


def test_a_failed_task_is_red_and_its_tooltip_is_the_traceback() -> None:
    model = FinishedTableModel(limit=10)
    model.add([finished(1, "exception"), finished(2)])
    failed = model.index(1, 3)
    assert model.data(failed) == "exception"
    assert model.data(failed, Qt.ItemDataRole.ForegroundRole) is not None
    assert model.data(failed, Qt.ItemDataRole.ToolTipRole).endswith("ValueError: bad")
    assert model.data(model.index(0, 3), Qt.ItemDataRole.ForegroundRole) is None


def test_blocks_show_duration_and_where(qtmodeltester: ModelTester) -> None:
    model = BlockTableModel(limit=3)
    qtmodeltester.check(model)
    stack = (FrameLine("/app/x.py", 7, "handler", "time.sleep(0.3)"),)
    model.add([BlockRecord(1, T0, 312.4, 100, "x.py:7 in handler", stack)])
    assert [model.data(model.index(0, c)) for c in (1, 2)] == ["312 ms", "x.py:7 in handler"]
    assert "time.sleep(0.3)" in model.data(model.index(0, 2), Qt.ItemDataRole.ToolTipRole)


def result(key: str, lag: float) -> LabResult:
    style = next(s for s in STYLES if s.key == key)
    return LabResult(style, 20, 50, 1.234, 20 if key in ("callbacks", "gather") else 1, lag)


def test_lab_results_fill_the_four_rows(qtmodeltester: ModelTester) -> None:
    model = LabResultModel()
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    assert [model.data(model.index(r, 0)) for r in range(4)] == [s.title for s in STYLES]
    assert model.data(model.index(0, 1)) == "—"
    model.set_progress(LabProgress(True, "blocking", (), "running"))
    assert model.data(model.index(0, 1)) == "running…"
    model.set_progress(LabProgress(True, "threads", (result("blocking", 1100.0),), "running"))
    assert [model.data(model.index(0, c)) for c in range(1, 5)] == [
        "1.23 s",
        "1 at once",
        "1100 ms",
        "20 fetches, 50 ms each",
    ]
    assert model.data(model.index(1, 1)) == "running…"
    assert model.result(0) == result("blocking", 1100.0)
    assert model.result(2) is None
    assert model.data(model.index(3, 0), Qt.ItemDataRole.ToolTipRole) == STYLES[3].explanation
    failed = LabResult(STYLES[3], 20, 50, 0.1, 3, 2.0, "ConnectionRefusedError: no server")
    model.set_progress(LabProgress(False, "", (result("blocking", 1100.0), failed), "done"))
    assert model.data(model.index(3, 4)) == "ConnectionRefusedError: no server"
    model.set_progress(LabProgress(True, "blocking", (), "again"))
    assert model.result(0) is None, "a new run clears the table"
