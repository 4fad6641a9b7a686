# Scratch directories for firmware tests, on the unix port and on a board.
import binascii
import os
import sys

_n = [0]
_made = []  # directories tmpdir() made, for cleanup()


def tmpdir(tag):
    """A fresh empty directory: under /tmp on the unix port, at the root on a board (and in
    the sim, whose root is its flash and has no /tmp)."""
    base = "/tmp" if sys.platform in ("linux", "darwin") and exists("/tmp") else ""
    _n[0] += 1
    path = "%s/mpt_%s_%s_%d" % (base, tag, binascii.hexlify(os.urandom(4)).decode(), _n[0])
    rmtree(path)
    os.mkdir(path)
    _made.append(path)
    return path


def adopt(path):
    """Have cleanup() remove path too (a scratch directory made by the code under test)."""
    _made.append(path)


def cleanup():
    """Remove every directory tmpdir() made (call it from a module's teardown_function)."""
    while _made:
        rmtree(_made.pop())


def rmtree(path):
    try:
        entries = list(os.ilistdir(path))
    except OSError:
        return
    for entry in entries:
        child = path + "/" + entry[0]
        if entry[1] == 0x4000:
            rmtree(child)
        else:
            os.remove(child)
    os.rmdir(path)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def exists(path):
    try:
        os.stat(path)
    except OSError:
        return False
    return True
