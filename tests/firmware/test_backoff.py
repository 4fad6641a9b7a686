# backoff.Backoff: a failure counter on flash with a doubling delay (firmware/backoff.py).
import backoff
import fsutil
import mptest


def _fresh():
    d = fsutil.tmpdir("backoff")
    return d + "/b.bin"


def test_no_failures_no_wait():
    b = backoff.Backoff(_fresh())
    assert b.failures == 0
    assert b.wait_s(1000) == 0
    b.succeed()
    assert b.failures == 0 and b.wait_s(1000) == 0


def test_delay_doubles_per_failure_and_is_capped_at_an_hour():
    b = backoff.Backoff(_fresh())
    now = 1_000_000
    expected = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600, 3600]
    for n, delay in enumerate(expected, 1):
        b.fail(now)
        assert b.failures == n
        assert b.wait_s(now) == delay, (n, b.wait_s(now), delay)
        assert b.wait_s(now + delay - 1) == 1
        assert b.wait_s(now + delay) == 0
        now += delay


def test_wait_counts_down_with_the_clock_and_rounds_up():
    b = backoff.Backoff(_fresh())
    for _ in range(4):
        b.fail(500)
    assert b.wait_s(500) == 8
    assert b.wait_s(503) == 5
    assert b.wait_s(503.5) == 5  # 4.5 s left: never report less than what is left
    assert b.wait_s(507.99) == 1
    assert b.wait_s(508) == 0
    assert b.wait_s(10_000) == 0


def test_success_clears_the_count_on_flash():
    path = _fresh()
    b = backoff.Backoff(path)
    for _ in range(5):
        b.fail(100)
    b.succeed()
    assert b.failures == 0 and b.wait_s(100) == 0
    assert backoff.Backoff(path).failures == 0


def test_count_survives_a_reset_and_the_pending_delay_restarts_in_full():
    path = _fresh()
    b = backoff.Backoff(path)
    for _ in range(6):
        b.fail(2000)
    assert b.wait_s(2030) == 2  # 32 s delay, 30 s gone
    again = backoff.Backoff(path)  # a reboot: the count is on flash, the time is not
    assert again.failures == 6
    assert again.wait_s(2030) == 32  # restarts in full at the first look after boot
    assert again.wait_s(2040) == 22
    assert again.wait_s(2062) == 0
    again.fail(2062)
    assert again.failures == 7 and again.wait_s(2062) == 64


def test_a_clock_moved_back_restarts_the_delay_rather_than_extending_it():
    b = backoff.Backoff(_fresh())
    for _ in range(3):
        b.fail(5000)
    assert b.wait_s(5000) == 4
    assert b.wait_s(100) == 4  # clock set back by 4900 s: 4 s from now, not 4904
    assert b.wait_s(104) == 0


def test_a_damaged_file_counts_as_the_cap():
    path = _fresh()
    b = backoff.Backoff(path)
    b.fail(0)
    b.fail(0)
    data = bytearray(fsutil.read(path))
    data[-1] ^= 0x40
    fsutil.write(path, data)
    bak = path + ".bak"
    if fsutil.exists(bak):
        data = bytearray(fsutil.read(bak))
        data[-1] ^= 0x40
        fsutil.write(bak, data)
    hurt = backoff.Backoff(path)
    assert hurt.failures > 12
    assert hurt.wait_s(0) == 3600


def test_erase_forgets_everything():
    path = _fresh()
    b = backoff.Backoff(path)
    b.fail(0)
    b.erase()
    assert b.failures == 0 and b.wait_s(0) == 0
    assert backoff.Backoff(path).failures == 0
    assert not fsutil.exists(path)


def test_the_count_saturates_instead_of_growing_without_bound():
    b = backoff.Backoff(_fresh())
    b.failures = 0xFFFF
    b.fail(0)
    assert b.failures == 0xFFFF and b.wait_s(0) == 3600


# ---- power cuts on the sim's flash: every write position of fail() and succeed()

_MOUNT = "/bcut"


def _mount(simflash, image, mkfs=False):
    import vfs

    bd = simflash.FileBlockDevice(image, 512, 32)
    if mkfs:
        vfs.VfsLfs2.mkfs(bd)
    vfs.mount(vfs.VfsLfs2(bd), _MOUNT)
    return bd


def _unmount(bd):
    import gc

    import vfs

    try:
        vfs.umount(_MOUNT)
    except BaseException:  # noqa: BLE001 - the dead device may refuse even this
        pass
    gc.collect()
    bd.close()


def _sweep(before, operation):
    """With `before` failures counted, run operation(Backoff) cutting the power after 0, 1,
    2, ... block writes until it completes; after each cut the count read back at boot must be
    the old one or the new one. Returns (olds, news)."""
    try:
        import simflash
    except ImportError:
        mptest.skip("needs boards/sim/simflash.py")
    import io

    try:
        import vfs

        vfs.umount(_MOUNT)
    except OSError:
        pass
    path = _MOUNT + "/b.bin"
    image = io.BytesIO(512 * 32)
    bd = _mount(simflash, image, mkfs=True)
    b = backoff.Backoff(path)
    for _ in range(before):
        b.fail(0)
    _unmount(bd)
    base = image.getvalue()
    bd = _mount(simflash, image)
    operation(backoff.Backoff(path))
    new = backoff.Backoff(path).failures
    _unmount(bd)
    assert new != before
    n = olds = news = 0
    while True:
        image.seek(0)
        image.write(base)
        bd = _mount(simflash, image)
        bd.cut_power_after(n)
        try:
            operation(backoff.Backoff(path))
            done = True
        except simflash.PowerCut:
            done = False
        _unmount(bd)
        bd = _mount(simflash, image)  # reboot
        got = backoff.Backoff(path).failures
        if got == before:
            olds += 1
            assert not done, "fail/succeed returned but the old count loaded"
        elif got == new:
            news += 1
        else:
            raise AssertionError("cut after %d writes: count %d, neither old nor new" % (n, got))
        # The counter still works after the cut.
        again = backoff.Backoff(path)
        again.fail(0)
        assert backoff.Backoff(path).failures == got + 1
        _unmount(bd)
        if done:
            break
        n += 1
    print("power cuts: %d cut points, %d old, %d new" % (n + 1, olds, news))
    assert olds > 0 and news > 0
    return olds, news


def test_power_cut_during_the_first_fail():
    _sweep(0, lambda b: b.fail(0))


def test_power_cut_during_a_later_fail():
    _sweep(3, lambda b: b.fail(0))


def test_power_cut_during_succeed():
    _sweep(5, lambda b: b.succeed())


def teardown_function():
    fsutil.cleanup()


if __name__ == "__main__":
    mptest.main(globals())
