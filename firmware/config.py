"""The token's user settings, kept on flash with store.Store (atomic, checksummed).

    c = config.Config(data_dir)       # reads DIR/config.bin on first use
    c.get("contrast")                 # -> 128
    c.set("contrast", 200)            # validates (ValueError), saves, returns the value
    c.items()                         # ((name, value), ...) in NAMES order
    c.revision                        # +1 at every change: the app polls it to apply live
    c.error                           # None, or why the file was ignored (defaults in use)

Settings (NAMES), with their type, range and default:
    screen_timeout_s  int   0 (never) or 5..3600    30   display off after this idle time
    contrast          int   0..255                  128
    rotate            bool                          False  turn the picture by 180 degrees
    button_mode       str   auto | one | two        auto   auto: two buttons if wired
    preview_s         int   0 (off) .. 30           5    show the next code this many
                                                         seconds before the period ends
    sleep_s           int   0 (never) or 10..3600   600  with the screen off, light-sleep
                                                         after this long without input (and
                                                         30 s without USB traffic), deep-sleep
                                                         after 6 times as long. A sleeping
                                                         board misses USB input until a press
                                                         wakes it: 0 for a token on a desk.

set() accepts the value's own type; a bool also as 0/1. A rejected value changes nothing.
A damaged settings file is not fatal: the defaults apply, `error` says why, and the next
set() writes a fresh file.

Changing a setting (set(), the file's writing) is configedit.py, imported at the first set():
the idle token only reads its settings.

File DIR/config.bin (store.Store, magic b"TKCF"): UTF-8 text, one "name=value" per line, only
the settings that differ from their defaults. Unknown names are ignored when loading (a newer
firmware may add settings), and so are invalid values (the default applies).
"""

import store

NAMES = ("screen_timeout_s", "contrast", "rotate", "button_mode", "preview_s", "sleep_s")
_DEFAULTS = (30, 128, False, "auto", 5, 600)
# The integer settings' ranges, in NAMES order: lowest, highest, and whether 0 (never, off)
# is allowed below them. None: not an integer.
_RANGES = ((5, 3600, True), (0, 255, False), None, None, (0, 30, False), (10, 3600, True))
_BUTTON_MODES = ("auto", "one", "two")
_FILE = "config.bin"
_MAGIC = b"TKCF"
_MAX_SIZE = 1024


def _index(name):
    if name not in NAMES:
        raise ValueError("no setting %r (settings: %s)" % (name, ", ".join(NAMES)))
    return NAMES.index(name)


def validate(name, value):
    """The normalised value of setting `name`, or ValueError saying what is allowed."""
    i = _index(name)
    if name == "rotate":
        if value is True or value is False:
            return value
        if isinstance(value, int) and value in (0, 1):
            return value == 1
        raise ValueError("rotate must be true or false")
    if name == "button_mode":
        if value not in _BUTTON_MODES:
            raise ValueError("button_mode must be auto, one or two")
        return value
    low, high, zero_ok = _RANGES[i]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s must be an integer" % name)
    if zero_ok and value == 0 or low <= value <= high:
        return value
    if zero_ok:
        raise ValueError("%s must be 0 or %d..%d" % (name, low, high))
    raise ValueError("%s must be %d..%d" % (name, low, high))


class Config:
    NAMES = NAMES

    def __init__(self, directory):
        self._store = store.Store(directory.rstrip("/") + "/" + _FILE, _MAGIC, _MAX_SIZE)
        self._values = None
        self.error = None
        self.revision = 0

    def _ensure(self):
        # The file is read at the first use; a bad line keeps its default.
        values = self._values
        if values is not None:
            return values
        values = list(_DEFAULTS)
        try:
            data = self._store.load()
        except store.CorruptError:
            data = None
            self.error = "settings file damaged: defaults in use"
        except OSError as e:
            data = None
            self.error = "settings unreadable (%s): defaults in use" % e
        if data:
            try:
                text = str(data, "utf-8")
            except (UnicodeError, ValueError):
                text = ""
                self.error = "settings file unreadable: defaults in use"
            for line in text.split("\n"):
                name, _, raw = line.partition("=")
                if name in NAMES:
                    i = NAMES.index(name)
                    default = _DEFAULTS[i]
                    try:
                        if isinstance(default, bool):
                            raw = raw == "true"
                        elif isinstance(default, int):
                            raw = int(raw)
                        values[i] = validate(name, raw)
                    except ValueError:
                        pass  # keep the default for a value this firmware cannot use
        self._values = values
        return values

    def get(self, name):
        return self._ensure()[_index(name)]

    def items(self):
        values = self._ensure()
        return tuple((NAMES[i], values[i]) for i in range(len(NAMES)))

    def set(self, name, value):
        import configedit

        return configedit.change(self, name, value)
