"""The sim's REPL-mode tracker (host_tools.sim.repl): which REPL the firmware is in, from its
output, and the boot into the raw REPL after a soft reset from the raw REPL."""

from __future__ import annotations

from host_tools.sim.repl import RAW_PROMPT, ReplMode, ReplTracker

BANNER = (
    b"MicroPython 9458e3a23f on 2026-07-05; linux [GCC 14.2.1] version\r\n"
    b'Use Ctrl-D to exit, Ctrl-E for paste mode\r\nType "help()" for more information.\r\n>>> '
)


def make() -> tuple[ReplTracker, list[bytes]]:
    typed: list[bytes] = []
    return ReplTracker(typed.append), typed


def test_starts_friendly_and_follows_the_output() -> None:
    repl, typed = make()
    assert repl.mode is ReplMode.FRIENDLY and repl.ready
    assert repl.output(b"\r\n" + RAW_PROMPT + b">") == b"\r\n" + RAW_PROMPT + b">"
    assert repl.mode is ReplMode.RAW
    repl.output(b"OK\x04\x04>")
    assert repl.mode is ReplMode.RAW  # output in the raw REPL changes nothing
    repl.output(BANNER)
    assert repl.mode is ReplMode.FRIENDLY
    assert typed == []


def test_a_marker_split_across_reads_is_seen() -> None:
    repl, _ = make()
    repl.output(RAW_PROMPT[:7])
    assert repl.mode is ReplMode.FRIENDLY
    repl.output(RAW_PROMPT[7:])
    assert repl.mode is ReplMode.RAW
    for i in range(0, len(BANNER), 5):  # the banner in small pieces
        repl.output(BANNER[i : i + 5])
    assert repl.mode is ReplMode.FRIENDLY


def test_the_last_marker_wins() -> None:
    repl, _ = make()
    repl.output(BANNER + b"\x01" + RAW_PROMPT + b">")
    assert repl.mode is ReplMode.RAW
    repl.output(RAW_PROMPT + BANNER)
    assert repl.mode is ReplMode.FRIENDLY


def test_a_raw_boot_hides_the_banner_and_types_ctrl_a() -> None:
    repl, typed = make()
    repl.output(RAW_PROMPT)
    repl.boot(run_main=False)
    assert not repl.ready
    shown = repl.output(b"early\r\n" + BANNER[:20])
    assert shown == b"early\r\n"  # what comes before the banner passes
    assert repl.output(BANNER[20:]) == b"" and typed == [b"\x01"]
    out = repl.output(b"\r\n" + RAW_PROMPT + b">")
    assert out == RAW_PROMPT + b">"  # what a board shows after a raw-REPL soft reset
    assert repl.ready and repl.mode is ReplMode.RAW
    assert repl.output(b"OK") == b"OK"  # after the boot output passes unchanged


def test_a_boot_with_main_is_friendly_and_ready_at_once() -> None:
    repl, typed = make()
    repl.output(RAW_PROMPT)
    repl.boot(run_main=True)
    assert repl.ready and repl.mode is ReplMode.FRIENDLY
    assert repl.output(BANNER) == BANNER and typed == []


def test_giving_up_on_a_raw_boot_shows_what_was_hidden() -> None:
    repl, typed = make()
    repl.boot(run_main=False)
    repl.output(BANNER)
    assert typed == [b"\x01"]
    assert repl.give_up() == BANNER
    assert repl.ready
    assert repl.output(b"late") == b"late"
