"""Round-trip compensated clock arithmetic for `host_tools time` and `time sync`.

One sample is a TIME_GET exchange: the host's UTC clock just before the request is written
(`sent_ms`) and just after the answer arrived (`received_ms`), and the token's UTC time in its
answer. Assuming the two directions take equally long, the token read its clock at the
midpoint, so its offset is `token_ms - (sent_ms + received_ms) / 2`, uncertain by half the
round trip. Among several samples the one with the shortest round trip is the most precise.

Setting the clock: the value sent is the host time at sending plus the one-way delay (half the
best round trip seen), so the token's clock equals the host's when the command arrives.
`sync(session)` does that and measures again, correcting by the residual for up to a few
rounds. The session supplies samples and the TIME_SET; the arithmetic is all here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from host_tools.errors import TokenError

log = logging.getLogger(__name__)


def host_now_ms() -> float:
    """Host UTC time in milliseconds (float, sub-millisecond resolution)."""
    return time.time_ns() / 1e6


@dataclass(frozen=True)
class Sample:
    sent_ms: float
    received_ms: float
    token_ms: int
    valid: bool

    @property
    def rtt_ms(self) -> float:
        return self.received_ms - self.sent_ms

    @property
    def host_ms(self) -> float:
        """Host time at the moment the token read its clock (the round trip's midpoint)."""
        return (self.sent_ms + self.received_ms) / 2

    @property
    def offset_ms(self) -> float:
        """Token minus host, in ms (positive: the token is ahead)."""
        return self.token_ms - self.host_ms


def best(samples: Sequence[Sample]) -> Sample:
    """The sample with the shortest round trip (the tightest bound on the offset)."""
    if not samples:
        raise ValueError("no samples")
    return min(samples, key=lambda s: s.rtt_ms)


def set_value_ms(host_ms: float, rtt_ms: float) -> int:
    """The time to send in TIME_SET written at host time `host_ms`: the host's time when the
    token will read it, half a round trip later."""
    return round(host_ms + max(rtt_ms, 0.0) / 2)


@dataclass(frozen=True)
class SyncResult:
    before_ms: float | None  # offset before setting (None: the clock was not valid)
    residual_ms: float  # offset measured after setting
    uncertainty_ms: float  # half the best round trip of the final measurement
    rounds: int


class TokenClock(Protocol):
    """What `sync` needs of a session."""

    def time_samples(self, count: int = 5) -> list[Sample]: ...

    def set_time_ms(self, unix_ms: int) -> None: ...


def sync(token: TokenClock, samples: int = 5, rounds: int = 3, goal_ms: float = 5.0) -> SyncResult:
    """Set the token's clock to the host's, compensating for the round trip; repeat (up to
    `rounds`) while the measured residual exceeds `goal_ms`."""
    first = token.time_samples(samples)
    good = [s for s in first if s.valid]
    before = best(good).offset_ms if len(good) == len(first) else None
    rtt = best(first).rtt_ms
    correction = 0.0
    residual = best(first)
    for n in range(1, rounds + 1):
        token.set_time_ms(set_value_ms(host_now_ms() - correction, rtt))
        after = token.time_samples(samples)
        if not all(s.valid for s in after):
            raise TokenError("the token's clock is still not valid after setting it")
        residual = best(after)
        rtt = residual.rtt_ms
        log.info("sync round %d: residual %.1f ms (rtt %.1f ms)", n, residual.offset_ms, rtt)
        if abs(residual.offset_ms) <= goal_ms:
            return SyncResult(before, residual.offset_ms, rtt / 2, n)
        correction += residual.offset_ms
    return SyncResult(before, residual.offset_ms, residual.rtt_ms / 2, rounds)
