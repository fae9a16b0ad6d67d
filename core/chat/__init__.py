"""Chat: protocol v1, the hub (server) and the reconnecting client. No Qt: the Chat tab in gui/chat/ drives these.

Layout:
    protocol    protocol v1 on the wire: limits, validation of client frames, the hub's frames (shared with clients)
    errors      the chat error subtree (hub and client errors, one class per meaning)
    serve       `main.py serve`: runs one Hub on a plain asyncio loop until SIGINT/SIGTERM
    hub/        the hub: an embeddable Component (Tornado WebSocket + HTTP endpoints + nc gateway + history)
    hosting     hosts this machine's hub in-process, or stands by on its lock and takes it over
    client      ChatClient, the Component: connect, reconnect with backoff, replay with `since`, resend the outbox
    connection  sign-in (token) and one WebSocket connection
    ledger      the profile's chat bookkeeping and what each incoming frame means
    outbox      messages typed but not yet acknowledged (SQLite), resent with their cids: delivered exactly once
    cache       the rooms' history as received (SQLite), for restarts and paging up
    transcript  one room's rows for a view (messages, day separators, states)
    updates     the immutable ChatUpdate snapshots the client emits, at most 10 a second
    display     text made safe to draw, links found, status-bar words
    pacing, typists, preferences   send pacing, "bob is typing...", chat settings

The client talks to any hub only through protocol v1 (docs/protocol.md).
"""
