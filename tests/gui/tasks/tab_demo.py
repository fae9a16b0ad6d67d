"""Run the real window with the Tasks tab in front and some work to show; for the on-screen test.

    python -m tests.gui.tasks.tab_demo DATA_DIR

Prints "ready" once the lab has run, a loop block was caught and a task is selected; exits 0 on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

from core.app import AppCore
from core.profile import open_profile
from core.supervisor import Supervisor
from gui.features import build_features, components_in_start_order
from gui.loop import new_loop
from gui.main_window import MainWindow
from gui.runtime import make_application
from gui.tasks.panel import TasksPanel


async def sleeper(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def waits_forever(gate: asyncio.Event) -> None:
    await gate.wait()


async def fails() -> None:
    await asyncio.sleep(0.2)
    raise ConnectionResetError("the peer went away")


async def until(predicate: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError("the demo did not get ready")
        await asyncio.sleep(0.05)


async def main(data_dir: Path) -> int:
    app = make_application()
    core = AppCore(open_profile(data_dir=data_dir))
    quit_requested = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, quit_requested.set)
    features = build_features(core)
    await core.start(components_in_start_order(features))
    window = MainWindow(core.settings, core.profile.name, core.profile.auto, features)
    tab = next(i for i in range(window.tabs.count()) if window.tabs.tabText(i) == "Tasks")
    window.tabs.setCurrentIndex(tab)
    window.resize(1260, 780)
    window.show()
    panel = window.tabs.widget(tab)
    assert isinstance(panel, TasksPanel)

    demo = Supervisor("downloads")
    gate = asyncio.Event()
    for n in range(1, 6):
        demo.start(waits_forever(gate), name=f"download:{n}", what=f"download {n} of 5 from 127.0.0.1")
    demo.start(sleeper(3600), name="download:scheduler", what="starts queued downloads", critical=True)
    demo.start(fails(), name="download:6", what="download 6 (fails on purpose)")
    panel.lab_panel.run_button.click()
    await until(lambda: panel.lab_panel.run_button.isEnabled() and panel.lab_panel.model.result(3) is not None)
    await until(lambda: panel.block_model.rowCount() > 0)
    panel.lower_tabs.setCurrentWidget(panel.lab_panel)
    await until(lambda: panel.task_model.rowCount() > 6)
    scheduler = next(
        panel.task_model.snapshot(r).id
        for r in range(panel.task_model.rowCount())
        if panel.task_model.snapshot(r).name == "download:scheduler"
    )
    panel.select_task(scheduler)
    await asyncio.sleep(1.5)  # one more second of lag in the plot, and a repaint
    print("ready", flush=True)

    await quit_requested.wait()
    gate.set()
    await demo.stop(1)
    window.hide()
    await core.stop(1.5)
    window.allow_close()
    window.close()
    core.profile.release()
    del app
    return 0


if __name__ == "__main__":
    with asyncio.Runner(loop_factory=lambda: new_loop(make_application())) as runner:
        sys.exit(runner.run(main(Path(sys.argv[1]))))
