# Checks of the firmware test runner itself, run like every other firmware test module.
import sys

import mptest


def test_runs_on_micropython():
    assert sys.implementation.name == "micropython"


def test_raises_returns_the_exception():
    e = mptest.raises(ValueError, int, "x")
    assert isinstance(e, ValueError)


def test_raises_fails_when_nothing_raised():
    try:
        mptest.raises(ValueError, int, "1")
    except AssertionError:
        return
    raise AssertionError("mptest.raises accepted a call that raised nothing")


if __name__ == "__main__":
    mptest.main(globals())
