"""Chat: the hub (server) side of Squall's chat, protocol v1, and later the reconnecting client.

Layout:
    protocol    protocol v1 on the wire: limits, validation of client frames, the hub's frames (shared with clients)
    errors      the chat error subtree (ChatError and below)
    serve       `main.py serve`: runs one Hub on a plain asyncio loop until SIGINT/SIGTERM
    hub/        the hub: an embeddable core Component (Tornado WebSocket + HTTP endpoints + nc gateway + history)

A client module (client.py, outbox.py) sits beside these and talks to a hub only through protocol v1.
Nothing here imports Qt; the Chat tab in gui/chat/ drives these parts through snapshots and plain methods.
"""
