# The sim board (boards/sim) for the app tests on it (test_app_sim.py, test_app_sim_battery.py):
# fresh device models for each test, or a skip that names what is missing.
import fsutil
import mptest


def make():
    try:
        import board as simboard
        import simlink
    except ImportError as e:  # e.g. no `socket` module (RV32 in QEMU): name what is missing
        mptest.skip("needs the sim board (boards/sim): %s" % e)
    if not hasattr(simlink, "Hardware"):
        mptest.skip("needs the sim board's models")
    import os

    try:
        os.stat("/tmp")  # a standalone sim board keeps its data under /tmp
    except OSError:
        mptest.skip("needs a host /tmp (runs under the unix port, not on the sim's flash)")
    b = simboard.Board(simlink.Hardware())  # fresh models for each test
    fsutil.adopt(b.data_dir)
    return b
