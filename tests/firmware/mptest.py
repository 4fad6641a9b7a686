# A tiny test runner for firmware test modules, in plain MicroPython.
#
# The same test files run under pytest on the host (tests/firmware/conftest.py starts one
# `micropython` process per module and parses what this prints) and on a board through
# `mpremote run`. A test module defines `test_*` functions and ends with:
#
#     if __name__ == "__main__":
#         import mptest
#         mptest.main(globals())
#
# Output protocol, one line per event, each starting with the marker so that anything else a
# test prints is passed through as plain output:
#
#     @@MPTEST start <name>
#     @@MPTEST pass <name>
#     @@MPTEST fail <name>          (followed by the MicroPython traceback, then)
#     @@MPTEST endfail <name>
#     @@MPTEST skip <name> <reason>
#     @@MPTEST done <passed> <failed> <skipped>

import sys

_MARK = "@@MPTEST"


class SkipTest(Exception):
    pass


def skip(reason):
    """Skip the running test with a visible reason (e.g. it needs the sim's device models)."""
    raise SkipTest(reason)


def need_heap(nbytes, what):
    """Skip the running test unless nbytes of heap are free. For the sim's models that keep a
    whole flash image in RAM: more than an ESP32-sized heap (112 KiB, e.g. RV32 in QEMU) holds."""
    import gc

    gc.collect()
    free = gc.mem_free()
    if free < nbytes:
        skip("needs %d KiB of free heap for %s, %d KiB free" % (nbytes >> 10, what, free >> 10))


def raises(exc_type, func, *args, **kwargs):
    """Call func and return the exception it raised; fail if it raised nothing or another type."""
    try:
        func(*args, **kwargs)
    except exc_type as e:
        return e
    raise AssertionError("expected %s, nothing was raised" % exc_type.__name__)


def _tests(namespace, only):
    names = [n for n in namespace if n.startswith("test_") and callable(namespace[n])]
    # Dict order is not definition order on every port: sort for a stable report.
    names.sort()
    if only:
        names = [n for n in names if n in only]
    return names


def _run(test, teardown):
    try:
        test()
    finally:
        if teardown is not None:
            teardown()


def main(namespace, only=None):
    """Run the module's tests; a module-level `teardown_function()`, if defined, runs after
    each test, passed or not (e.g. to remove scratch directories)."""
    teardown = namespace.get("teardown_function")
    passed = failed = skipped = 0
    for name in _tests(namespace, only):
        print(_MARK, "start", name)
        try:
            _run(namespace[name], teardown)
        except SkipTest as e:
            skipped += 1
            print(_MARK, "skip", name, e.args[0] if e.args else "")
        except Exception as e:  # noqa: BLE001 - a test runner reports every failure
            failed += 1
            print(_MARK, "fail", name)
            sys.print_exception(e)
            print(_MARK, "endfail", name)
        else:
            passed += 1
            print(_MARK, "pass", name)
    print(_MARK, "done", passed, failed, skipped)
    return failed == 0
