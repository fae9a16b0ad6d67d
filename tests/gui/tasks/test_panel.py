"""The Tasks tab on a real monitor: the table, the detail pane, cancel (asking first), filters, export, blocks."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.monitor import TaskSnapshot
from gui.tasks.panel import TasksPanel
from gui.tasks.task_models import TASK_ID_ROLE
from tests.conftest import LoopRunner
from tests.core.monitor.helpers import line_of
from tests.gui.tasks.conftest import TabRig
from tests.helpers import wait_until


def shown_names(panel: TasksPanel) -> list[str]:
    """Names of the tasks the view shows (flat or grouped)."""
    proxy, names = panel.proxy, []
    for row in range(proxy.rowCount()):
        top = proxy.index(row, 0)
        if proxy.data(top, TASK_ID_ROLE) is None:
            names += [proxy.data(proxy.index(r, 0, top)) for r in range(proxy.rowCount(top))]
        else:
            names.append(proxy.data(top))
    return names


async def parked(gate: asyncio.Event) -> None:
    await gate.wait()  # parked-in-the-tab


def select(rig: TabRig, name: str) -> TaskSnapshot:
    snap = next(
        rig.panel.task_model.snapshot(r)
        for r in range(rig.panel.task_model.rowCount())
        if rig.panel.task_model.snapshot(r).name == name
    )
    assert rig.panel.select_task(snap.id)
    return snap


def test_tasks_show_up_with_owner_what_and_the_stack(
    qloop: LoopRunner, rig: TabRig, qtmodeltester: ModelTester
) -> None:
    qtmodeltester.check(rig.panel.proxy)  # stays attached while the live updates below arrive

    async def scenario() -> None:
        await rig.start()
        gate = asyncio.Event()
        rig.jobs.start(parked(gate), name="download:42", what="download 42 from example.org")
        await wait_until(lambda: "download:42" in shown_names(rig.panel), what="the task in the table")
        snap = select(rig, "download:42")
        assert rig.panel.selected_task() == snap
        assert rig.panel.cancel_button.isEnabled()
        text = rig.panel.detail.toPlainText()
        assert text.startswith("download:42 — download 42 from example.org\nowner: downloads · state: suspended")
        assert f"line {line_of(__file__, 'parked-in-the-tab')}, in parked" in text
        assert "await gate.wait()  # parked-in-the-tab" in text
        await wait_until(lambda: "loop lag p99" in rig.panel.status_label.text(), timeout=3, what="the lag summary")
        assert rig.panel.status_label.text().startswith("tasks: ")
        gate.set()
        await wait_until(lambda: "download:42" not in shown_names(rig.panel), what="the task to leave the table")
        await wait_until(lambda: rig.panel.finished_model.rowCount() > 0, what="the finished list")
        await rig.stop()

    qloop.run(scenario())
    names = [rig.panel.finished_model.record(r).name for r in range(rig.panel.finished_model.rowCount())]
    assert "download:42" in names


def test_cancel_from_the_tab(qloop: LoopRunner, rig: TabRig) -> None:
    async def scenario() -> asyncio.Task[None]:
        await rig.start()
        task = rig.jobs.start(parked(asyncio.Event()), name="download:7")
        await wait_until(lambda: "download:7" in shown_names(rig.panel), what="the task in the table")
        select(rig, "download:7")
        assert rig.panel.cancel_selected() is None, "an ordinary task is cancelled without a question"
        await asyncio.wait([task])
        await wait_until(lambda: rig.panel.finished_model.rowCount() > 0, what="the finished list")
        await rig.stop()
        return task

    task = qloop.run(scenario())
    assert task.cancelled()
    record = rig.panel.finished_model.record(0)
    assert (record.name, record.outcome, record.detail) == ("download:7", "cancelled", "cancelled from the Tasks tab")
    assert "cancel requested for task" in rig.panel.message.text()
    rig.panel.finished_view.setCurrentIndex(rig.panel.finished_model.index(0, 0))
    assert "outcome: cancelled: cancelled from the Tasks tab" in rig.panel.detail.toPlainText()


def test_a_critical_task_is_cancelled_only_after_yes(qloop: LoopRunner, rig: TabRig) -> None:
    async def scenario() -> asyncio.Task[None]:
        await rig.start()
        task = rig.jobs.start(parked(asyncio.Event()), name="hub:accept", what="accepts peers", critical=True)
        await wait_until(lambda: "hub:accept" in shown_names(rig.panel), what="the task in the table")
        select(rig, "hub:accept")
        box = rig.panel.cancel_selected()
        assert isinstance(box, QMessageBox)
        assert box.isVisible(), "open(), not exec(): the loop keeps running while it asks"
        assert box.text() == "“hub:accept” (accepts peers) is a task Squall relies on."
        box.button(QMessageBox.StandardButton.No).click()  # answered at once: buttonClicked is a direct call
        await asyncio.sleep(0)  # and one loop turn for anything it might have scheduled
        assert not task.done()
        assert not task.cancelling()
        box = rig.panel.cancel_selected()
        assert box is not None
        box.button(QMessageBox.StandardButton.Yes).click()
        await asyncio.wait([task], timeout=5)
        await rig.stop()
        return task

    assert qloop.run(scenario()).cancelled()


def test_filter_by_text_and_owner_and_group_by_owner(qloop: LoopRunner, rig: TabRig, qtbot: QtBot) -> None:
    from core.supervisor import Supervisor

    async def scenario() -> None:
        await rig.start()
        chat = Supervisor("chat", registry=rig.registry)
        gate = asyncio.Event()
        rig.jobs.start(parked(gate), name="download:big.iso")
        rig.jobs.start(parked(gate), name="download:small.txt")
        chat.start(parked(gate), name="chat:peer:bob")
        await wait_until(lambda: {"download:big.iso", "chat:peer:bob"} <= set(shown_names(rig.panel)), what="tasks")
        qtbot.keyClicks(rig.panel.filter_edit, "BIG")
        assert shown_names(rig.panel) == ["download:big.iso"]
        rig.panel.filter_edit.clear()
        rig.panel.owner_combo.setCurrentIndex(rig.panel.owner_combo.findText("chat"))
        assert shown_names(rig.panel) == ["chat:peer:bob"]
        rig.panel.owner_combo.setCurrentIndex(0)
        select(rig, "download:small.txt")
        rig.panel.group_box.setChecked(True)
        assert rig.panel.view.rootIsDecorated()
        owners = [rig.panel.proxy.data(rig.panel.proxy.index(r, 0)) for r in range(rig.panel.proxy.rowCount())]
        assert {"downloads", "chat", "monitor"} <= set(owners)
        selected = rig.panel.selected_task()
        assert selected is not None
        assert selected.name == "download:small.txt", "the selection survives grouping"
        grouped_at = rig.panel.task_model.taken_at
        model = rig.panel.task_model
        await wait_until(lambda: model.taken_at > grouped_at + 0.15, what="a few live updates into the grouped view")
        assert set(shown_names(rig.panel)) >= {"download:big.iso", "download:small.txt", "chat:peer:bob"}
        hub = Supervisor("hub", registry=rig.registry)
        hub.start(parked(gate), name="hub:accept")  # a new owner appears while grouped: its row opens by itself
        await wait_until(lambda: "hub:accept" in shown_names(rig.panel), what="the new owner's task")
        proxy = rig.panel.proxy
        hub_row = next(r for r in range(proxy.rowCount()) if proxy.data(proxy.index(r, 0)) == "hub")
        assert rig.panel.view.isExpanded(proxy.index(hub_row, 0))
        rig.panel.set_grouped(False)
        assert not rig.panel.group_box.isChecked()
        gate.set()
        await chat.stop(1)
        await hub.stop(1)
        await rig.stop()

    qloop.run(scenario())


def test_export_through_the_dialog(qloop: LoopRunner, rig: TabRig, tmp_path: Path) -> None:
    target = tmp_path / "exported.json"

    async def scenario() -> None:
        await rig.start()
        await wait_until(lambda: rig.panel.task_model.rowCount() > 0, what="a sample")
        dialog = rig.panel.ask_export()
        assert isinstance(dialog, QFileDialog)
        assert dialog.isVisible()
        dialog.selectFile(str(target))
        dialog.accept()
        await wait_until(lambda: rig.panel.message.text().startswith("trace with"), what="the export notice")
        await rig.stop()

    qloop.run(scenario())
    events = json.loads(target.read_text(encoding="utf-8"))["traceEvents"]
    assert any(e.get("name") == "monitor:heartbeat" and e["ph"] == "b" for e in events)
    assert f"written to {target}" in rig.panel.message.text()


def block_the_loop() -> None:
    time.sleep(0.25)  # the-tab-names-me


def test_a_block_is_listed_with_its_stack_and_the_threshold_is_a_setting(qloop: LoopRunner, rig: TabRig) -> None:
    async def scenario() -> None:
        await rig.start()
        rig.panel.threshold_spin.setValue(120)
        assert rig.settings.get("monitor.block_threshold_ms") == 120
        assert rig.monitor.block_threshold_ms == 120
        assert rig.panel.lag_plot.threshold_ms == 120
        await rig.monitor.heartbeat.next_beat()
        block_the_loop()
        await wait_until(lambda: rig.panel.block_model.rowCount() == 1, what="the block in the list")
        await rig.stop()

    qloop.run(scenario())
    model = rig.panel.block_model
    where = model.data(model.index(0, 2))
    assert where == f"tests/gui/tasks/test_panel.py:{line_of(__file__, 'the-tab-names-me')} in block_the_loop"
    rig.panel.block_view.setCurrentIndex(model.index(0, 0))
    assert "time.sleep(0.25)  # the-tab-names-me" in rig.panel.detail.toPlainText()


@pytest.mark.allow_logs(r"could not write the trace")
def test_errors_from_commands_are_shown_not_raised(qloop: LoopRunner, rig: TabRig, tmp_path: Path) -> None:
    async def scenario() -> None:
        await rig.start()
        gate = asyncio.Event()
        task = rig.jobs.start(parked(gate), name="download:gone")
        await wait_until(lambda: "download:gone" in shown_names(rig.panel), what="the task")
        select(rig, "download:gone")
        rig.panel.timer.stop()  # keep the row on screen after its task ends, as between two refreshes
        gate.set()
        await task
        rig.panel.cancel_selected()
        assert "is not running any more" in rig.panel.message.text()
        rig.panel.export_to(str(tmp_path / "no" / "such" / "dir.json"))
        await wait_until(lambda: "could not write the trace" in rig.panel.message.text(), what="the export error")
        await rig.stop()

    qloop.run(scenario())
    assert rig.panel.message.text().endswith("choose a folder you can write to")
    assert Qt.TextFormat.PlainText == rig.panel.message.textFormat()
