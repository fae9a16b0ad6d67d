from __future__ import annotations

import time

from PySide6.QtGui import QColor
from pytestqt.qtbot import QtBot

from core.monitor import LagSecond
from gui.tasks.lag_plot import WINDOW, LagPlot, nice_top


def test_nice_top_rounds_up_to_1_2_5() -> None:
    assert [nice_top(v) for v in (0, 9, 11, 23, 180, 501, 1000, 1001)] == [10, 10, 20, 50, 200, 1000, 1000, 2000]


def test_the_plot_paints_lag_and_shades_frozen_seconds(qtbot: QtBot) -> None:
    plot = LagPlot()
    qtbot.addWidget(plot)
    plot.resize(600, 200)
    now = int(time.time())
    seconds = [LagSecond(float(now - 80 + i), 40, 1.0, 4.0, 6.0) for i in range(70)]
    seconds += [LagSecond(float(now - 10), 0, 900.0, 900.0, 900.0)]  # the loop froze for a whole second
    plot.add(seconds)
    assert len(plot.visible_seconds()) <= WINDOW + 2, "only the last minute is drawn"
    image = plot.grab().toImage()
    # near the top of the plot, where no bar of a calm second reaches, only the frozen second is red
    row = [image.pixelColor(x, 40) for x in range(image.width())]
    red = [x for x, c in enumerate(row) if c.red() > 200 and c.green() < 80]
    assert red, "the frozen second is drawn in red"
    assert min(red) > image.width() * 0.7, "...ten seconds before now, near the right edge"
    assert max(red) - min(red) < image.width() / WINDOW + 2, "...one second wide"


def test_an_empty_plot_says_it_is_waiting(qtbot: QtBot) -> None:
    plot = LagPlot()
    qtbot.addWidget(plot)
    plot.resize(400, 150)
    plot.set_threshold(250)
    image = plot.grab().toImage()
    assert image.width() == 400
    assert plot.threshold_ms == 250
    assert image.pixelColor(200, 75) != QColor("black")
