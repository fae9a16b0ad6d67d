"""build_chat: the Chat tab's parts for one running profile: hosting of this machine's hub, the client, the panel.

The hub to join is --hub (core.options.hub) or the chat.hub setting. This machine's hub is the one on a loopback
address (that one, or 127.0.0.1:8765 when a LAN hub is configured); every instance takes part in hosting it, so
another can take over when the host goes. Components are returned in start order: hosting first (the hub is up
before the client knocks), the client second (it says goodbye before the hub closes).
"""

from __future__ import annotations

from dataclasses import dataclass

from core.app import AppCore, Component
from core.chat.client import ChatClient
from core.chat.hosting import Hosting
from core.chat.preferences import ChatPreferences, format_address, parse_address
from core.chat.protocol import DEFAULT_PORT
from core.profile import hub_dir
from gui.chat.feed import ChatFeed
from gui.chat.panel import ChatPanel


@dataclass
class ChatParts:
    """What the window needs of the chat feature.

    Attributes:
        panel: the tab.
        components: hosting and client, in start order.
    """

    panel: ChatPanel
    components: list[Component]


def build_chat(core: AppCore) -> ChatParts:
    prefs = ChatPreferences(core.settings)
    target = prefs.start_target(core.options.hub)
    local = target.address if target.local else format_address("127.0.0.1", DEFAULT_PORT)
    host, port = parse_address(local)
    folder = hub_dir()
    feed = ChatFeed()
    hosting = Hosting(folder, port, host=host, share_on_lan=prefs.share_on_lan, on_state=feed.receive_hosting)
    client = ChatClient(core.conn, target, prefs.nick, on_update=feed.receive, rooms=prefs.rooms, hub_folder=folder)
    panel = ChatPanel(client, prefs, feed, local_address=local, hosting=hosting)
    feed.setParent(panel)
    return ChatParts(panel, [hosting, client])
