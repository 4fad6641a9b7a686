# Settings: defaults, validation, persistence through store.py, live revision.
import config
import fsutil
import mptest


def fresh():
    d = fsutil.tmpdir("cfg")
    return d, config.Config(d)


def test_defaults_without_a_file():
    d, c = fresh()
    assert c.get("screen_timeout_s") == 30
    assert c.get("contrast") == 128
    assert c.get("rotate") is False
    assert c.get("button_mode") == "auto"
    assert c.get("preview_s") == 5
    assert c.get("sleep_s") == 600
    assert [n for n, _ in c.items()] == list(config.NAMES)
    assert c.error is None
    assert not fsutil.exists(d + "/config.bin")


def test_set_persists_and_a_new_instance_reads_it():
    d, c = fresh()
    assert c.set("contrast", 200) == 200
    assert c.set("rotate", True) is True
    assert c.set("button_mode", "one") == "one"
    assert c.set("screen_timeout_s", 0) == 0
    assert c.set("preview_s", 10) == 10
    assert c.set("sleep_s", 0) == 0
    c2 = config.Config(d)
    assert c2.get("sleep_s") == 0
    assert c2.get("contrast") == 200
    assert c2.get("rotate") is True
    assert c2.get("button_mode") == "one"
    assert c2.get("screen_timeout_s") == 0
    assert c2.get("preview_s") == 10


def test_rotate_accepts_0_and_1():
    d, c = fresh()
    assert c.set("rotate", 1) is True
    assert c.set("rotate", 0) is False


def test_bad_values_are_rejected_and_change_nothing():
    d, c = fresh()
    c.set("contrast", 10)
    r = c.revision
    bad = (
        ("contrast", 256),
        ("contrast", -1),
        ("contrast", "10"),
        ("contrast", True),
        ("screen_timeout_s", 4),
        ("screen_timeout_s", 3601),
        ("rotate", 2),
        ("rotate", "yes"),
        ("button_mode", "three"),
        ("preview_s", 31),
        ("preview_s", 1.5),
        ("sleep_s", 9),
        ("sleep_s", 3601),
        ("nonsense", 1),
    )
    for name, value in bad:
        e = mptest.raises(ValueError, c.set, name, value)
        assert name in str(e), str(e)
    assert c.revision == r
    assert config.Config(d).get("contrast") == 10
    mptest.raises(ValueError, c.get, "nonsense")


def test_revision_counts_real_changes_only():
    d, c = fresh()
    r = c.revision
    c.set("contrast", 128)  # the default: nothing to save
    assert c.revision == r
    c.set("contrast", 1)
    assert c.revision == r + 1


def test_damaged_file_gives_defaults_and_an_error_then_recovers():
    d, c = fresh()
    c.set("contrast", 5)
    c.set("contrast", 6)  # now config.bin and config.bin.bak exist
    for name in ("config.bin", "config.bin.bak"):
        data = bytearray(fsutil.read(d + "/" + name))
        data[-1] ^= 0xFF
        fsutil.write(d + "/" + name, data)
    c2 = config.Config(d)
    assert c2.get("contrast") == 128
    assert c2.error and "damaged" in c2.error
    c2.set("contrast", 7)
    assert c2.error is None
    assert config.Config(d).get("contrast") == 7


def test_unknown_names_and_bad_values_in_the_file_are_ignored():
    import store

    d = fsutil.tmpdir("cfg")
    store.Store(d + "/config.bin", b"TKCF", 1024).save(
        b"contrast=300\nfuture_thing=1\npreview_s=7\nrotate=true\nbutton_mode=two"
    )
    c = config.Config(d)
    assert c.get("contrast") == 128
    assert c.get("preview_s") == 7
    assert c.get("rotate") is True
    assert c.get("button_mode") == "two"
    assert c.error is None


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
