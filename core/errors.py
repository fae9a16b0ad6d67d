"""Errors a user of Squall can meet, one class per meaning.

    SquallError                    base: str(error) is a sentence that says what happened and what to do
    ├── ProfileError               the data directory cannot be used
    │   ├── ProfileInUseError      another running instance holds the profile's lock
    │   └── ProfileNameError       the profile name is not allowed
    ├── SchemaError                a database was written by a newer Squall, or cannot be migrated
    └── SettingsError              a setting has an unknown key or a value of the wrong kind

Feature packages extend the tree with their own subclasses (core.downloads.errors, core.chat.errors).
This module must not import anything from the rest of Squall.
"""


class SquallError(Exception):
    """Base of every error Squall reports to a user; the message is meant to be shown as it is."""


class ProfileError(SquallError):
    """The profile's data directory cannot be created, opened or locked."""


class ProfileInUseError(ProfileError):
    """Another running Squall holds this profile.

    Attributes:
        name: the profile name.
        path: the profile's data directory.
        pid: the process id recorded by the holder, or None when it cannot be read.
    """

    def __init__(self, name: str, path: str, pid: int | None) -> None:
        holder = f" (process {pid})" if pid else ""
        super().__init__(
            f"profile {name!r} at {path} is in use by another Squall{holder}; "
            "close that instance, or choose another profile with --profile NAME"
        )
        self.name = name
        self.path = path
        self.pid = pid


class ProfileNameError(ProfileError):
    """A profile name with characters that cannot be a folder name everywhere."""


class SchemaError(SquallError):
    """A database's schema version is newer than this Squall knows, or a migration failed."""


class SettingsError(SquallError):
    """A setting key is unknown or its value has the wrong type."""
