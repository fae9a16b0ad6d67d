"""The profile database's schema, one migration per step, oldest first. Never edit a landed step: append one.

Feature packages own their tables but add them here, so a profile has one linear history of versions.
"""

from core.db import Migration

PROFILE_MIGRATIONS: list[Migration] = [
    # 1: settings, as JSON values by key
    ("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)",),
]
