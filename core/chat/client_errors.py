"""Errors the chat client raises to its user (the Chat tab shows them as they are), one class per meaning.

    ChatError (core.chat.errors)
    └── ClientError                    base of the client's errors
        ├── ChatInputError             something the user typed cannot be sent or used (text, room, address)
        └── HubAuthError               a hub refused the passphrase (or the nick): retries stop until the user acts
            └── NickRefusedError       the hub refused the nick (the message says which rule it broke)

They live beside core/chat/errors.py (the hub's subtree) rather than in it, so the client never edits the hub's
modules. Each message says what happened and what to do next.
"""

from __future__ import annotations

from core.chat.errors import ChatError


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
