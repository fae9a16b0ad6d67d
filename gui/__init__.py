"""Squall's window: widgets, Qt item models and the qasync runtime; pixels only, no behaviour.

Layout:
    runtime       builds QApplication and the window's loop, runs the app, shuts it down in order
    loop          the window's loop: qasync with asyncio's ready queue (the only module that imports qasync)
    main_window   the main window: tabs, menu, status bar; signals wired in one place
    qt_logging    routes Qt's own messages into the `squall.qt` logger
    rows          row diffing for snapshot-fed item models (the Downloads and Tasks tables)
    tray          desktop notices: the app's one tray icon, or a status-bar line where there is no tray

The rule: gui/ may import core/, never the reverse. A gui/ file that computes something a headless user would
also need is in the wrong package: move it to core/ and call it.
"""
