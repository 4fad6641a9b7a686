"""Changing a setting: change(c, name, value) is what config.Config.set(name, value) runs
(config.py's docstring has the settings and the file). A module of its own so that the idle
token, which only reads its settings, does not hold this code: imported at the first set() (a
command) and dropped with the protocol server (app._COMMAND_MODULES).
"""

import config


def change(c, name, value):
    """Validate (ValueError, nothing changed), save, then count the change; the value."""
    value = config.validate(name, value)
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
