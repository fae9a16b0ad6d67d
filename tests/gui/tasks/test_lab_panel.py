"""The loop lab from the tab: the four runs side by side; the blocking one freezes the loop and the plot shows it."""

from __future__ import annotations

from pytestqt.modeltest import ModelTester

from gui.tasks.record_models import RECORD_ROLE
from tests.conftest import LoopRunner
from tests.gui.tasks.conftest import TabRig
from tests.helpers import wait_until


def test_the_four_runs_from_the_tab(qloop: LoopRunner, rig: TabRig, qtmodeltester: ModelTester) -> None:
    lab = rig.panel.lab_panel
    qtmodeltester.check(lab.model)

    async def scenario() -> None:
        await rig.start()
        rig.panel.lower_tabs.setCurrentWidget(lab)
        lab.fetches.setValue(20)
        lab.delay.setValue(50)
        lab.run_button.click()
        assert not lab.run_button.isEnabled(), "one run at a time"
        await wait_until(lambda: lab.run_button.isEnabled(), timeout=60, what="the four runs")
        # the blocking run froze the loop for about a second: the plot gets that second once it closes
        await wait_until(
            lambda: any(s.max_ms >= 500 for s in rig.panel.lag_plot.seconds), timeout=5, what="the freeze in the plot"
        )
        await rig.stop()

    qloop.run(scenario(), timeout=90)
    results = [lab.model.data(lab.model.index(row, 0), RECORD_ROLE) for row in range(4)]
    blocking, threads, callbacks, gather = results
    assert all(r is not None and r.error == "" for r in results), results
    assert (blocking.concurrency, threads.concurrency, callbacks.concurrency, gather.concurrency) == (1, 4, 20, 20)
    assert blocking.lag_max_ms > 10 * gather.lag_max_ms, (blocking.lag_max_ms, gather.lag_max_ms)
    assert blocking.lag_max_ms > 10 * callbacks.lag_max_ms, (blocking.lag_max_ms, callbacks.lag_max_ms)
    assert lab.status.text().startswith("Done.")
    assert lab.model.data(lab.model.index(3, 2)) == "20 at once"
    # the watchdog caught the blocking run and names the lab's own line
    blocks = [rig.panel.block_model.record(r) for r in range(rig.panel.block_model.rowCount())]
    assert any("core/monitor/lab.py" in b.where and "_blocking" in b.where for b in blocks), [b.where for b in blocks]


def test_a_bad_run_is_explained_in_the_panel(qloop: LoopRunner, rig: TabRig) -> None:
    lab = rig.panel.lab_panel

    async def scenario() -> None:
        await rig.start()
        lab.run_button.click()
        lab.run()  # a second click while the first run goes on
        assert lab.status.text() == "the loop lab is already running; wait for it to finish"
        await wait_until(lambda: lab.run_button.isEnabled(), timeout=60, what="the runs")
        await rig.stop()

    qloop.run(scenario(), timeout=90)
