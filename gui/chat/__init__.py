"""The Chat tab: rooms, the conversation, the people in it, and the hub settings, over core/chat's client.

Layout:
    feed             ChatFeed: turns the client's and hosting's snapshots into Qt signals
    message_model    MessageListModel: the shown room's Transcript as a list model
    message_delegate MessageDelegate: paints a message as plain text (day separator, nick, time, state, links)
    message_view     MessageView: the list (sticks to the bottom, pages older history in at the top, opens links
                     only when clicked)
    side_models      RoomListModel (unread counts) and UserListModel (presence)
    composer         Composer: Enter sends, Shift+Enter adds a line
    hub_bar          HubBar: which hub, Join a hub..., nick, Share on LAN
    join_dialog      JoinHubDialog: host:port and passphrase, opened without blocking the loop
    notifier         ChatNotifier: a tray message for messages that arrive while the window is inactive
    panel            ChatPanel: composes the above and forwards to the client
    setup            build_chat: the client, hosting and panel for one AppCore (called by gui/features.py)

Behaviour lives in core/chat; these modules show it and forward clicks.
"""
