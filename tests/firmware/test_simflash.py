# The sim's file-backed flash: littlefs works on it, it persists, and a power cut in the middle
# of a file update leaves the old content (littlefs's copy-on-write guarantee, proven here for
# every write the update makes).

import fsutil
import mptest

BLOCK = 4096
BLOCKS = 32
OLD = b"old content " * 40
NEW = b"NEW CONTENT, longer than the old one " * 300  # spans several blocks


def _modules():
    try:
        import simflash
        import vfs
    except ImportError:
        mptest.skip("needs the sim flash (boards/sim) and vfs")
    if not hasattr(vfs, "VfsLfs2"):
        mptest.skip("no vfs.VfsLfs2 in this build")
    return simflash, vfs


def _tmp_image():
    return fsutil.tmpdir("flash") + "/flash.img"


def _remove(path):
    import os

    try:
        os.remove(path)
    except OSError:
        pass


def _read(fs, name):
    with fs.open(name, "rb") as f:
        return f.read()


def _write(fs, name, data):
    with fs.open(name, "wb") as f:
        f.write(data)


def test_geometry_and_ioctl():
    simflash, vfs = _modules()
    path = _tmp_image()
    try:
        bd = simflash.FileBlockDevice(path, BLOCK, BLOCKS)
        assert bd.ioctl(4, 0) == BLOCKS
        assert bd.ioctl(5, 0) == BLOCK
        assert bd.ioctl(1, 0) == 0 and bd.ioctl(3, 0) == 0
        buf = bytearray(16)
        bd.readblocks(3, buf, 100)
        assert buf == b"\xff" * 16  # a new image is erased
        mptest.raises(OSError, bd.readblocks, BLOCKS, buf, 0)
        mptest.raises(OSError, bd.readblocks, 0, buf, BLOCK - 8)
        mptest.raises(ValueError, simflash.FileBlockDevice, path, 1000, 8)
        bd.close()
    finally:
        _remove(path)


def test_programming_only_clears_bits_and_erase_sets_them():
    simflash, vfs = _modules()
    path = _tmp_image()
    try:
        bd = simflash.FileBlockDevice(path, BLOCK, BLOCKS)
        bd.writeblocks(2, b"\x0f\xf0", 10)
        bd.writeblocks(2, b"\x3c\x3c", 10)  # no erase in between: old AND new
        buf = bytearray(2)
        bd.readblocks(2, buf, 10)
        assert buf == b"\x0c\x30"
        assert bd.ioctl(6, 2) == 0
        bd.readblocks(2, buf, 10)
        assert buf == b"\xff\xff"
        assert bd.writes == 2 and bd.erases == 1
        bd.close()
    finally:
        _remove(path)


def test_littlefs_mkfs_mount_write_read_and_persist():
    simflash, vfs = _modules()
    path = _tmp_image()
    try:
        bd = simflash.FileBlockDevice(path, BLOCK, BLOCKS)
        vfs.VfsLfs2.mkfs(bd)
        fs = vfs.VfsLfs2(bd)
        fs.mkdir("data")
        _write(fs, "data/a.bin", OLD)
        _write(fs, "big.bin", NEW)
        assert _read(fs, "data/a.bin") == OLD
        assert bd.writes > 0 and bd.erases > 0
        bd.close()
        # A reboot: a new device on the same image file.
        bd = simflash.FileBlockDevice(path, BLOCK, BLOCKS)
        fs = vfs.VfsLfs2(bd)
        assert _read(fs, "data/a.bin") == OLD
        assert _read(fs, "big.bin") == NEW
        assert sorted(fs.ilistdir("data"))[0][0] == "a.bin"
        bd.close()
    finally:
        _remove(path)


def test_in_memory_image_is_erased_persists_and_outlives_close():
    import io

    simflash, vfs = _modules()
    mptest.need_heap(2 * BLOCK * BLOCKS, "an in-memory flash image as it grows")
    image = io.BytesIO()
    bd = simflash.FileBlockDevice(image, BLOCK, BLOCKS)
    assert image.getvalue() == b"\xff" * (BLOCK * BLOCKS)
    vfs.VfsLfs2.mkfs(bd)
    _write(vfs.VfsLfs2(bd), "a.bin", OLD)
    bd.close()  # the caller owns the stream: it stays open, like a file on disk
    bd = simflash.FileBlockDevice(image, BLOCK, BLOCKS)  # a reboot on the same image
    assert _read(vfs.VfsLfs2(bd), "a.bin") == OLD
    bd.cut_power_after(0)
    mptest.raises(simflash.PowerCut, _write, vfs.VfsLfs2(bd), "a.bin", NEW)
    bd = simflash.FileBlockDevice(image, BLOCK, BLOCKS)
    assert _read(vfs.VfsLfs2(bd), "a.bin") == OLD


def test_power_cut_is_not_an_exception():
    simflash, vfs = _modules()
    assert issubclass(simflash.PowerCut, BaseException)
    assert not issubclass(simflash.PowerCut, Exception)


def test_power_cut_during_update_keeps_old_content():
    # On an in-memory image (the same flash model; file persistence is proven above): each cut
    # point restores the old image, which on the sim's own flash would cost a file rewrite.
    import io

    simflash, vfs = _modules()
    mptest.need_heap(3 * BLOCK * BLOCKS, "an in-memory flash image and its copies")
    stream = io.BytesIO(BLOCK * BLOCKS)
    bd = simflash.FileBlockDevice(stream, BLOCK, BLOCKS)
    vfs.VfsLfs2.mkfs(bd)
    fs = vfs.VfsLfs2(bd)
    _write(fs, "a.bin", OLD)
    bd.close()
    image = stream.getvalue()
    # How many block writes does the update take when nothing fails?
    bd = simflash.FileBlockDevice(stream, BLOCK, BLOCKS)
    fs = vfs.VfsLfs2(bd)
    bd.reset_counts()
    _write(fs, "a.bin", NEW)
    total = bd.writes
    bd.close()
    assert total >= 3, total
    print("update of a %d-byte file: %d block writes, each torn in turn" % (len(NEW), total))
    # Tear each of those writes in turn, on a fresh copy of the old image.
    for n in range(total):
        stream.seek(0)
        stream.write(image)
        bd = simflash.FileBlockDevice(stream, BLOCK, BLOCKS)
        fs = vfs.VfsLfs2(bd)
        bd.cut_power_after(n)
        cut = False
        try:
            _write(fs, "a.bin", NEW)
        except simflash.PowerCut:
            cut = True
        assert cut, "write %d was not cut" % n
        assert bd.dead
        mptest.raises(simflash.PowerCut, bd.readblocks, 0, bytearray(4), 0)
        bd.close()
        bd = simflash.FileBlockDevice(stream, BLOCK, BLOCKS)
        fs = vfs.VfsLfs2(bd)
        assert _read(fs, "a.bin") == OLD, "content lost after cut at write %d" % n
        # The file system is still usable after the cut.
        _write(fs, "b.bin", b"after")
        assert _read(fs, "b.bin") == b"after"
        bd.close()


def test_restore_power_and_counters():
    simflash, vfs = _modules()
    path = _tmp_image()
    try:
        bd = simflash.FileBlockDevice(path, BLOCK, BLOCKS)
        bd.cut_power_after(1)
        bd.ioctl(6, 0)
        bd.writeblocks(0, b"\x00" * 8, 0)  # completes
        e = mptest.raises(simflash.PowerCut, bd.writeblocks, 0, b"\x00" * 8, 8)
        assert "block 0" in str(e)
        buf = bytearray(16)
        bd.restore_power()
        bd.readblocks(0, buf, 0)
        assert buf == b"\x00" * 12 + b"\xff" * 4  # the torn write reached half its bytes
        assert bd.writes == 2 and bd.erases == 1 and bd.bytes_written == 12
        bd.close()
    finally:
        _remove(path)


def teardown_function():
    fsutil.cleanup()  # the scratch directories of the test that just ran


if __name__ == "__main__":
    mptest.main(globals())
