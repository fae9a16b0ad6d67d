"""The chat hub: an embeddable Tornado WebSocket server with history, limits and an nc gateway.

Layout (each module depends only on those above it):
    config      HubConfig: every limit and timeout, with protocol v1's defaults
    files       the hub folder: hosting lock, 0600 secret files, the passphrase
    auth        passphrase check; signed, expiring, rotatable tokens and login cookies
    limits      token bucket (frame rate), connection slots per address, wrong-passphrase throttle
    store       History: SQLite message store with per-room ids that survive restarts
    frames      Outgoing: a frame encoded once per broadcast (WebSocket bytes, nc line)
    writer      BoundedWriter + FlushScheduler: per-connection bounded output, batched writes
    peer        Peer: one connection as the hub sees it
    rooms       membership, broadcast, coalesced presence
    service     ChatService: protocol v1 behaviour (rate, parse, join/say/typing/history/leave, replay)
    context     HubContext: what handlers get through initialize()
    endpoints   /api/token, /login, /health and the handlers' shared behaviour
    ws          /ws
    gateway     the nc line gateway
    webapp      make_app
    hub         Hub: the Component that owns all of the above

Public: Hub, HubConfig, HubState (and files.local_passphrase for local clients).
"""

from core.chat.hub.config import HubConfig
from core.chat.hub.hub import Hub, HubState

__all__ = ["Hub", "HubConfig", "HubState"]
