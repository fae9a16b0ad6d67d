"""A restart: a new AppCore on the same profile folder brings the list back as it was, and interrupted downloads
resume where they stopped (a Range request), through the real wiring of gui/features.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pytestqt.qtbot import QtBot

from core.app import AppCore
from core.downloads import State
from core.downloads.display import display_name
from core.downloads.preferences import DownloadPreferences
from core.profile import open_profile
from gui.downloads.panel import DownloadsPanel
from gui.features import downloads_feature
from tests.conftest import LoopRunner
from tests.core.downloads.faultserver import FaultServer
from tests.helpers import wait_until


def shown(panel: DownloadsPanel) -> dict[int, tuple[str, State]]:
    return {p.id: (display_name(p), p.state) for p in panel.model.snapshots()}


def test_a_restart_restores_the_list_and_resumes_what_was_interrupted(
    qtbot: QtBot, qloop: LoopRunner, tmp_path: Path
) -> None:
    server = FaultServer()
    big = server.add("big.bin", 1_500_000)
    server.add("small.bin", 3_000)
    server.add("later.bin", 500_000)
    folder = tmp_path / "downloads"

    async def first_run() -> dict[int, tuple[str, State]]:
        core = AppCore(open_profile(data_dir=tmp_path / "profile"))
        DownloadPreferences(core.settings).set_folder(folder)
        feature = downloads_feature(core)
        panel = feature.panel
        assert isinstance(panel, DownloadsPanel)
        qtbot.addWidget(panel)
        await core.start(feature.components)
        ids = panel.add_text(
            "\n".join([
                server.url("/f/small.bin"),
                server.url("/throttle/big.bin?bps=400000"),
                server.url("/throttle/later.bin?bps=100000"),
                server.url("/status/404"),
            ])
        )  # fmt: skip
        small, interrupted, paused, failed = ids
        await wait_until(
            lambda: (m := panel.model.by_id(small)) is not None and m.state is State.COMPLETED, what="small.bin"
        )
        await wait_until(
            lambda: (m := panel.model.by_id(failed)) is not None and m.state is State.FAILED, what="the 404"
        )
        await wait_until(lambda: panel.engine.get(interrupted).received > 150_000, what="some of big.bin")
        panel.engine.pause(paused)
        await wait_until(lambda: panel.engine.get(paused).state is State.PAUSED, what="the pause")
        await core.stop(1.5)  # what quitting the window does
        core.profile.release()
        panel.refresh()
        return shown(panel)

    async def second_run() -> tuple[dict[int, tuple[str, State]], DownloadsPanel]:
        core = AppCore(open_profile(data_dir=tmp_path / "profile"))
        feature = downloads_feature(core)
        panel = feature.panel
        assert isinstance(panel, DownloadsPanel)
        qtbot.addWidget(panel)
        await core.start(feature.components)
        await wait_until(lambda: panel.model.rowCount() == 4, what="the list to come back")
        restored = shown(panel)
        interrupted = next(i for i, (name, _state) in restored.items() if name == "big.bin")
        await wait_until(
            lambda: (m := panel.model.by_id(interrupted)) is not None and m.state is State.COMPLETED,
            timeout=15,
            what="big.bin to finish after the restart",
        )
        await core.stop(1.5)
        core.profile.release()
        return restored, panel

    async def scenario() -> tuple[dict[int, tuple[str, State]], dict[int, tuple[str, State]], DownloadsPanel]:
        await server.start()
        try:
            before = await first_run()
            requests_before = len(server.state.requests)
            after, panel = await second_run()
            resumed = [r for r in server.state.requests[requests_before:] if r[0] == "/throttle/big.bin"]
            assert resumed, "big.bin was asked for again"
            assert resumed[0][1] is not None
            assert int(resumed[0][1].removeprefix("bytes=").rstrip("-")) > 150_000
            assert resumed[0][2] is not None, "with If-Range, so a changed file is never appended to"
            return before, after, panel
        finally:
            await server.stop()

    before, after, panel = qloop.run(scenario(), timeout=40)
    names = [name for name, _state in before.values()]
    assert names == ["small.bin", "big.bin", "later.bin", "404"]
    assert list(after) == list(before), "the same downloads, same ids, same order"
    states_before = [state for _name, state in before.values()]
    states_after = [state for _name, state in after.values()]
    assert states_before == [State.COMPLETED, State.QUEUED, State.PAUSED, State.FAILED]
    assert states_after[0] is State.COMPLETED
    assert states_after[2:] == [State.PAUSED, State.FAILED]
    assert states_after[1] in (State.QUEUED, State.CONNECTING, State.DOWNLOADING), "the interrupted one goes on"
    assert hashlib.sha256((folder / "big.bin").read_bytes()).digest() == hashlib.sha256(big).digest()
    assert not (folder / "big.bin.part").exists()
    assert (folder / "later.bin.part").exists(), "the paused one keeps its .part for later"
    assert panel.notice.text() == "Download completed: big.bin (1.4 MiB)", "restored history is not announced"
