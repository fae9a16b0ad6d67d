"""Squall's window: widgets, Qt item models and the qasync runtime; pixels only, no behaviour.

Layout:
    runtime       builds QApplication and the window's loop, runs the app, shuts it down in order
    loop          the window's loop: qasync with asyncio's ready queue (the only module that imports qasync)
    features      each tab's panel with the core components it starts and stops (the one place they are wired)
    main_window   the main window: tabs, menu, status bar; signals wired in one place
    own_tab       the window's tab widget (renames repaint the tab strip only); a panel renames or raises its tab
    status_label  a status-bar label whose width does not jitter with its numbers
    qt_logging    routes Qt's own messages into the `squall.qt` logger
    rows          row diffing for snapshot-fed item models (the Downloads and Tasks tables)
    tray          desktop notices: the app's one tray icon, or a status-bar line where there is no tray

The rule: gui/ may import core/, never the reverse. A gui/ file that computes something a headless user would
also need is in the wrong package: move it to core/ and call it.
"""
