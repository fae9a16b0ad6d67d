"""The Downloads tab: every download at a glance and under the user's hand. Pixels only.

Layout:
    panel             DownloadsPanel: composes the parts below, forwards clicks, drops and pastes to the engine;
                      one timer applies snapshots at the engine's tick; signals wired in _connect_signals
    table_model       DownloadTableModel: one row per download, fed by snapshot batches (dataChanged for
                      changed rows only)
    filter_proxy      DownloadFilterProxy: sorting and filtering by state and text, live
    delegate          ProgressDelegate: paints the progress bar (segments too); no widget per row
    actions           DownloadActions: pause, resume, retry, cancel, remove, open, copy, speed limit; shortcuts,
                      context menu; the injectable Opener
    add_bar           the URL field with its SHA-256 box and inline message; the clipboard offer
    settings_strip    folder, connections, speed limit, clipboard offer; applied while running
    throughput_graph  ThroughputGraph: total speed of the last 60 s, painted by hand
    notifier          Notifier: a tray message, or a status-bar message where there is no tray

Reading URLs, duplicates, words, totals and settings checks live in core/downloads/ (intake, display, totals,
preferences); nothing here decides what a download does.
"""
