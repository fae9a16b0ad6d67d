"""Errors of the chat feature, one class per meaning.

    SquallError (core.errors)
    └── ChatError                      base of every chat error
        ├── HubError                   a hub cannot start or keep running as asked
        │   ├── HubInUseError          another process already hosts this hub folder
        │   ├── HubBindError           the address or port cannot be listened on
        │   └── HubConfigError         an option has a value the hub cannot use (says which and why)
        │       └── PassphraseRequiredError  a non-loopback address was asked for without a passphrase
        ├── ClientError                base of the chat client's errors (the Chat tab shows them as they are)
        │   ├── ChatInputError         something the user typed cannot be sent or used (text, room, address)
        │   └── HubAuthError           a hub refused the passphrase (or the nick): retries stop until the user acts
        │       └── NickRefusedError   the hub refused the nick (the message says which rule it broke)
        ├── NickError                  a nick breaks the nick rules (1-32 printable characters, no edge spaces)
        └── FrameError                 a client frame broke protocol v1; carries the error code sent back

Messages are shown to users as they are: each says what happened and what to do next.
"""

from __future__ import annotations

from core.errors import SquallError


class ChatError(SquallError):
    """Base of every chat error."""


class HubError(ChatError):
    """A hub cannot start or keep running with the options it was given."""


class HubInUseError(HubError):
    """Another process holds the hub folder's hosting lock.

    Attributes:
        path: the hub folder.
        pid: the holder's process id when it could be read, else None.
    """

    def __init__(self, path: str, pid: int | None) -> None:
        holder = f" (process {pid})" if pid else ""
        super().__init__(
            f"the chat hub folder {path} is already hosted by another Squall{holder}; "
            "stop that hub, or give this one another folder with --data-dir DIR"
        )
        self.path = path
        self.pid = pid


class HubBindError(HubError):
    """The hub could not listen on the address it was given (port in use, address not on this machine)."""


class HubConfigError(HubError):
    """An option value the hub cannot use; the message names the option and the way out."""


class PassphraseRequiredError(HubConfigError):
    """Listening beyond this machine needs a passphrase the user chose (a generated one is never shared)."""


class NickError(ChatError):
    """A nick that breaks the rules of protocol v1; the message says which rule."""


class FrameError(ChatError):
    """A client frame that breaks protocol v1. The connection stays open; the client gets an error frame.

    Attributes:
        code: the machine-readable error code sent in the error frame (see protocol.ERROR_CODES).
        room: the room the frame named, when it could be read.
        cid: the client id of a `say` frame, when it could be read (lets a client drop it from its outbox).
    """

    def __init__(self, code: str, message: str, *, room: str | None = None, cid: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.room = room
        self.cid = cid


class ClientError(ChatError):
    """Base of the chat client's errors."""


class ChatInputError(ClientError):
    """Input that cannot be used: an empty or over-long message, a bad room name, a malformed hub address."""


class HubAuthError(ClientError):
    """The hub refused to sign us in; retrying with the same passphrase would only be refused again.

    Attributes:
        address: the hub's HOST:PORT.
    """

    def __init__(self, address: str, message: str) -> None:
        super().__init__(message)
        self.address = address


class NickRefusedError(HubAuthError):
    """The hub refused the nick itself (protocol v1's nick rules)."""
