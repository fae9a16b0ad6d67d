"""The window's three features, each a core component (or several) plus the panel that shows it.

This is the one place that wires a feature into the window: its tab, the core parts to start and stop, the
status-bar widgets. Each feature has one function here; its panel and models live in gui/<feature>/.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtWidgets import QWidget

from core.app import AppCore, Component
from core.downloads import DownloadEngine
from core.downloads.preferences import DownloadPreferences
from core.monitor import LoopLab, Monitor
from gui.chat.setup import build_chat
from gui.downloads.panel import DownloadsPanel
from gui.downloads.table_model import DownloadTableModel
from gui.tasks.panel import TasksPanel


@dataclass
class Feature:
    """One tab's worth of Squall.

    Attributes:
        title: the tab's title.
        panel: the tab's widget.
        components: core parts to start before the window shows (stopped in reverse order on quit).
        start_rank: lower starts earlier and stops later (the monitor starts first to see everything).
        status_widgets: permanent widgets for the status bar.

    A panel renames its own tab (unread counts) with gui.own_tab.set_own_tab_title.
    """

    title: str
    panel: QWidget
    components: list[Component] = field(default_factory=list)
    start_rank: int = 50
    status_widgets: list[QWidget] = field(default_factory=list)


def downloads_feature(core: AppCore) -> Feature:
    # The model is the engine's observer: it keeps snapshots until the panel's tick shows them.
    prefs = DownloadPreferences(core.settings)
    model = DownloadTableModel()
    engine = DownloadEngine(core.conn, on_snapshots=model.receive, on_removed=model.forget, **prefs.engine_options())
    prefs.attach(engine)  # connections and speed limit changed in settings apply while running
    panel = DownloadsPanel(engine, model, prefs)
    return Feature("Downloads", panel, components=[engine], status_widgets=panel.status_widgets)


def chat_feature(core: AppCore) -> Feature:
    # Hosting starts before the client (the hub is up before it knocks) and stops after it (goodbye first).
    chat = build_chat(core)
    return Feature("Chat", chat.panel, components=chat.components, status_widgets=chat.panel.status_widgets)


def tasks_feature(core: AppCore) -> Feature:
    # The monitor starts first (start_rank 0) so its heartbeat and watchdog see every other component start.
    monitor = Monitor(settings=core.settings)
    lab = LoopLab(monitor.heartbeat)
    panel = TasksPanel(monitor, lab, settings=core.settings, export_dir=core.profile.path)
    return Feature("Tasks", panel, components=[monitor, lab], start_rank=0, status_widgets=[panel.status_label])


def build_features(core: AppCore) -> list[Feature]:
    """The features in tab order."""
    return [downloads_feature(core), chat_feature(core), tasks_feature(core)]


def components_in_start_order(features: list[Feature]) -> list[Component]:
    return [c for f in sorted(features, key=lambda f: f.start_rank) for c in f.components]
