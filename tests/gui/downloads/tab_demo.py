"""Run the real window with the Downloads tab in front, mid-download; for the on-screen test.

    python -m tests.gui.downloads.tab_demo DATA_DIR

A test server on this process's loop serves the files. Prints "ready" once two downloads are part-way, others
have completed, one failed, one is paused and one waits to retry; exits 0 on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from core.app import AppCore
from core.downloads import State
from core.downloads.preferences import DownloadPreferences
from core.profile import open_profile
from gui.downloads.panel import DownloadsPanel
from gui.features import build_features, components_in_start_order
from gui.loop import new_loop
from gui.main_window import MainWindow
from gui.runtime import make_application
from tests.core.downloads.faultserver import FaultServer


async def until(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the demo did not get ready")
        await asyncio.sleep(0.05)


async def main(data_dir: Path) -> int:
    app = make_application()
    server = FaultServer()
    await server.start()
    for name, size in (("ubuntu-26.04-desktop-amd64.iso", 40_000_000), ("debian-13-netinst.iso", 30_000_000),
                       ("fedora-workstation.iso", 30_000_000), ("release-notes.pdf", 180_000),
                       ("checksums.txt", 4_000), ("wallpaper.png", 900_000)):  # fmt: skip
        server.add(name, size)
    core = AppCore(open_profile(data_dir=data_dir))
    prefs = DownloadPreferences(core.settings)
    prefs.set_folder(data_dir / "Downloads")
    prefs.set_concurrency(8)
    quit_requested = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, quit_requested.set)
    features = build_features(core)
    await core.start(components_in_start_order(features))
    window = MainWindow(core.settings, core.profile.name, core.profile.auto, features)
    window.resize(1260, 780)
    window.show()
    panel = window.tabs.widget(0)
    assert isinstance(panel, DownloadsPanel)

    ids = panel.add_text(
        "\n".join([
            server.url("/f/release-notes.pdf"),
            server.url("/f/checksums.txt"),
            server.url("/throttle/ubuntu-26.04-desktop-amd64.iso?bps=2500000"),
            server.url("/throttle/debian-13-netinst.iso?bps=1200000"),
            server.url("/throttle/fedora-workstation.iso?bps=600000"),
            server.url("/status/404"),
            server.url("/status/503?retry_after=40"),
            server.url("/throttle/wallpaper.png?bps=200000"),
        ])
    )  # fmt: skip
    wallpaper = ids[-1]

    def state(download_id: int) -> State | None:
        p = panel.model.by_id(download_id)
        return None if p is None else p.state

    await until(lambda: (p := panel.model.by_id(wallpaper)) is not None and p.received > 250_000)
    panel.engine.pause(wallpaper)
    await until(lambda: state(ids[0]) is State.COMPLETED and state(ids[5]) is State.FAILED)
    await until(lambda: (p := panel.model.by_id(ids[6])) is not None and p.next_try_at is not None)
    await until(lambda: (p := panel.model.by_id(ids[3])) is not None and (p.fraction or 0) > 0.15)
    panel.select_ids([ids[3]])
    await asyncio.sleep(1.2)  # one more second in the graph, and a repaint
    print("ready", flush=True)

    await quit_requested.wait()
    window.hide()
    await core.stop(1.5)
    await server.stop()
    window.allow_close()
    window.close()
    core.profile.release()
    del app
    return 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=lambda: new_loop(make_application())) as runner:
        sys.exit(runner.run(main(Path(sys.argv[1]))))
