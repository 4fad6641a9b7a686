# The protocol's settings commands (docs/protocol.md): CONFIG_GET and CONFIG_SET. Imported by
# server.Server's dispatch table for one of them and dropped after.
#
#     cmdconfig.run(server, code, request)   # raises protocol.Fail to refuse

from micropython import const
from protocol import Fail

_CONFIG_GET = const(0x0F)
_NOT_FOUND = const(0x22)


def run(server, code, req):
    name = req.text()
    if code == _CONFIG_GET:
        _get(server, name, req)
    else:
        _set(server, name, req)


def _get(server, name, req):
    req.end()
    found = False
    resp = server.resp
    for n, value in server.token.config.items():
        if not name or n == name:
            resp.put_text(n)
            resp.put_text(_text(value))
            found = True
    if not found:
        raise Fail(_NOT_FOUND, "no setting %s" % name)


def _set(server, name, req):
    text = req.text()
    req.end()
    token = server.token
    config = token.config
    for n, value in config.items():
        if n == name:
            config.set(name, _value(value, text))
            token.changed()
            server.resp.put_text(_text(config.get(name)))
            return
    raise Fail(_NOT_FOUND, "no setting %s" % name)


def _text(value):
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _value(current, text):
    # Settings travel as text; the current value's type says how to read the new one.
    if isinstance(current, bool):
        low = text.lower()
        if low in ("1", "true", "on", "yes"):
            return True
        if low in ("0", "false", "off", "no"):
            return False
        raise ValueError("expected true or false")
    if isinstance(current, int):
        try:
            return int(text)
        except ValueError:
            raise ValueError("expected an integer") from None
    return text
