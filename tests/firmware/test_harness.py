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


def test_teardown_runs_after_a_passing_and_a_failing_test():
    calls = []

    def fail():
        calls.append("test")
        raise ValueError("boom")

    mptest._run(lambda: calls.append("test"), lambda: calls.append("teardown"))
    mptest.raises(ValueError, mptest._run, fail, lambda: calls.append("teardown"))
    assert calls == ["test", "teardown", "test", "teardown"]


def test_fsutil_cleanup_removes_every_tmpdir():
    import fsutil

    a, b = fsutil.tmpdir("harness"), fsutil.tmpdir("harness")
    fsutil.write(b + "/f", b"x")
    fsutil.cleanup()
    assert not fsutil.exists(a) and not fsutil.exists(b)


if __name__ == "__main__":
    mptest.main(globals())
