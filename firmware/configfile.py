"""The settings' file and checks: what config.Config runs when it reads its file (the first
use), checks a value and changes a setting (config.py's docstring has the settings and the
file's format).

    configfile.load(c)               # the values, in NAMES order; c.error says why if ignored
    configfile.validate(name, value) # the normalised value, or ValueError saying what is allowed
    configfile.change(c, name, value)  # what c.set(name, value) runs

A module of its own so that the idle token, which only reads the values it holds, does not
hold this code: imported when the file is read or a setting changes, and dropped again by the
app after boot and with the protocol server (app._COMMAND_MODULES).
"""

import config
import store

# The integer settings' ranges, in NAMES order: lowest, highest, and whether 0 (never, off)
# is allowed below them. None: not an integer.
_RANGES = ((5, 3600, True), (0, 255, False), None, None, (0, 30, False), (10, 3600, True))
_BUTTON_MODES = ("auto", "one", "two")


def validate(name, value):
    names = config.NAMES
    if name not in names:
        raise ValueError("no setting %r (settings: %s)" % (name, ", ".join(names)))
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
    low, high, zero_ok = _RANGES[names.index(name)]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("%s must be an integer" % name)
    if zero_ok and value == 0 or low <= value <= high:
        return value
    if zero_ok:
        raise ValueError("%s must be 0 or %d..%d" % (name, low, high))
    raise ValueError("%s must be %d..%d" % (name, low, high))


def load(c):
    # A damaged or unreadable file is not fatal: the defaults apply and c.error says why. A
    # line this firmware cannot use (an unknown name, a bad value) keeps its default.
    names = config.NAMES
    defaults = config._DEFAULTS
    values = list(defaults)
    try:
        data = c._store.load()
    except store.CorruptError:
        data = None
        c.error = "settings file damaged: defaults in use"
    except OSError as e:
        data = None
        c.error = "settings unreadable (%s): defaults in use" % e
    if data:
        try:
            text = str(data, "utf-8")
        except (UnicodeError, ValueError):
            text = ""
            c.error = "settings file unreadable: defaults in use"
        for line in text.split("\n"):
            name, _, raw = line.partition("=")
            if name in names:
                i = names.index(name)
                try:
                    if isinstance(defaults[i], bool):
                        raw = raw == "true"
                    elif isinstance(defaults[i], int):
                        raw = int(raw)
                    values[i] = validate(name, raw)
                except ValueError:
                    pass
    return values


def change(c, name, value):
    """Validate (ValueError, nothing changed), save, then count the change; the value."""
    value = validate(name, value)
    values = c._ensure()
    i = config.NAMES.index(name)
    if values[i] == value:
        return value
    old = values[i]
    values[i] = value
    try:
        _save(c, values)
    except BaseException:
        values[i] = old
        raise
    c.error = None
    c.revision += 1
    return value


def _save(c, values):
    # Only the settings that differ from their defaults: a newer firmware's defaults apply
    # to the rest.
    lines = []
    for i, name in enumerate(config.NAMES):
        v = values[i]
        if v != config._DEFAULTS[i]:
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append("%s=%s" % (name, v))
    c._store.save("\n".join(lines).encode())
