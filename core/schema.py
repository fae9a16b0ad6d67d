"""The profile database's schema, one migration per step, oldest first. Never edit a landed step: append one.

Feature packages own their tables but add them here, so a profile has one linear history of versions.
"""

from core.db import Migration

PROFILE_MIGRATIONS: list[Migration] = [
    # 1: settings, as JSON values by key
    ("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",),
    # 2: the download queue and history (core/downloads/store.py); segments only for segmented downloads
    (
        "CREATE TABLE downloads (id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, folder TEXT NOT NULL,"
        " requested_name TEXT, name TEXT NOT NULL DEFAULT '', state TEXT NOT NULL,"
        " received INTEGER NOT NULL DEFAULT 0, total INTEGER, etag TEXT, last_modified TEXT,"
        " no_ranges INTEGER NOT NULL DEFAULT 0, sha256_expected TEXT, sha256_actual TEXT,"
        " rate_limit INTEGER NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',"
        " attempts INTEGER NOT NULL DEFAULT 0, added_at REAL NOT NULL, finished_at REAL)",
        "CREATE INDEX downloads_by_url ON downloads (url, folder)",
        "CREATE TABLE download_segments (download_id INTEGER NOT NULL REFERENCES downloads (id) ON DELETE CASCADE,"
        " start INTEGER NOT NULL, end INTEGER NOT NULL, received INTEGER NOT NULL, PRIMARY KEY (download_id, start))",
    ),
    # 3: chat (core/chat/outbox.py, core/chat/cache.py): messages typed here and not yet acknowledged by their hub,
    # and each hub room's history as this profile has seen it (ids are the hub's; own marks what was sent from here)
    (
        "CREATE TABLE chat_outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT, cid TEXT NOT NULL UNIQUE, hub TEXT NOT NULL,"
        " room TEXT NOT NULL, text TEXT NOT NULL, created REAL NOT NULL, state TEXT NOT NULL DEFAULT 'sending',"
        " error TEXT NOT NULL DEFAULT '')",
        "CREATE INDEX chat_outbox_by_hub ON chat_outbox (hub, seq)",
        "CREATE TABLE chat_messages (hub TEXT NOT NULL, room TEXT NOT NULL, id INTEGER NOT NULL, nick TEXT NOT NULL,"
        " text TEXT NOT NULL, ts REAL NOT NULL, cid TEXT NOT NULL, own INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (hub, room, id)) WITHOUT ROWID",
    ),
]
