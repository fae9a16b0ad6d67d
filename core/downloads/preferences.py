"""The download settings of a profile (folder, connections, per-server connections, speed limit, clipboard offer):
read with their defaults, checked before they are stored, and applied to a running engine as they change.

The keys live in core/settings.py DEFAULTS. A change made through Settings.set by anyone reaches the engine
through the listener attach() installs; nothing here starts a task or touches the network.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Protocol

from core.downloads.limits import check_count, check_rate
from core.downloads.store import folder_key
from core.errors import SettingsError
from core.settings import Settings

FOLDER = "downloads.folder"
CONCURRENCY = "downloads.concurrency"
PER_HOST = "downloads.per_host"
RATE_LIMIT = "downloads.rate_limit"
CLIPBOARD_OFFER = "downloads.clipboard_offer"


class LiveEngine(Protocol):
    """What attach() drives: DownloadEngine's live setters."""

    def set_concurrency(self, n: int) -> None: ...

    def set_per_host(self, n: int) -> None: ...

    def set_rate_limit(self, bytes_per_s: int) -> None: ...


def default_folder() -> Path:
    """$XDG_DOWNLOAD_DIR when set, else ~/Downloads."""
    configured = os.environ.get("XDG_DOWNLOAD_DIR")
    return Path(configured).expanduser() if configured else Path.home() / "Downloads"


def check_folder(folder: Path | str) -> Path:
    """The folder as an absolute path, when downloads can go there (it, or the parent it would be made in, is a
    writable folder); SettingsError saying what is wrong otherwise. A few stat() calls, no writes."""
    text = str(folder).strip()
    if not text:
        raise SettingsError("the download folder is empty; choose a folder")
    path = Path(folder_key(text))
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        where = "is a file" if probe == path else f"cannot be created: {probe} is a file"
        raise SettingsError(f"{path} {where}; choose a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SettingsError(f"{probe} is not writable by you; choose another download folder")
    return path


class DownloadPreferences:
    """Typed, checked access to the download settings.

    Attributes:
        settings: the profile's settings.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._engine: LiveEngine | None = None

    @property
    def folder(self) -> Path:
        value = self.settings.get(FOLDER)
        return Path(value) if value else default_folder()

    @property
    def concurrency(self) -> int:
        return int(self.settings.get(CONCURRENCY))

    @property
    def per_host(self) -> int:
        return int(self.settings.get(PER_HOST))

    @property
    def rate_limit(self) -> int:
        return int(self.settings.get(RATE_LIMIT))

    @property
    def clipboard_offer(self) -> bool:
        return bool(self.settings.get(CLIPBOARD_OFFER))

    def engine_options(self) -> dict[str, Any]:
        """Keyword arguments for DownloadEngine from the stored settings (bad stored values fall back)."""
        options: dict[str, Any] = {"folder": self.folder}
        for key, name in ((CONCURRENCY, "concurrency"), (PER_HOST, "per_host")):
            try:
                options[name] = check_count(name, self.settings.get(key), SettingsError)
            except SettingsError:
                options[name] = self.settings.defaults[key]
        try:
            options["rate_limit"] = check_rate(self.settings.get(RATE_LIMIT), SettingsError)
        except SettingsError:
            options["rate_limit"] = 0
        return options

    def set_folder(self, folder: Path | str) -> Path:
        path = check_folder(folder)
        self.settings.set(FOLDER, str(path))
        return path

    def set_concurrency(self, n: int) -> None:
        self.settings.set(CONCURRENCY, check_count("connections", n, SettingsError))

    def set_per_host(self, n: int) -> None:
        self.settings.set(PER_HOST, check_count("connections per server", n, SettingsError))

    def set_rate_limit(self, bytes_per_s: int) -> None:
        self.settings.set(RATE_LIMIT, check_rate(bytes_per_s, SettingsError))

    def set_clipboard_offer(self, on: bool) -> None:
        self.settings.set(CLIPBOARD_OFFER, bool(on))

    def attach(self, engine: LiveEngine) -> None:
        """Apply every later change of connections, per-server connections and speed limit to engine."""
        if self._engine is not None:
            raise SettingsError("these download settings already drive an engine; detach() it first")
        self._engine = engine
        self.settings.add_listener(self._changed)

    def detach(self) -> None:
        if self._engine is not None:
            self.settings.remove_listener(self._changed)
            self._engine = None

    def _changed(self, key: str, value: Any) -> None:
        engine = self._engine
        if engine is None:
            return
        if key == CONCURRENCY:
            engine.set_concurrency(check_count("connections", value, SettingsError))
        elif key == PER_HOST:
            engine.set_per_host(check_count("connections per server", value, SettingsError))
        elif key == RATE_LIMIT:
            engine.set_rate_limit(check_rate(value, SettingsError))
