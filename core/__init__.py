"""Squall's core: every behaviour, no pixels.

Layout:
    errors      the exception tree; every error a user can see says what to do next
    supervisor  the only place tasks are created: named, owned, cancelled, awaited
    profile     data directory per profile and the lock that makes a profile single-instance
    db, schema  SQLite connections (WAL) and the profile database's versioned migrations
    settings    persisted settings (one transaction per change)
    logs        named loggers per area and the log file in the data directory
    cli         the command-line surface (`main.py`, `get`, `serve`); parsing only
    app         AppCore: composes the components of one running profile

The rule: nothing under core/ imports PySide6, qasync or gui (tests/test_architecture.py proves it).
State leaves core as immutable snapshots through callbacks; commands arrive as plain method calls.
"""
