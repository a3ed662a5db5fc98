"""The per-platform gate: an optional shared request rate, and holds that stop every worker."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from connectors.base import Gate


class StoppedClock:
    """A clock that stands still while the gate sleeps, so every sleep shows the full hold."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)


def _acquire_from_threads(gate: Gate, times: int, threads: int = 4) -> None:
    with ThreadPoolExecutor(threads) as pool:
        for future in [pool.submit(gate.acquire) for _ in range(times)]:
            future.result()


def test_without_a_rate_acquire_never_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    # Count sleeps rather than time them: the gate's own (injected) sleep and the limiter's.
    limiter_sleeps: list[float] = []
    monkeypatch.setattr("pyrate_limiter.limiter.sleep", limiter_sleeps.append)
    clock = StoppedClock()
    gate = Gate(clock=clock, sleep=clock.sleep)
    _acquire_from_threads(gate, 1000)
    assert gate.max_rps is None
    assert clock.slept == []
    assert limiter_sleeps == []


def test_the_rate_is_shared_by_every_worker() -> None:
    # 20 a second is one every 50 ms, whichever of the 4 threads asks: 11 requests need 10 gaps.
    # A behaviour check with a wide margin, not a performance measurement.
    gate = Gate(max_rps=20)
    started = time.monotonic()
    _acquire_from_threads(gate, 11)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 10


def test_a_rate_does_not_delay_the_first_request(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter_sleeps: list[float] = []
    monkeypatch.setattr("pyrate_limiter.limiter.sleep", limiter_sleeps.append)
    Gate(max_rps=0.3).acquire()
    assert limiter_sleeps == []


def test_gates_do_not_share_a_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    # One gate per platform: a slow X must not slow YouTube.
    limiter_sleeps: list[float] = []
    monkeypatch.setattr("pyrate_limiter.limiter.sleep", limiter_sleeps.append)
    twitter, youtube = Gate(max_rps=0.3), Gate(max_rps=0.3)
    twitter.acquire()
    youtube.acquire()
    assert limiter_sleeps == []


def test_a_hold_stops_every_worker_of_the_platform() -> None:
    clock = StoppedClock()
    gate = Gate(clock=clock, sleep=clock.sleep)
    gate.hold(30)
    _acquire_from_threads(gate, 3, threads=3)
    assert clock.slept == [30, 30, 30]


def test_a_shorter_hold_does_not_cut_a_longer_one() -> None:
    clock = StoppedClock()
    gate = Gate(clock=clock, sleep=clock.sleep)
    gate.hold(30)
    gate.hold(5)
    gate.acquire()
    assert clock.slept == [30]


def test_a_hold_ends() -> None:
    clock = StoppedClock()
    gate = Gate(clock=clock, sleep=clock.sleep)
    gate.hold(30)
    clock.now += 30
    gate.acquire()
    assert clock.slept == []


def test_a_hold_comes_before_the_rate() -> None:
    clock = StoppedClock()
    gate = Gate(max_rps=1000, clock=clock, sleep=clock.sleep)
    gate.hold(12)
    gate.acquire()
    assert clock.slept == [12]


def test_exhausted_is_remembered_for_the_run() -> None:
    gate = Gate()
    assert gate.exhausted is None
    gate.mark_exhausted("YouTube daily quota spent")
    assert gate.exhausted == "YouTube daily quota spent"


@pytest.mark.parametrize("max_rps", [0, -1, 1001, float("inf"), float("nan")])
def test_an_impossible_rate_is_refused(max_rps: float) -> None:
    with pytest.raises(ValueError, match="max_rps"):
        Gate(max_rps=max_rps)
