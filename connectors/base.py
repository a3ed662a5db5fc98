"""What every connector shares: the protocol, cost meters, retries and a per-platform gate."""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol, TypeVar

import tenacity
from pyrate_limiter import Limiter, Rate

from analyser.config import MAX_RPS_CEILING
from analyser.errors import MalformedBodyError, RateLimitError, RetriableError
from analyser.handles import Handle
from analyser.models import AccountSnapshot, Platform

__all__ = [
    "Connector",
    "Cost",
    "Gate",
    "Meter",
    "RetryPolicy",
    "call_with_retry",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Cost:
    """Planned or spent cost of fetching accounts: HTTP requests, YouTube units, X post reads."""

    requests: int = 0
    quota_units: int = 0
    post_reads: int = 0

    def __add__(self, other: Cost) -> Cost:
        return Cost(
            self.requests + other.requests,
            self.quota_units + other.quota_units,
            self.post_reads + other.post_reads,
        )


@dataclass
class Meter:
    """Counts what one fetch spends. Every HTTP attempt counts, retries included."""

    requests: int = 0
    quota_units: int = 0
    post_reads: int = 0

    def request(self, *, units: int = 0) -> None:
        self.requests += 1
        self.quota_units += units

    def cost(self) -> Cost:
        return Cost(self.requests, self.quota_units, self.post_reads)


# The limiter sleeps this much beyond the computed wait before trying again (its default, 50 ms,
# would turn 20 requests a second into 10).
_LIMITER_BUFFER_MS = 1
_BUCKET_NAME = "gate"


class Gate:
    """One per platform, shared by every worker: keeps requests under an optional rate and holds
    all of them back together when the platform says "come back later", so workers do not
    hammer a limit.

    The rate (`max_rps`, from UPTAKE_<PLATFORM>_MAX_RPS) is a pyrate-limiter leaky bucket that
    lets one request through every 1/max_rps seconds, whichever worker asks; None means no
    proactive limit. The holds come from the platforms' own headers (x-rate-limit-reset,
    X-App-Usage, YouTube rateLimitExceeded), which no library reads for us. `clock` and `sleep`
    drive the holds only, so tests can inject them; the rate runs on real time.

    >>> gate = Gate(max_rps=0.3)  # well under X's 300 user lookups per 15 minutes
    >>> gate.acquire()  # the first request goes at once
    """

    def __init__(
        self,
        max_rps: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_rps is not None and not 0 < max_rps <= MAX_RPS_CEILING:
            raise ValueError(f"max_rps must be above 0 and at most {MAX_RPS_CEILING:g}")
        self.max_rps = max_rps
        self._limiter = (
            None
            if max_rps is None
            else Limiter(Rate(1, _interval_ms(max_rps)), buffer_ms=_LIMITER_BUFFER_MS)
        )
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._held_until = 0.0
        self.exhausted: str | None = None

    def mark_exhausted(self, reason: str) -> None:
        """Stop spending on this platform for the rest of the run (e.g. YouTube daily quota)."""
        self.exhausted = reason

    def acquire(self) -> None:
        """Wait for this platform's turn: out any hold first, then for a slot under the rate
        (so workers released together by a hold still go one slot apart)."""
        with self._lock:
            wait = self._held_until - self._clock()
        if wait > 0:
            self._sleep(wait)
        if self._limiter is not None:
            self._limiter.try_acquire(_BUCKET_NAME, blocking=True)

    def hold(self, seconds: float) -> None:
        """Make every worker of this platform wait `seconds` from now."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)


def _interval_ms(max_rps: float) -> int:
    """Milliseconds between two requests at `max_rps`: 0.3 -> 3333, 20 -> 50."""
    return max(1, round(1000 / max_rps))


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter; the sleep is injectable."""

    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 60.0
    max_rate_limit_wait_s: float = 900.0
    sleep: Callable[[float], None] = field(default=time.sleep)
    jitter: Callable[[float, float], float] = field(default=random.uniform)

    @classmethod
    def no_wait(cls, max_attempts: int = 3) -> RetryPolicy:
        """For tests: same decisions, no sleeping."""
        return cls(max_attempts=max_attempts, sleep=lambda _s: None)


def call_with_retry(fn: Callable[[], T], policy: RetryPolicy, *, gate: Gate | None = None) -> T:
    """Run `fn`, retrying RetriableError up to policy.max_attempts.

    A rate limit with a known reset waits until then (bounded by max_rate_limit_wait_s: a longer
    wait raises at once, so a batch is not frozen for an hour); other retriable errors back off
    exponentially with jitter. A body still not JSON when the attempts run out says how many
    attempts were made, so nobody takes it for a one-off truncation.
    """
    attempts = 0

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableError) and exc.retry_after is not None:
            return max(0.0, exc.retry_after)
        ceiling = min(policy.max_delay_s, policy.base_delay_s * 2 ** (state.attempt_number - 1))
        return policy.jitter(0.0, ceiling)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetriableError) and exc.retry_after is not None and gate is not None:
            gate.hold(exc.retry_after)

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        if gate is not None:
            gate.acquire()
        try:
            return fn()
        except RateLimitError as exc:
            if exc.retry_after is not None and exc.retry_after > policy.max_rate_limit_wait_s:
                minutes = math.ceil(exc.retry_after / 60)
                raise RateLimitError(
                    f"{exc.message} (the limit resets in about {minutes} min, longer than the "
                    f"{policy.max_rate_limit_wait_s:.0f} s we wait; try again later)",
                    retry_after=exc.retry_after,  # keeps the retry predicate from retrying it
                ) from None
            raise

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, policy.max_attempts)),
        wait=wait,
        retry=tenacity.retry_if_exception(
            lambda e: (
                isinstance(e, RetriableError)
                and not (
                    isinstance(e, RateLimitError)
                    and e.retry_after is not None
                    and e.retry_after > policy.max_rate_limit_wait_s
                )
            )
        ),
        sleep=policy.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(attempt)
    except MalformedBodyError as exc:
        if attempts < 2:
            raise
        raise MalformedBodyError(f"{exc.message} ({attempts} attempts)") from None


class Connector(Protocol):
    """One platform. Built by `connectors.make_connector`; raw API fields never leave it.

    Each platform module also has `build(settings, seam, *, policy, gate)` and
    `planned_cost(max_posts, settings) -> Cost` at module level.
    """

    platform: ClassVar[Platform]

    def fetch(
        self,
        handle: Handle,
        *,
        max_posts: int,
        since: datetime | None = None,
        meter: Meter | None = None,
    ) -> AccountSnapshot:
        """Fetch the account and up to `max_posts` recent posts. Unknown accounts come back as a
        snapshot with status not_found, never as an exception. Pass a `meter` to learn what a
        fetch spent even when it fails half-way (quota units are spent all the same)."""
        ...
