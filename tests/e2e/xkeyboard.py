"""A keyboard for the end-to-end chat tests: real X key events typed into a running Squall's window.

Xlib through ctypes (libX11 is already on any machine that runs Qt's xcb platform): find a process's top-level
window by its _NET_WM_PID, move it, give it the input focus, and send it key presses (XSendEvent; Qt handles them
like typed keys). ASCII letters, digits, spaces and common punctuation only. No tests here: test_chat.py uses it.
"""

from __future__ import annotations

import ctypes
from types import TracebackType

_XA_CARDINAL = 6
_KEY_PRESS, _KEY_RELEASE = 2, 3
_KEY_PRESS_MASK, _KEY_RELEASE_MASK = 1, 2
SHIFT, CONTROL = 1, 4
_REVERT_TO_PARENT = 2
_NAMES = {" ": "space", ",": "comma", ".": "period", "!": "exclam", "?": "question", "'": "apostrophe",
          "-": "minus", ":": "colon", "/": "slash", "<": "less", ">": "greater", "=": "equal", '"': "quotedbl",
          "(": "parenleft", ")": "parenright", "#": "numbersign", "@": "at", "_": "underscore"}  # fmt: skip


class _XKeyEvent(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("root", ctypes.c_ulong),
        ("subwindow", ctypes.c_ulong),
        ("time", ctypes.c_ulong),
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("x_root", ctypes.c_int),
        ("y_root", ctypes.c_int),
        ("state", ctypes.c_uint),
        ("keycode", ctypes.c_uint),
        ("same_screen", ctypes.c_int),
    ]


class _XEvent(ctypes.Union):
    _fields_ = [("key", _XKeyEvent), ("pad", ctypes.c_long * 24)]


def _xlib() -> ctypes.CDLL:
    x = ctypes.cdll.LoadLibrary("libX11.so.6")
    vp, ul, i = ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int
    x.XOpenDisplay.restype = vp
    x.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x.XCloseDisplay.argtypes = [vp]
    x.XDefaultRootWindow.restype = ul
    x.XDefaultRootWindow.argtypes = [vp]
    x.XInternAtom.restype = ul
    x.XInternAtom.argtypes = [vp, ctypes.c_char_p, i]
    x.XQueryTree.argtypes = [vp, ul, ctypes.POINTER(ul), ctypes.POINTER(ul), ctypes.POINTER(ctypes.POINTER(ul)),
                             ctypes.POINTER(ctypes.c_uint)]  # fmt: skip
    x.XGetWindowProperty.argtypes = [vp, ul, ul, ctypes.c_long, ctypes.c_long, i, ul, ctypes.POINTER(ul),
                                     ctypes.POINTER(i), ctypes.POINTER(ul), ctypes.POINTER(ul),
                                     ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte))]  # fmt: skip
    x.XFree.argtypes = [vp]
    x.XStringToKeysym.restype = ul
    x.XStringToKeysym.argtypes = [ctypes.c_char_p]
    x.XKeysymToKeycode.restype = ctypes.c_ubyte
    x.XKeysymToKeycode.argtypes = [vp, ul]
    x.XKeycodeToKeysym.restype = ul
    x.XKeycodeToKeysym.argtypes = [vp, ctypes.c_ubyte, i]
    x.XSendEvent.argtypes = [vp, ul, i, ctypes.c_long, ctypes.POINTER(_XEvent)]
    x.XSetInputFocus.argtypes = [vp, ul, i, ul]
    x.XMoveResizeWindow.argtypes = [vp, ul, i, i, ctypes.c_uint, ctypes.c_uint]
    x.XRaiseWindow.argtypes = [vp, ul]
    x.XSync.argtypes = [vp, i]
    return x


class Keyboard:
    """An X client that types into other clients' windows. Use as a context manager (closes the connection)."""

    def __init__(self, display: str) -> None:
        self._x = _xlib()
        self._d = self._x.XOpenDisplay(display.encode())
        if not self._d:
            raise RuntimeError(f"cannot open X display {display}")
        self._root = self._x.XDefaultRootWindow(self._d)
        self._pid_atom = self._x.XInternAtom(self._d, b"_NET_WM_PID", 0)
        self._name_atom = self._x.XInternAtom(self._d, b"_NET_WM_NAME", 0)
        self._utf8 = self._x.XInternAtom(self._d, b"UTF8_STRING", 0)

    def __enter__(self) -> Keyboard:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._x.XCloseDisplay(self._d)

    def _property(self, window: int, atom: int, kind: int) -> bytes | None:
        actual, fmt, count, after = ctypes.c_ulong(), ctypes.c_int(), ctypes.c_ulong(), ctypes.c_ulong()
        data = ctypes.POINTER(ctypes.c_ubyte)()
        status = self._x.XGetWindowProperty(self._d, window, atom, 0, 1024, 0, kind, ctypes.byref(actual),
                                            ctypes.byref(fmt), ctypes.byref(count), ctypes.byref(after),
                                            ctypes.byref(data))  # fmt: skip
        if status != 0 or not data:
            return None
        try:
            if fmt.value == 32:  # format 32 items are C longs in memory
                return bytes(ctypes.cast(data, ctypes.POINTER(ctypes.c_long))[0].to_bytes(8, "little", signed=True))
            return bytes(data[: count.value])
        finally:
            self._x.XFree(data)

    def window_of(self, pid: int, title_prefix: str = "Squall") -> int | None:
        """The top-level window of process pid whose title starts with title_prefix, if it is mapped yet."""
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children, count = ctypes.POINTER(ctypes.c_ulong)(), ctypes.c_uint()
        if not self._x.XQueryTree(self._d, self._root, ctypes.byref(root), ctypes.byref(parent),
                                  ctypes.byref(children), ctypes.byref(count)):  # fmt: skip
            return None
        try:
            for i in range(count.value):
                window = children[i]
                raw_pid = self._property(window, self._pid_atom, _XA_CARDINAL)
                if raw_pid is None or int.from_bytes(raw_pid, "little", signed=True) != pid:
                    continue
                name = (self._property(window, self._name_atom, self._utf8) or b"").decode("utf-8", "replace")
                if name.startswith(title_prefix):
                    return int(window)
        finally:
            if children:
                self._x.XFree(children)
        return None

    def place(self, window: int, x: int, y: int, width: int, height: int) -> None:
        self._x.XMoveResizeWindow(self._d, window, x, y, width, height)
        self._x.XRaiseWindow(self._d, window)
        self._x.XSync(self._d, 0)

    def focus(self, window: int) -> None:
        """Give window the keyboard. Keys sent before the app has handled the focus are lost: wait until the app
        says its window is active (Squall logs "window active" at debug level) before typing."""
        self._x.XRaiseWindow(self._d, window)
        self._x.XSetInputFocus(self._d, window, _REVERT_TO_PARENT, 0)
        self._x.XSync(self._d, 0)

    def press(self, window: int, keysym_name: str, state: int = 0) -> None:
        keysym = self._x.XStringToKeysym(keysym_name.encode())
        code = self._x.XKeysymToKeycode(self._d, keysym)
        if not code:
            raise ValueError(f"no key for {keysym_name!r} on this keyboard map")
        if self._x.XKeycodeToKeysym(self._d, code, 0) != keysym:
            state |= SHIFT  # the symbol is on the shifted level of its key
        for kind, mask in ((_KEY_PRESS, _KEY_PRESS_MASK), (_KEY_RELEASE, _KEY_RELEASE_MASK)):
            event = _XEvent()
            key = event.key
            key.type, key.send_event, key.display, key.window = kind, 1, self._d, window
            key.root, key.state, key.keycode, key.same_screen = self._root, state, code, 1
            self._x.XSendEvent(self._d, window, 1, mask, ctypes.byref(event))
        self._x.XSync(self._d, 0)

    def type(self, window: int, text: str) -> None:
        for ch in text:
            if ch == "\n":
                self.press(window, "Return", SHIFT)  # Shift+Enter: a new line, not a send
            else:
                self.press(window, _NAMES.get(ch, ch))
