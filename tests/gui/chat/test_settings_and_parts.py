"""The Chat tab's settings (nick, Join a hub, a refused passphrase, Share on LAN), its models under qtmodeltester,
the notifier's words and the delegate's geometry."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import QDialog
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from core.chat.hub import Hub, HubConfig
from core.chat.hub.files import local_passphrase
from core.chat.transcript import Transcript
from core.chat.updates import ChatMessage, LinkState, PendingMessage
from gui.chat.join_dialog import JoinHubDialog
from gui.chat.message_model import MessageListModel
from gui.chat.notifier import ChatNotifier, words
from gui.chat.side_models import RoomListModel, UserListModel
from gui.tray import tray_available
from tests.core.chat.conftest import hub_rows
from tests.gui.chat.conftest import PanelRig


def test_the_nick_field_renames_and_refuses_bad_nicks(rig: PanelRig) -> None:
    panel = rig.panel

    async def scenario() -> None:
        bob, _ = await rig.person("bob")
        await rig.until(lambda: panel.users.users == ["ada", "bob"], "both in")
        panel.hub_bar.nick_edit.setText("ada lovelace")
        panel.hub_bar.nick_edit.editingFinished.emit()
        await rig.until(lambda: panel.users.users == ["ada lovelace", "bob"], "the new nick in the room")
        assert rig.prefs.nick == "ada lovelace"
        panel.client.say("lobby", "renamed")
        await rig.until(lambda: hub_rows(rig.folder) and hub_rows(rig.folder)[-1][1] == "ada lovelace", "signed")
        panel.hub_bar.nick_edit.setText(" padded ")
        panel.hub_bar.nick_edit.editingFinished.emit()
        assert "must not start or end with a space" in panel.notice.text()
        assert panel.hub_bar.nick_edit.text() == "ada lovelace", "the field goes back to the nick in use"
        assert bob.nick == "bob"

    rig.run(scenario)


def test_a_refused_passphrase_asks_without_blocking_and_a_good_one_joins(rig: PanelRig, qtbot: QtBot) -> None:
    panel = rig.panel
    dialog = panel.join_dialog

    async def scenario() -> None:
        # another hub, with a passphrase its owner chose (as on the LAN; loopback here)
        lan = Hub(HubConfig(data_dir=rig.tmp / "lan-hub", port=0, passphrase="open sesame"))
        await lan.start()
        try:
            await rig.until(lambda: panel.client.status.state is LinkState.CONNECTED, "connected to this computer")
            dialog.ask()
            dialog.address.setText("squall.lan:99999")
            assert dialog.try_join() is False
            assert "not a port" in dialog.message.text()
            assert dialog.isVisible(), "a mistake keeps the dialog open"
            other = f"localhost:{lan.port}"
            dialog.address.setText(other)
            dialog.passphrase.setText("wrong")
            assert dialog.try_join() is True
            assert not dialog.isVisible()
            await rig.until(lambda: panel.client.status.state is LinkState.REFUSED, "refused")
            await rig.until(dialog.isVisible, "asked again")
            assert "refused the passphrase" in dialog.message.text()
            assert dialog.address.text() == other
            assert "refused to sign you in" in panel.status_label.text()
            dialog.passphrase.setText("open sesame")
            assert dialog.try_join() is True
            await rig.until(lambda: panel.client.status.state is LinkState.CONNECTED, "connected with the passphrase")
            assert panel.client.target.address == other
            assert [h.address for h in rig.prefs.joined_hubs()] == [other]
            combo = panel.hub_bar.hub_combo
            assert [combo.itemData(i) for i in range(combo.count())] == [rig.address, other]
            assert combo.currentData() == other
            panel.choose_hub(rig.address)  # back to "This computer"
            back = rig.address
            await rig.until(
                lambda: panel.client.target.address == back and panel.client.status.state is LinkState.CONNECTED,
                "back on this computer's hub",
            )
            assert rig.prefs.start_target().address == rig.address, "and that is where the next start goes"
        finally:
            await panel.client.stop(1.0)
            await lan.stop(1.0)

    rig.run(scenario)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_share_on_lan_shows_the_address_and_passphrase_to_hand_out(rig: PanelRig) -> None:
    bar = rig.panel.hub_bar

    async def scenario() -> None:
        await rig.until(lambda: rig.panel.status_label.text() == "hosting the room", "hosting")
        assert bar.share_box.isEnabled()
        bar.share_box.setChecked(True)
        await rig.until(lambda: bar.lan_label.isVisibleTo(rig.panel), "the LAN line")
        assert rig.prefs.share_on_lan
        assert f":{rig.port} with the passphrase {local_passphrase(rig.folder)}" in bar.lan_label.text()
        await rig.until(lambda: "(shared on the LAN)" in rig.panel.status_label.text(), "the status bar says so")
        bar.share_box.setChecked(False)
        await rig.until(lambda: not bar.lan_label.isVisibleTo(rig.panel), "unshared")
        assert rig.hosting.hub is not None
        assert rig.hosting.hub.host == "127.0.0.1"

    rig.run(scenario)


def test_share_on_lan_is_off_limits_when_another_instance_hosts(rig: PanelRig) -> None:
    async def scenario() -> None:
        other = rig.make_hosting(mine=False)
        await other.start()  # the other instance got there first
        try:
            await rig.host()
            await rig.until(lambda: rig.panel.status_label.text() == f"connected to {rig.address}", "joined")
            assert not rig.panel.hub_bar.share_box.isEnabled()
        finally:
            await other.stop(1.0)
        await rig.until(lambda: rig.panel.status_label.text() == "hosting the room", "took over", timeout=10)
        assert rig.panel.hub_bar.share_box.isEnabled()

    rig.run(scenario, host=False)


def test_models_pass_the_model_tester(qtmodeltester: ModelTester) -> None:
    transcript = Transcript("lobby")
    model = MessageListModel()
    model.show(transcript)
    qtmodeltester.check(model)
    transcript.add([ChatMessage("lobby", i, "bob", f"m{i}", 1_800_000_000.0 + i * 40_000, f"c{i}") for i in (5, 6)])
    transcript.add([ChatMessage("lobby", i, "bob", f"m{i}", 1_800_000_000.0 + i * 40_000, f"c{i}") for i in (3, 4)],
                   older=True, more=True)  # fmt: skip
    transcript.add_pending(PendingMessage("p", "lobby", "pending", 1_800_400_000.0), "ada")
    transcript.add([ChatMessage("lobby", 7, "ada", "pending", 1_800_400_001.0, "p", own=True)])
    transcript.drop_oldest(1)
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    rooms = RoomListModel()
    rooms.set_rooms(["lobby", "dev"])
    rooms.add_unread("dev", 3)
    qtmodeltester.check(rooms)
    assert rooms.index(1, 0).data() == "#dev (3)"
    users = UserListModel()
    users.set_users(["ada", "bob\u202e"], "ada")
    qtmodeltester.check(users)
    assert [users.index(i, 0).data() for i in range(2)] == ["ada (you)", "bob\ufffd"]


def test_notifier_words_and_no_tray_icon_where_there_is_no_tray(qtbot: QtBot) -> None:
    one = ChatMessage("dev", 1, "bob", "x" * 300, 0.0, "c")
    title, body = words([one])
    assert title == "bob in #dev"
    assert len(body) == 160
    assert body.endswith("…")
    many = [ChatMessage("lobby", 2, "carol", "hi\nthere", 0.0, "d"), one]
    assert words(many)[0] == "2 new messages in #lobby, #dev"
    assert tray_available() is False, "offscreen has no system tray"
    statuses: list[str] = []
    notifier = ChatNotifier(lambda: False, statuses.append)
    assert notifier.announce([many[0]]) is True
    assert notifier.tray is None  # a QSystemTrayIcon here would make Qt warn (and fail this test)
    assert statuses == ["carol in #lobby: hi there"]


def test_a_day_separator_makes_a_row_taller_and_heights_follow_the_width(rig: PanelRig) -> None:
    delegate = rig.panel.view.delegate
    t = Transcript("lobby", day_of=lambda ts: date.fromordinal(738_000 + int(ts // 86_400)))
    t.add([ChatMessage("lobby", 1, "bob", "short", 10.0, "a"), ChatMessage("lobby", 2, "bob", "short", 20.0, "b")])
    first, second = t.rows
    assert first.day is not None
    assert second.day is None
    assert delegate.row_height(first, 600) > delegate.row_height(second, 600)
    long = Transcript("lobby")
    long.add([ChatMessage("lobby", 1, "bob", "word " * 200, 10.0, "c")])
    assert delegate.row_height(long.rows[0], 300) > delegate.row_height(long.rows[0], 900)


def test_the_join_dialog_wants_a_passphrase(qtbot: QtBot) -> None:
    dialog = JoinHubDialog()
    qtbot.addWidget(dialog)
    asked: list[tuple[str, str]] = []
    dialog.join_requested.connect(lambda a, p: asked.append((a, p)))
    dialog.ask()
    dialog.address.setText("192.168.1.20")
    assert dialog.try_join() is False
    assert "passphrase" in dialog.message.text()
    dialog.passphrase.setText(" sesame ")
    assert dialog.try_join() is True
    assert asked == [("192.168.1.20:8765", "sesame")]
