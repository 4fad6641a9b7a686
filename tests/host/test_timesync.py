"""Round-trip compensated time setting, with the host clock frozen and moved by freezegun."""

from __future__ import annotations

import datetime as dt

import pytest
from freezegun import freeze_time

from host_tools import protocol as p
from host_tools import timesync
from host_tools.link import Link
from host_tools.session import Session
from host_tools.timesync import Sample


def test_offset_is_measured_against_the_round_trip_midpoint() -> None:
    s = Sample(sent_ms=1000.0, received_ms=1040.0, token_ms=1520, valid=True)
    assert s.rtt_ms == 40.0
    assert s.host_ms == 1020.0
    assert s.offset_ms == 500.0


def test_best_sample_is_the_shortest_round_trip() -> None:
    samples = [Sample(0, 30, 100, True), Sample(100, 104, 150, True), Sample(200, 250, 0, True)]
    assert timesync.best(samples).sent_ms == 100
    with pytest.raises(ValueError):
        timesync.best([])


def test_set_value_adds_half_the_round_trip() -> None:
    assert timesync.set_value_ms(1_700_000_000_000.0, 20.0) == 1_700_000_000_010
    assert timesync.set_value_ms(5.4, -3.0) == 5  # a negative round trip is treated as 0


@freeze_time("2026-11-23 12:00:00")
def test_host_now_follows_the_frozen_clock() -> None:
    assert (
        timesync.host_now_ms()
        == dt.datetime(2026, 11, 23, 12, tzinfo=dt.timezone.utc).timestamp() * 1000
    )


class SimulatedToken(Link):
    """A link whose token lives in this process: its clock is the (frozen) host clock plus
    `offset_ms`, requests take `up_ms` to arrive and answers `down_ms` to come back."""

    def __init__(self, frozen, offset_ms: float | None, up_ms: float, down_ms: float) -> None:
        super().__init__(transport=None)  # type: ignore[arg-type]
        self.frozen = frozen
        self.offset_ms = offset_ms
        self.up_ms = up_ms
        self.down_ms = down_ms

    def token_now_ms(self) -> float:
        assert self.offset_ms is not None
        return timesync.host_now_ms() + self.offset_ms

    def request(self, command: int, payload: bytes = b"", timeout: float | None = None) -> bytes:
        self.frozen.tick(dt.timedelta(milliseconds=self.up_ms))
        if command == p.Command.TIME_GET:
            if self.offset_ms is None:
                answer = p.Fields().u8(0).u64(0).bytes()
            else:
                answer = p.Fields().u8(1).u64(int(self.token_now_ms())).bytes()
        elif command == p.Command.TIME_SET:
            value = p.FieldReader(payload).u64()
            self.offset_ms = value - timesync.host_now_ms()
            answer = b""
        else:
            raise AssertionError(command)
        self.frozen.tick(dt.timedelta(milliseconds=self.down_ms))
        return answer


@pytest.mark.parametrize(
    ("offset", "up", "down"),
    [(None, 5, 5), (-86_400_000.0, 3, 3), (2500.0, 12, 12), (-40.0, 1, 9)],
)
def test_sync_leaves_the_token_within_the_link_asymmetry(
    offset: float | None, up: float, down: float
) -> None:
    with freeze_time("2026-11-23 12:00:00.250") as frozen:
        token = SimulatedToken(frozen, offset, up, down)
        result = timesync.sync(Session(token, handshake=False), samples=3, rounds=3)
        assert token.offset_ms is not None
        # Symmetric delays: exact. Asymmetric: off by half the difference, which no round
        # trip measurement can see (the residual is measured the same way).
        assert abs(token.offset_ms) <= abs(up - down) / 2 + 1
        # What a round trip measures: the true offset plus half the asymmetry.
        seen = None if offset is None else pytest.approx(offset + (up - down) / 2, abs=0.01)
        assert result.before_ms == seen
        assert abs(result.residual_ms) <= 5
        assert result.uncertainty_ms == pytest.approx((up + down) / 2, abs=0.01)


def test_sync_corrects_in_further_rounds_when_the_first_misses() -> None:
    with freeze_time("2026-11-23 12:00:00") as frozen:

        class SlowSet(SimulatedToken):
            # The token applies a set value 30 ms late (e.g. a slow flash write): the
            # residual after round 1 is measurable, and round 2 corrects for it.
            def request(self, command, payload=b"", timeout=None):  # type: ignore[no-untyped-def]
                answer = super().request(command, payload, timeout)
                if command == p.Command.TIME_SET:
                    self.offset_ms -= 30
                return answer

        token = SlowSet(frozen, 0.0, 4, 4)
        result = timesync.sync(Session(token, handshake=False), samples=3, rounds=3)
        assert result.rounds == 2
        assert abs(token.offset_ms) <= 1
