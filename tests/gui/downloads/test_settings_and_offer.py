"""The settings strip applied while downloads run, and the offer to add links found on the clipboard."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from tests.conftest import LoopRunner
from tests.gui.downloads.conftest import TabRig
from tests.helpers import wait_until


def test_connections_and_speed_limit_apply_while_downloads_run(qtbot: QtBot, rig: TabRig) -> None:
    strip = rig.panel.settings_strip
    assert (strip.concurrency_spin.value(), strip.per_host_spin.value(), strip.limit_spin.value()) == (4, 4, 0)
    assert strip.limit_spin.text() == "no speed limit"
    for name in ("s1.bin", "s2.bin"):
        rig.server.add(name, 3_000_000)

    async def scenario() -> None:
        strip.concurrency_spin.setValue(1)
        assert rig.engine.concurrency == 1
        first, second = rig.panel.add_text(
            "\n".join(rig.server.url(f"/throttle/{n}?bps=1000000") for n in ("s1.bin", "s2.bin"))
        )
        await rig.until_state(first, "downloading")
        assert rig.row(second).state.value == "queued", "one connection at a time"
        strip.concurrency_spin.setValue(2)
        await rig.until_state(second, "downloading", timeout=2)
        await wait_until(lambda: rig.tally_speed() > 600_000, timeout=5, what="full speed first")
        strip.limit_spin.setValue(100)  # KiB/s for both together
        assert rig.engine.rate_limit == 100 * 1024
        await wait_until(lambda: 0 < rig.tally_speed() < 160 * 1024, timeout=6, what="the total to drop to the limit")
        strip.limit_spin.setValue(0)
        assert rig.engine.rate_limit == 0
        strip.per_host_spin.setValue(3)
        assert rig.engine.per_host == 3
        for download_id in (first, second):
            rig.engine.cancel(download_id)
            await rig.until_state(download_id, "cancelled")

    rig.run(scenario(), timeout=30)
    assert (rig.prefs.concurrency, rig.prefs.per_host, rig.prefs.rate_limit) == (2, 3, 0), "and they are stored"
    rig.prefs.set_concurrency(3)  # changed elsewhere (another window, a script): the strip follows
    assert strip.concurrency_spin.value() == 3
    assert rig.engine.concurrency == 3


def test_a_folder_that_cannot_work_is_refused_in_words(qtbot: QtBot, rig: TabRig, tmp_path: Path) -> None:
    strip = rig.panel.settings_strip
    assert strip.folder_edit.text() == str(rig.folder)
    elsewhere = tmp_path / "elsewhere"
    strip.folder_edit.setText(f"  {elsewhere}/ ")
    strip.folder_edit.editingFinished.emit()
    assert rig.prefs.folder == elsewhere
    assert strip.folder_edit.text() == str(elsewhere)
    assert not strip.error.isVisible()
    (tmp_path / "a-file").write_text("x")
    strip.folder_edit.setText(str(tmp_path / "a-file"))
    strip.folder_edit.editingFinished.emit()
    assert strip.error.isVisible()
    assert strip.error.text() == f"{tmp_path / 'a-file'} is a file; choose a folder"
    assert strip.folder_edit.text() == str(elsewhere), "a refused folder goes back to the stored one"
    assert rig.prefs.folder == elsewhere


def test_new_downloads_go_to_the_folder_chosen_while_running(
    qtbot: QtBot, qloop: LoopRunner, rig: TabRig, tmp_path: Path
) -> None:
    rig.server.add("one.bin", 1_000)
    rig.server.add("two.bin", 1_000)
    strip = rig.panel.settings_strip
    second = tmp_path / "second"

    async def scenario() -> None:
        (first_id,) = rig.panel.add_text(rig.server.url("/f/one.bin"))
        await rig.until_state(first_id, "completed")
        dialog = strip.choose_folder()
        assert isinstance(dialog, QFileDialog)
        assert dialog.isVisible(), "opened with open(): nothing blocks"
        assert dialog.fileMode() == QFileDialog.FileMode.Directory
        dialog.fileSelected.emit(str(second))  # what choosing a folder and pressing Choose does
        dialog.close()
        (second_id,) = rig.panel.add_text(rig.server.url("/f/two.bin"))
        await rig.until_state(second_id, "completed")

    rig.run(scenario())
    assert (rig.folder / "one.bin").exists()
    assert (second / "two.bin").exists()
    assert rig.prefs.folder == second


def test_copied_links_are_offered_and_added_on_yes(qtbot: QtBot, qloop: LoopRunner, rig: TabRig) -> None:
    rig.server.add("c1.bin", 2_000)
    rig.server.add("c2.bin", 2_000)
    offer = rig.panel.offer

    async def scenario() -> None:
        (known,) = rig.panel.add_text(rig.server.url("/f/c1.bin"))
        await rig.until_state(known, "completed")
        clipboard = QGuiApplication.clipboard()
        clipboard.setText("nothing to see here")
        await wait_until(lambda: not offer.isVisible(), what="no offer for text without links")
        clipboard.setText(f"Mirror list: {rig.server.url('/f/c1.bin')} and {rig.server.url('/f/c2.bin')}.")
        await wait_until(offer.isVisible, what="the offer")
        assert offer.label.text() == f"1 link copied ({rig.server.url('/f/c2.bin')}): add it?", "c1 is in the list"
        qtbot.mouseClick(offer.add_button, Qt.MouseButton.LeftButton)
        assert not offer.isVisible()
        (added,) = [p.id for p in rig.engine.items() if p.id != known]
        await rig.until_state(added, "completed")
        assert rig.row(added).name == "c2.bin"

        clipboard.setText(f"{rig.server.url('/f/c3.bin')} {rig.server.url('/f/c4.bin')}")
        await wait_until(lambda: offer.label.text() == "2 links copied: add them?", what="a second offer")
        qtbot.mouseClick(offer.dismiss_button, Qt.MouseButton.LeftButton)
        assert not offer.isVisible()
        assert len(rig.engine.items()) == 2, "Not now adds nothing"

        clipboard.setText(rig.server.url("/f/c5.bin"))
        await wait_until(offer.isVisible, what="a third offer")
        qtbot.mouseClick(offer.never_button, Qt.MouseButton.LeftButton)
        assert rig.prefs.clipboard_offer is False
        assert not rig.panel.settings_strip.offer_box.isChecked(), "the strip shows the switch turned off"
        clipboard.setText(rig.server.url("/f/c6.bin"))
        assert not offer.isVisible()
        rig.panel.settings_strip.offer_box.setChecked(True)
        assert rig.prefs.clipboard_offer is True
        clipboard.setText(rig.server.url("/f/c7.bin"))
        await wait_until(offer.isVisible, what="offers again once switched back on")

    rig.run(scenario())
    assert len(rig.engine.items()) == 2
