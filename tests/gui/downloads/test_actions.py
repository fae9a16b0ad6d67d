"""Row actions on the real tab: the context menu (pause, resume, cancel), shortcuts, remove, open, copy, limits."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QContextMenuEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QInputDialog, QMenu, QMessageBox
from pytestqt.qtbot import QtBot

from core.downloads import State
from gui.downloads.table_model import NAME, PROGRESS, SPEED, STATE
from tests.conftest import LoopRunner
from tests.gui.downloads.conftest import TabRig
from tests.helpers import wait_until

# WORKAROUND: the offscreen platform plugin warns that it cannot raise a popup or grab the keyboard for it;
# harmless there (menus still show and take clicks), and absent on a real display.
pytestmark = pytest.mark.qt_log_ignore(
    r"This plugin does not support raise\(\)", "This plugin does not support grabbing the keyboard"
)


def row_point(rig: TabRig, download_id: int) -> QPoint:
    row = rig.model.row_of(download_id)
    assert row is not None
    index = rig.proxy_index(download_id)
    return rig.panel.view.visualRect(index).center()


def open_menu(rig: TabRig, download_id: int) -> QMenu:
    """Right-click the download's row, as the mouse would."""
    view = rig.panel.view
    where = row_point(rig, download_id)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, where, view.viewport().mapToGlobal(where))
    QApplication.sendEvent(view.viewport(), event)
    menu = rig.panel.actions.menu
    assert menu is not None
    assert menu.isVisible()
    return menu


def menu_entries(menu: QMenu) -> dict[str, bool]:
    return {a.text().replace("&", ""): a.isEnabled() for a in menu.actions() if not a.isSeparator()}


def click(qtbot: QtBot, menu: QMenu, label: str) -> None:
    action = next(a for a in menu.actions() if a.text().replace("&", "") == label)
    assert action.isEnabled(), f"{label} is disabled"
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton, pos=menu.actionGeometry(action).center())


def press(qtbot: QtBot, rig: TabRig, keys: str) -> None:
    """Press a shortcut with the list focused (row actions only work there)."""
    view = rig.panel.view
    view.setFocus()
    sequence = keys.split("+")
    modifiers = Qt.KeyboardModifier.NoModifier
    for name in sequence[:-1]:
        modifiers |= {"Ctrl": Qt.KeyboardModifier.ControlModifier, "Shift": Qt.KeyboardModifier.ShiftModifier}[name]
    key = {"Delete": Qt.Key.Key_Delete, ".": Qt.Key.Key_Period}.get(sequence[-1]) or getattr(
        Qt.Key, f"Key_{sequence[-1]}"
    )
    qtbot.keyClick(view, key, modifiers)


def test_pause_resume_and_cancel_from_the_context_menu(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    rig.server.add("big.bin", 2_000_000)

    async def scenario() -> None:
        url = rig.server.url("/throttle/big.bin?bps=400000")
        (download_id,) = rig.panel.add_text(url)
        await wait_until(lambda: (p := rig.shown(download_id)) is not None and p.received > 50_000, what="bytes")
        menu = open_menu(rig, download_id)
        entries = menu_entries(menu)
        assert list(entries) == [
            "Pause", "Resume", "Retry", "Cancel", "Open file", "Open folder", "Copy URL", "Speed limit…",
            "Remove from list", "Remove and delete file…",
        ]  # fmt: skip
        assert (entries["Pause"], entries["Resume"], entries["Retry"], entries["Open file"]) == (
            True, False, False, False,
        )  # fmt: skip
        click(qtbot, menu, "Pause")
        await rig.until_state(download_id, "paused", timeout=1)
        await wait_until(lambda: download_id not in rig.engine.active_ids(), timeout=1, what="the connection to go")
        held = rig.row(download_id).received

        menu = open_menu(rig, download_id)
        assert menu_entries(menu)["Pause"] is False
        click(qtbot, menu, "Resume")
        await wait_until(lambda: rig.row(download_id).received > held, timeout=2, what="bytes after resuming")
        resumed_from = rig.server.state.requests[-1][1]
        assert resumed_from is not None
        assert int(resumed_from.removeprefix("bytes=").rstrip("-")) > 0, "resumed with a Range"

        click(qtbot, open_menu(rig, download_id), "Cancel")
        await rig.until_state(download_id, "cancelled", timeout=1)
        await wait_until(lambda: not (rig.folder / "big.bin.part").exists(), timeout=2, what="the .part to go")
        assert menu_entries(open_menu(rig, download_id))["Retry"] is True
        rig.panel.actions.menu.close()

    rig.run(scenario(), timeout=20)
    assert rig.model.data(rig.model.index(0, STATE)) == "cancelled"


def test_the_menu_acts_on_every_selected_row(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    for n in range(3):
        rig.server.add(f"m{n}.bin", 1_000_000)

    async def scenario() -> list[int]:
        ids = rig.panel.add_text("\n".join(rig.server.url(f"/throttle/m{n}.bin?bps=200000") for n in range(3)))
        for download_id in ids:
            await rig.until_state(download_id, "downloading")
        assert rig.panel.select_ids(ids[:2]) == 2
        click(qtbot, open_menu(rig, ids[0]), "Pause")
        for download_id in ids[:2]:
            await rig.until_state(download_id, "paused", timeout=1)
        assert rig.row(ids[2]).state is State.DOWNLOADING, "the unselected one goes on"
        # right-clicking a row outside the selection selects it alone first
        click(qtbot, open_menu(rig, ids[2]), "Pause")
        await rig.until_state(ids[2], "paused", timeout=1)
        rig.panel.select_ids(ids)
        click(qtbot, open_menu(rig, ids[1]), "Cancel")
        for download_id in ids:
            await rig.until_state(download_id, "cancelled", timeout=2)
        return ids

    rig.run(scenario(), timeout=20)


def test_shortcuts_follow_the_selected_rows_state_between_clicks(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    """No menu opened: the actions (and so their shortcuts) change as the selected download runs and completes."""
    rig.server.add("s.bin", 300_000)
    actions = rig.panel.actions.actions

    async def scenario() -> None:
        (download_id,) = rig.panel.add_text(rig.server.url("/throttle/s.bin?bps=300000"))
        await rig.until_state(download_id, "downloading")
        assert rig.panel.select_ids([download_id]) == 1
        await wait_until(lambda: actions["pause"].isEnabled(), timeout=2, what="pause enabled while it runs")
        assert not actions["open_file"].isEnabled()
        await rig.until_state(download_id, "completed")
        await wait_until(lambda: actions["open_file"].isEnabled(), timeout=2, what="open file enabled once done")
        assert not actions["pause"].isEnabled()
        assert not actions["cancel"].isEnabled()

    rig.run(scenario(), timeout=20)


def test_retry_and_remove_with_shortcuts(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    data = rig.server.add("status", 4_000)
    rig.server.add("keep.bin", 3_000)
    rig.panel.activateWindow()

    async def scenario() -> None:
        await wait_until(rig.panel.isActiveWindow, what="the tab's window to be active (shortcuts need it)")
        (broken,) = rig.panel.add_text(rig.server.url("/status/404?after=1"))
        failed = await rig.until_state(broken, "failed")
        assert failed.error == "server said 404 Nope"
        rig.panel.select_ids([broken])
        press(qtbot, rig, "Ctrl+Shift+R")
        done = await rig.until_state(broken, "completed")
        assert done.name == "404", "named after the URL"
        assert (rig.folder / "404").read_bytes() == data

        (kept,) = rig.panel.add_text(rig.server.url("/f/keep.bin"))
        await rig.until_state(kept, "completed")
        rig.panel.select_ids([kept])
        press(qtbot, rig, "Delete")
        await wait_until(lambda: rig.shown(kept) is None, what="the row to go")
        assert (rig.folder / "keep.bin").exists(), "remove keeps the file"
        assert rig.panel.notice.text() == "removed 1 download from the list; files kept"

        rig.panel.select_ids([broken])
        press(qtbot, rig, "Shift+Delete")
        box = rig.panel.actions.dialog
        assert isinstance(box, QMessageBox)
        assert box.isVisible(), "asked with open(), the loop runs on"
        assert box.text() == "Remove “404” from the list and delete the file from disk?"
        box.button(QMessageBox.StandardButton.Cancel).click()
        assert rig.shown(broken) is not None
        press(qtbot, rig, "Shift+Delete")
        box = rig.panel.actions.dialog
        assert isinstance(box, QMessageBox)
        next(b for b in box.buttons() if b.text() == "Delete files").click()
        await wait_until(lambda: rig.shown(broken) is None and not (rig.folder / "404").exists(), what="deletion")
        assert rig.engine.items() == []
        assert rig.panel.status_label.text().startswith("↓ 0 B/s · 0 active · 0 queued")

    rig.run(scenario(), timeout=20)


def test_open_file_open_folder_and_copy_url(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    rig.server.add("a.txt", 100)
    rig.server.add("b.txt", 100)
    rig.panel.activateWindow()

    async def scenario() -> None:
        await wait_until(rig.panel.isActiveWindow, what="the tab's window to be active")
        ids = rig.panel.add_text(f"{rig.server.url('/f/a.txt')} {rig.server.url('/f/b.txt')}")
        for download_id in ids:
            await rig.until_state(download_id, "completed")
        rig.panel.select_ids(ids)
        press(qtbot, rig, "Ctrl+O")
        assert rig.opener.opened == [str(rig.folder / "a.txt")], "the first selected completed file"
        press(qtbot, rig, "Ctrl+Shift+O")
        assert rig.opener.opened[-1] == str(rig.folder)
        press(qtbot, rig, "Ctrl+C")
        assert QGuiApplication.clipboard().text() == f"{rig.server.url('/f/a.txt')}\n{rig.server.url('/f/b.txt')}"
        assert rig.panel.notice.text() == "copied 2 URLs"
        assert not rig.panel.offer.isVisible(), "links already in the list are not offered back"

        (rig.folder / "a.txt").unlink()
        rig.panel.view.doubleClicked.emit(rig.proxy_index(ids[0]))
        assert rig.panel.notice.text() == f"{rig.folder / 'a.txt'} is no longer there; it was moved or deleted"
        rig.opener.answer = False
        rig.panel.select_ids([ids[1]])
        press(qtbot, rig, "Ctrl+O")
        assert rig.panel.notice.text() == f"no program to open {rig.folder / 'b.txt'} was found"
        assert len(rig.opener.opened) == 3

    rig.run(scenario(), timeout=20)


def test_a_speed_limit_for_one_download(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    rig.server.add("slow.bin", 3_000_000)
    rig.panel.activateWindow()

    async def scenario() -> None:
        await wait_until(rig.panel.isActiveWindow, what="the tab's window to be active")
        (download_id,) = rig.panel.add_text(rig.server.url("/throttle/slow.bin?bps=1000000"))
        await rig.until_state(download_id, "downloading")
        rig.panel.select_ids([download_id])
        press(qtbot, rig, "Ctrl+L")
        dialog = rig.panel.actions.dialog
        assert isinstance(dialog, QInputDialog)
        assert dialog.isVisible()
        assert dialog.labelText() == "Speed limit for “slow.bin” in KiB/s (0: no limit of its own):"
        dialog.setIntValue(100)
        dialog.accept()
        assert rig.engine.get(download_id).rate_limit == 100 * 1024
        await wait_until(
            lambda: "(max 100.0 KiB/s)" in str(rig.model.data(rig.model.index(0, SPEED))),
            what="the limit in the Speed column",
        )
        await wait_until(lambda: 0 < rig.row(download_id).speed < 150 * 1024, timeout=5, what="the speed to drop")
        rig.engine.cancel(download_id)
        await rig.until_state(download_id, "cancelled")
        rig.panel.select_ids([download_id])
        assert rig.panel.actions.speed_limit() is None, "nothing to limit on a cancelled download"

    rig.run(scenario(), timeout=20)


def test_filter_and_sort_while_downloads_run(qtbot: QtBot, rig: TabRig) -> None:
    rig.server.add("alpha.iso", 2_000_000)
    rig.server.add("beta.iso", 2_000_000)
    rig.server.add("notes.txt", 1_000)
    panel = rig.panel
    rig.panel.activateWindow()

    def shown_names() -> list[str]:
        return [panel.proxy.data(panel.proxy.index(r, NAME)) for r in range(panel.proxy.rowCount())]

    async def scenario() -> None:
        await wait_until(panel.isActiveWindow, what="the tab's window to be active")
        alpha, beta, notes = panel.add_text(
            f"{rig.server.url('/throttle/alpha.iso?bps=150000')}\n{rig.server.url('/throttle/beta.iso?bps=450000')}\n"
            f"{rig.server.url('/f/notes.txt')}"
        )
        await rig.until_state(notes, "completed")
        await wait_until(lambda: rig.row(beta).received > 2 * rig.row(alpha).received > 0, what="beta to lead")
        qtbot.keyClick(panel, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
        assert panel.filter_edit.hasFocus(), "Ctrl+F goes to the filter"
        qtbot.keyClicks(panel.filter_edit, "ISO")
        assert shown_names() == ["alpha.iso", "beta.iso"]
        assert panel.shown_label.text() == "2 of 3 shown"
        panel.filter_edit.clear()
        panel.state_combo.setCurrentText("Completed")
        assert shown_names() == ["notes.txt"]
        panel.state_combo.setCurrentText("Active")
        assert shown_names() == ["alpha.iso", "beta.iso"]
        panel.view.sortByColumn(PROGRESS, Qt.SortOrder.DescendingOrder)  # what two clicks on the header do
        assert shown_names() == ["beta.iso", "alpha.iso"], "furthest along first"
        await rig.until_state(beta, "completed", timeout=10)
        await wait_until(lambda: shown_names() == ["alpha.iso"], what="a finished row to leave the Active filter")
        panel.state_combo.setCurrentText("All")
        assert shown_names()[2] == "alpha.iso", "the two at 100% first, while alpha still runs"
        qtbot.keyClick(panel, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
        assert panel.add_bar.field.hasFocus(), "Ctrl+N goes to the URL field"
        rig.engine.cancel(alpha)
        await rig.until_state(alpha, "cancelled")

    rig.run(scenario(), timeout=30)
