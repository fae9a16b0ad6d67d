"""Adding downloads to the real tab: typing, pasting a list, dropping links or text; bad URLs, duplicates, checksums.

UI events are sent from inside the scenario coroutines: in the app every click arrives while the loop runs, and
the engine's commands start tasks on it.
"""

from __future__ import annotations

import hashlib

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QMainWindow, QTabWidget, QWidget
from pytestqt.qtbot import QtBot

from gui.downloads.table_model import NAME, PROGRESS, STATE
from tests.conftest import LoopRunner
from tests.gui.downloads.conftest import TabRig


def cell(rig: TabRig, download_id: int, column: int) -> str:
    row = rig.model.row_of(download_id)
    assert row is not None
    return str(rig.model.data(rig.model.index(row, column)))


def drop(target: QWidget, mime: QMimeData) -> bool:
    """Deliver a drag-enter and a drop at the middle of target, as Qt would; True when the drop was taken."""
    where = QPointF(target.rect().center())
    action = Qt.DropAction.CopyAction
    enter = QDragEnterEvent(where.toPoint(), action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, enter)
    if not enter.isAccepted():
        return False
    event = QDropEvent(where, action, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(target, event)
    return event.isAccepted()


def test_typing_a_url_and_pressing_enter_downloads_it_to_100_percent(
    qtbot: QtBot, qloop: LoopRunner, rig: TabRig
) -> None:
    data = rig.server.add("typed.bin", 300_000)
    field = rig.panel.add_bar.field

    async def scenario() -> int:
        qtbot.keyClicks(field, rig.server.url("/f/typed.bin"))
        qtbot.keyClick(field, Qt.Key.Key_Return)
        assert field.toPlainText() == "", "an added URL leaves the field"
        assert not rig.panel.add_bar.message.isVisible()
        (download_id,) = [p.id for p in rig.engine.items()]
        await rig.until_state(download_id, "completed")
        return download_id

    download_id = rig.run(scenario(), timeout=20)
    assert cell(rig, download_id, PROGRESS) == "100%"
    assert cell(rig, download_id, STATE) == "completed"
    assert cell(rig, download_id, NAME) == "typed.bin"
    assert (rig.folder / "typed.bin").read_bytes() == data
    assert rig.panel.selected()[0].id == download_id, "the new row is selected so the user sees where it went"
    assert rig.panel.status_label.text().startswith("↓ 0 B/s · 0 active · 0 queued")


def test_pasting_a_list_adds_every_url_and_keeps_what_cannot_be_added(
    qtbot: QtBot, qloop: LoopRunner, rig: TabRig
) -> None:
    for n in range(3):
        rig.server.add(f"p{n}.bin", 20_000)
    digest = hashlib.sha256(rig.server.state.files["p1.bin"]).hexdigest()
    field = rig.panel.add_bar.field
    urls: list[str] = []

    async def scenario() -> list[int]:
        urls.extend(rig.server.url(f"/f/p{n}.bin") for n in range(3))  # the port is known once the server is up
        listing = f"{urls[0]}\n{digest}  {urls[1]}\n\nftp://example.org/nope\n{urls[2]}\n{urls[0]}\n"
        QGuiApplication.clipboard().setText(listing)
        field.setFocus()
        qtbot.keyClick(field, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
        assert field.toPlainText() == listing
        qtbot.mouseClick(rig.panel.add_bar.add_button, Qt.MouseButton.LeftButton)
        ids = sorted(p.id for p in rig.engine.items())
        for download_id in ids:
            await rig.until_state(download_id, "completed")
        return ids

    ids = rig.run(scenario(), timeout=20)
    assert len(ids) == 3
    assert field.toPlainText() == "ftp://example.org/nope", "the refused line stays to be fixed"
    assert rig.panel.add_bar.message.text().splitlines() == [
        "'ftp://example.org/nope' has 'ftp:'; only http:// and https:// URLs can be downloaded",
        f"{urls[0]} was given more than once; it is added once",
    ]
    assert rig.row(ids[1]).sha256_expected == digest
    assert cell(rig, ids[1], STATE) == "completed, SHA-256 matches"
    assert not rig.panel.offer.isVisible(), "links now in the list are no longer offered from the clipboard"


def test_dropping_links_or_text_on_the_tab_or_anywhere_on_the_window(
    qtbot: QtBot, qloop: LoopRunner, rig: TabRig
) -> None:
    for name in ("d1.bin", "d2.bin", "d3.bin", "d4.bin"):
        rig.server.add(name, 10_000)
    window = QMainWindow()
    qtbot.addWidget(window)
    tabs = QTabWidget()
    other = QLabel("another tab")

    async def scenario() -> list[int]:
        links = QMimeData()
        links.setUrls([QUrl(rig.server.url("/f/d1.bin")), QUrl(rig.server.url("/f/d2.bin"))])
        links.setText(rig.server.url("/f/d1.bin"))  # browsers send the link as text too
        assert drop(rig.panel.view.viewport(), links), "the list takes the drop"
        text = QMimeData()
        text.setText(f"see {rig.server.url('/f/d3.bin')}\n")
        assert drop(rig.panel.view.viewport(), text)
        message = rig.panel.add_bar.message.text()
        assert message == "'see' has no scheme; only http:// and https:// URLs can be downloaded"
        assert sorted(p.url.rsplit("/", 1)[1] for p in rig.engine.items()) == ["d1.bin", "d2.bin", "d3.bin"]

        # the same drop onto another tab of a window holding the panel
        tabs.addTab(rig.panel, "Downloads")
        tabs.addTab(other, "Chat")
        window.setCentralWidget(tabs)
        window.show()
        tabs.setCurrentWidget(other)
        more = QMimeData()
        more.setUrls([QUrl(rig.server.url("/f/d4.bin")), QUrl("file:///etc/passwd")])
        assert drop(other, more), "a drop anywhere on the window reaches the downloads"
        assert tabs.currentWidget() is rig.panel, "and brings the Downloads tab to the front"
        assert "'file:///etc/passwd' has 'file:'" in rig.panel.add_bar.message.text()
        nothing = QMimeData()
        nothing.setData("application/x-thing", b"\0")
        assert not drop(rig.panel.view.viewport(), nothing), "a drop with neither links nor text is refused"
        ids = [p.id for p in rig.engine.items()]
        for download_id in ids:
            await rig.until_state(download_id, "completed")
        return ids

    assert len(rig.run(scenario(), timeout=20)) == 4
    tabs.removeTab(0)
    rig.panel.setParent(None)  # back to the rig, which closes it after stopping the engine


def test_bad_input_says_what_is_wrong_inline(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    bar = rig.panel.add_bar

    async def scenario() -> None:
        qtbot.mouseClick(bar.add_button, Qt.MouseButton.LeftButton)
        assert bar.message.isVisible()
        assert bar.message.text() == "Type or paste an http:// or https:// URL first (or drop a link here)."
        qtbot.keyClicks(bar.field, "example.org/file.iso")
        qtbot.keyClick(bar.field, Qt.Key.Key_Return)
        assert bar.message.text().startswith("'example.org/file.iso' has no scheme; only http:// and https://")
        assert bar.field.toPlainText() == "example.org/file.iso"
        bar.field.setPlainText("http://a.example/1\nhttp://a.example/2")
        bar.sha_edit.setText("ab" * 32)
        qtbot.keyClick(bar.sha_edit, Qt.Key.Key_Return)
        assert bar.message.text().startswith("the SHA-256 field is for one URL")
        assert bar.field.toPlainText() == "http://a.example/1\nhttp://a.example/2", "nothing added, nothing lost"
        assert bar.sha_edit.text() == "ab" * 32
        bar.sha_edit.setText("12345")
        qtbot.mouseClick(bar.add_button, Qt.MouseButton.LeftButton)
        assert "'12345' is not a SHA-256: give 64 hexadecimal digits" in bar.message.text()

    rig.run(scenario())
    assert rig.engine.items() == []


def test_duplicates_are_flagged_and_only_added_again_on_purpose(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    data = rig.server.add("dup.bin", 150_000)
    bar = rig.panel.add_bar

    async def scenario() -> tuple[int, int]:
        url = rig.server.url("/throttle/dup.bin?bps=300000")
        (first,) = rig.panel.add_text(url)
        await rig.until_state(first, "downloading")
        assert rig.panel.add_text(f"{url}\n") == []
        assert bar.message.text() == "dup.bin is already in the list (downloading); it is not added twice"
        assert not bar.again_button.isVisible(), "an unfinished one cannot be added twice"
        assert [p.id for p in rig.panel.selected()] == [first], "the row it duplicates is selected"
        await rig.until_state(first, "completed")

        qtbot.keyClicks(bar.field, url)
        qtbot.keyClick(bar.field, Qt.Key.Key_Return)
        assert bar.message.text() == "dup.bin was downloaded before (completed); add it again only if you mean to"
        assert bar.again_button.isVisible()
        assert bar.again_button.text() == "Add it again"
        assert len(rig.engine.items()) == 1
        qtbot.mouseClick(bar.again_button, Qt.MouseButton.LeftButton)
        assert not bar.message.isVisible()
        (second,) = [p.id for p in rig.engine.items() if p.id != first]
        await rig.until_state(second, "completed")
        return first, second

    _first, second = rig.run(scenario(), timeout=20)
    assert rig.row(second).name == "dup (1).bin", "the first file is never overwritten"
    assert (rig.folder / "dup (1).bin").read_bytes() == (rig.folder / "dup.bin").read_bytes() == data


def test_a_wrong_checksum_fails_the_download_with_the_reason(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    rig.server.add("sum.bin", 5_000)
    bar = rig.panel.add_bar

    async def scenario() -> int:
        bar.field.setPlainText(rig.server.url("/f/sum.bin"))
        bar.sha_edit.setText("00" * 32)
        qtbot.mouseClick(bar.add_button, Qt.MouseButton.LeftButton)
        assert bar.sha_edit.text() == "", "a checksum that went with its URL is cleared too"
        (download_id,) = [p.id for p in rig.engine.items()]
        await rig.until_state(download_id, "failed")
        return download_id

    download_id = rig.run(scenario())
    assert cell(rig, download_id, STATE).startswith(f"failed: checksum mismatch: expected {'00' * 32}")
    assert "1 failed" in rig.panel.status_label.text()


def test_the_field_turns_dropped_links_into_lines(qtbot: QtBot, rig: TabRig) -> None:
    field = rig.panel.add_bar.field
    field.setPlainText("http://a.example/1")
    field.moveCursor(field.textCursor().MoveOperation.End)
    mime = QMimeData()
    mime.setUrls([QUrl("http://a.example/2"), QUrl("http://a.example/3")])
    assert field.canInsertFromMimeData(mime)
    field.insertFromMimeData(mime)
    assert field.toPlainText() == "http://a.example/1\nhttp://a.example/2\nhttp://a.example/3"
    qtbot.keyClick(field, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert field.toPlainText().endswith("\n"), "Shift+Enter starts a new line instead of adding"
    assert rig.engine.items() == []
