"""Wires connectors to the analysis: fetch a brand's accounts over a seam, then assess them."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, Protocol

from analyser.config import Settings
from analyser.errors import (
    ApiError,
    BadInputError,
    QuotaExceededError,
)
from analyser.handles import Handle
from analyser.models import Account, AccountSnapshot, AccountStatus, BrandReport, Platform
from connectors import make_connector, planned_cost
from connectors.base import Connector, Cost, Gate, Meter, RetryPolicy
from connectors.replay import Cassette, Handler, Seam, cassette_path

__all__ = [
    "BrandAnalysis",
    "Mode",
    "Runtime",
    "SnapshotCache",
    "analyse_brand",
    "analyse_brand_full",
    "check_budget",
    "dedupe_handles",
    "error_snapshot",
    "parse_as_of",
    "plan_cost",
]

Mode = Literal["live", "offline", "record", "simulated"]

DEFAULT_MAX_POSTS = 200
MAX_POSTS_CEILING = 3200  # X's timeline ceiling; the others are far above what we ask


class SnapshotCache(Protocol):
    """Where finished snapshots are kept between runs (the batch database implements it)."""

    def get(self, handle: Handle, max_age: timedelta) -> AccountSnapshot | None: ...

    def put(self, snapshot: AccountSnapshot, handle: Handle) -> None: ...


@dataclass(frozen=True)
class BrandAnalysis:
    """A report and the snapshots behind it (reports with charts need the posts)."""

    report: BrandReport
    snapshots: tuple[AccountSnapshot, ...]


class Runtime:
    """Everything one run shares: settings, how HTTP is reached, one gate per platform, costs.

    Modes: live (network, credentials needed), offline (replay bundled fixtures, no network, no
    credentials), record (live, and each account's traffic saved as a fixture), simulated (an
    in-process handler such as connectors.fakeapi.FakeApi).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        mode: Mode = "live",
        handler: Handler | None = None,
        max_posts: int = DEFAULT_MAX_POSTS,
        as_of: datetime | None = None,
        since: datetime | None = None,
        cache: SnapshotCache | None = None,
        max_age: timedelta = timedelta(hours=24),
        policy: RetryPolicy | None = None,
        gates: dict[Platform, Gate] | None = None,
    ) -> None:
        if mode == "simulated" and handler is None:
            raise ValueError("simulated mode needs a handler")
        if not 1 <= max_posts <= MAX_POSTS_CEILING:
            raise BadInputError(f"--max-posts must be between 1 and {MAX_POSTS_CEILING}")
        self.settings = settings
        self.mode: Mode = mode
        self.handler = handler
        self.max_posts = max_posts
        self.as_of = as_of
        self.since = since
        self.cache = cache
        self.max_age = max_age
        self.policy = policy
        self.gates = gates or {p: Gate(self._max_rps(p)) for p in Platform}
        self._shared: dict[Platform, Connector] = {}
        self._lock = threading.Lock()
        self._recorded_at: list[datetime] = []
        self.spent = Cost()
        self.cache_hits = 0

    def _max_rps(self, platform: Platform) -> float | None:
        """UPTAKE_<PLATFORM>_MAX_RPS where requests reach a server (live, record); replaying a
        fixture or asking an in-process handler spends nothing worth pacing."""
        return self.settings.max_rps(platform.value) if self.mode in ("live", "record") else None

    def _connector(self, handle: Handle) -> tuple[Connector, Cassette | None]:
        platform = handle.platform
        if self.mode in ("offline", "record"):
            path = cassette_path(self.settings.fixtures_dir, platform.value, handle.value)
            if self.mode == "offline":
                cassette = Cassette.load(path)
                if cassette.recorded_at is not None:
                    with self._lock:
                        self._recorded_at.append(cassette.recorded_at)
                seam = Seam.replaying(cassette)
            else:
                cassette = Cassette(path, platform=platform.value, recorded_at=datetime.now(UTC))
                seam = Seam.recording(cassette)
            connector = make_connector(
                platform, self.settings, seam, policy=self.policy, gate=self.gates[platform]
            )
            return connector, cassette
        with self._lock:
            if platform not in self._shared:
                seam = Seam.live() if self.mode == "live" else Seam.handled_by(self._handler())
                self._shared[platform] = make_connector(
                    platform, self.settings, seam, policy=self.policy, gate=self.gates[platform]
                )
            return self._shared[platform], None

    def _handler(self) -> Handler:
        assert self.handler is not None
        return self.handler

    def fetch(self, handle: Handle) -> AccountSnapshot:
        """One account's snapshot. A platform error for this account (quota spent, API failure
        after retries) becomes a snapshot with status `error`; auth, configuration and missing
        fixtures stop the run, since every other account would fail the same way."""
        if self.cache is not None:
            cached = self.cache.get(handle, self.max_age)
            if cached is not None:
                with self._lock:
                    self.cache_hits += 1
                return cached
        connector, cassette = self._connector(handle)
        meter = Meter()
        try:
            snapshot = connector.fetch(
                handle, max_posts=self.max_posts, since=self.since, meter=meter
            )
        except ApiError as exc:  # AuthError, ConfigError, FixtureMissingError are not ApiErrors
            # What the failed fetch spent still counts against the quota and the report.
            snapshot = error_snapshot(handle, exc.message).model_copy(
                update={
                    "requests": meter.requests,
                    "quota_units": meter.quota_units,
                    "post_reads": meter.post_reads,
                }
            )
        if cassette is not None and self.mode == "record":
            cassette.save()
        with self._lock:
            self.spent = self.spent + Cost(
                snapshot.requests, snapshot.quota_units, snapshot.post_reads
            )
        if self.cache is not None and snapshot.account.status is not AccountStatus.ERROR:
            self.cache.put(snapshot, handle)
        return snapshot

    def analysis_date(self, snapshots: Iterable[AccountSnapshot]) -> datetime:
        """--as-of if given; the recording date for fixtures; else when the data was fetched."""
        if self.as_of is not None:
            return self.as_of
        if self.mode == "offline" and self._recorded_at:
            return max(self._recorded_at)
        fetched = [s.fetched_at for s in snapshots]
        return max(fetched) if fetched else datetime.now(UTC)


def error_snapshot(handle: Handle, message: str) -> AccountSnapshot:
    """An account whose fetch failed: reported with status `error` and why, never dropped."""
    account = Account(
        platform=handle.platform,
        handle=handle.value,
        status=AccountStatus.ERROR,
        status_detail=message,
    )
    return AccountSnapshot(account=account, fetched_at=datetime.now(UTC))


def parse_as_of(value: str | None) -> datetime | None:
    """--as-of as an aware UTC datetime; a date alone means midnight UTC."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadInputError(f"--as-of {value!r} is not a date (expected YYYY-MM-DD)") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dedupe_handles(handles: Iterable[Handle]) -> tuple[Handle, ...]:
    """The same account given twice (as @name and as a URL) is fetched once."""
    seen: dict[tuple[Platform, str], Handle] = {}
    for handle in handles:
        seen.setdefault((handle.platform, handle.value.lower()), handle)
    return tuple(seen.values())


def plan_cost(handles: Sequence[Handle], settings: Settings, max_posts: int) -> Cost:
    """The most fetching these accounts can cost, computed without any request."""
    total = Cost()
    for handle in handles:
        total = total + planned_cost(handle.platform, max_posts, settings)
    return total


def check_budget(cost: Cost, quota_budget: int | None) -> None:
    """Refuse work whose planned YouTube quota exceeds --quota-budget."""
    if quota_budget is not None and cost.quota_units > quota_budget:
        raise QuotaExceededError(
            f"planned cost is {cost.quota_units} YouTube quota units, over the budget of "
            f"{quota_budget}: lower --max-posts or raise --quota-budget"
        )


def analyse_brand_full(name: str, handles: Sequence[Handle], runtime: Runtime) -> BrandAnalysis:
    """Fetch every account of a brand, then assess them together."""
    from analyser.classifier import assess

    if not name.strip():
        raise BadInputError("the brand name is empty")
    snapshots = tuple(runtime.fetch(h) for h in dedupe_handles(handles))
    report = assess(name.strip(), snapshots, as_of=runtime.analysis_date(snapshots))
    return BrandAnalysis(report, snapshots)


def analyse_brand(name: str, handles: Sequence[Handle], runtime: Runtime) -> BrandReport:
    return analyse_brand_full(name, handles, runtime).report
