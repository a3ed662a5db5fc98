"""Run uptake over a competitor list: concurrent per platform, resumable, every result kept."""

from __future__ import annotations

import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict

from analyser.batchio import BrandOutcome, BrandSpec, OutputWriter, Status
from analyser.errors import AuthError, ConfigError, FixtureMissingError, UptakeError, redact
from analyser.handles import Handle
from analyser.models import AccountSnapshot, AccountStatus, BrandReport, Platform
from analyser.pipeline import Runtime, SnapshotCache, dedupe_handles, error_snapshot
from analyser.storage import Storage, handle_key
from connectors import planned_cost
from connectors.base import Cost

__all__ = [
    "DEFAULT_CONCURRENCY",
    "X_PRICE_PER_POST_READ_USD",
    "BatchPlan",
    "BatchSummary",
    "PlatformPlan",
    "PlatformTotals",
    "Progress",
    "plan_batch",
    "run_batch",
]

DEFAULT_CONCURRENCY = 8
# X pay-per-use price of one post read (docs.x.com pricing, 2026-08; /work/shared/api-facts.md A5).
X_PRICE_PER_POST_READ_USD = 0.005
# Fatal for the whole batch: every other account would fail the same way.
FATAL = (AuthError, ConfigError, FixtureMissingError)
MAX_ERROR = 300


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlatformTotals(_Model):
    """What one platform cost in a batch. Cached accounts cost nothing."""

    accounts: int = 0
    fetched: int = 0
    cached: int = 0
    errors: int = 0
    requests: int = 0
    quota_units: int = 0
    post_reads: int = 0


class BatchSummary(_Model):
    """summary.json: what a batch did and spent."""

    source: str
    run_id: int | None = None
    started_at: datetime
    finished_at: datetime
    wall_time_s: float
    interrupted: bool = False
    brands: int
    ok: int = 0
    partial: int = 0
    failed: int = 0
    not_run: int = 0
    requests: int = 0
    youtube_quota_units: int = 0
    x_post_reads: int = 0
    x_post_read_cost_usd: float = 0.0
    x_price_per_post_read_usd: float = X_PRICE_PER_POST_READ_USD
    platforms: dict[str, PlatformTotals] = {}
    failures: list[dict[str, str]] = []


@dataclass(frozen=True)
class PlatformPlan:
    accounts: int
    cached: int
    cost: Cost

    @property
    def to_fetch(self) -> int:
        return self.accounts - self.cached


@dataclass(frozen=True)
class BatchPlan:
    """The most a batch can cost, known before any request: cached accounts are free."""

    brands: int
    platforms: dict[Platform, PlatformPlan]

    @property
    def cost(self) -> Cost:
        total = Cost()
        for plan in self.platforms.values():
            total = total + plan.cost
        return total

    def lines(self) -> list[str]:
        """The plan as a small text table (what `uptake batch --plan` prints)."""
        head = f"{'platform':<10}{'accounts':>9}{'cached':>8}{'to fetch':>10}{'requests':>10}"
        head += f"{'YouTube units':>15}{'X post reads':>14}"
        out = [head]
        for platform, plan in self.platforms.items():
            c = plan.cost
            out.append(
                f"{platform.value:<10}{plan.accounts:>9}{plan.cached:>8}{plan.to_fetch:>10}"
                f"{c.requests:>10}{c.quota_units:>15}{c.post_reads:>14}"
            )
        t = self.cost
        accounts = sum(p.accounts for p in self.platforms.values())
        cached = sum(p.cached for p in self.platforms.values())
        out.append(
            f"{'total':<10}{accounts:>9}{cached:>8}{accounts - cached:>10}{t.requests:>10}"
            f"{t.quota_units:>15}{t.post_reads:>14}"
        )
        out.append(
            f"{self.brands} brands; at most {t.requests} requests, {t.quota_units} YouTube quota "
            f"units, {t.post_reads} X post reads (${t.post_reads * X_PRICE_PER_POST_READ_USD:.2f} "
            f"at ${X_PRICE_PER_POST_READ_USD} a post read)"
        )
        return out


def unique_accounts(brands: Sequence[BrandSpec]) -> dict[tuple[Platform, str], Handle]:
    """Every account of the batch once, even when brands share one."""
    accounts: dict[tuple[Platform, str], Handle] = {}
    for brand in brands:
        for handle in brand.handles:
            accounts.setdefault((handle.platform, handle_key(handle)), handle)
    return accounts


def plan_batch(
    brands: Sequence[BrandSpec],
    runtime: Runtime,
) -> BatchPlan:
    """What fetching the batch will cost at most, after the accounts the cache already holds."""
    per: dict[Platform, list[int]] = {p: [0, 0] for p in Platform}
    for handle in unique_accounts(brands).values():
        counts = per[handle.platform]
        counts[0] += 1
        if runtime.cache is not None and runtime.cache.get(handle, runtime.max_age) is not None:
            counts[1] += 1
    platforms: dict[Platform, PlatformPlan] = {}
    for platform, (accounts, cached) in per.items():
        if not accounts:
            continue
        one = planned_cost(platform, runtime.max_posts, runtime.settings)
        n = accounts - cached
        cost = Cost(one.requests * n, one.quota_units * n, one.post_reads * n)
        platforms[platform] = PlatformPlan(accounts, cached, cost)
    return BatchPlan(len(brands), platforms)


class Progress(Protocol):
    """Where a batch reports as it goes (analyser.batch_cli has the Rich and plain-line ones)."""

    def start(self, brands: int, accounts: Mapping[Platform, int]) -> None: ...

    def account_done(self, platform: Platform) -> None: ...

    def brand_done(self, outcome: BrandOutcome, done: int, total: int) -> None: ...

    def close(self) -> None: ...


class QuietProgress:
    def start(self, brands: int, accounts: Mapping[Platform, int]) -> None:
        return None

    def account_done(self, platform: Platform) -> None:
        return None

    def brand_done(self, outcome: BrandOutcome, done: int, total: int) -> None:
        return None

    def close(self) -> None:
        return None


# -- the runner ----------------------------------------------------------------------------------


class _CountingCache:
    """Wraps the database cache to tell the worker thread whether its account came from it."""

    def __init__(self, inner: SnapshotCache) -> None:
        self.inner = inner
        self._local = threading.local()

    def get(self, handle: Handle, max_age: timedelta) -> AccountSnapshot | None:
        snap = self.inner.get(handle, max_age)
        self._local.hit = snap is not None
        return snap

    def put(self, snapshot: AccountSnapshot, handle: Handle) -> None:
        self.inner.put(snapshot, handle)

    def take_hit(self) -> bool:
        hit = bool(getattr(self._local, "hit", False))
        self._local.hit = False
        return hit


@dataclass
class _Brand:
    spec: BrandSpec
    handles: tuple[Handle, ...]
    snapshots: dict[int, AccountSnapshot] = field(default_factory=dict)


@dataclass
class _Totals:
    per: dict[Platform, dict[str, int]] = field(
        default_factory=lambda: {p: dict.fromkeys(PlatformTotals.model_fields, 0) for p in Platform}
    )
    status: dict[str, int] = field(default_factory=lambda: {"ok": 0, "partial": 0, "failed": 0})
    failures: list[dict[str, str]] = field(default_factory=list)


def run_batch(
    brands: Sequence[BrandSpec],
    runtime: Runtime,
    *,
    storage: Storage | None = None,
    out: OutputWriter | None = None,
    concurrency: Mapping[Platform, int] | int = DEFAULT_CONCURRENCY,
    progress: Progress | None = None,
    source: str = "competitors",
    on_outcome: Callable[[BrandOutcome], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    group_size: int = 50,
    max_wait_s: float = 2.0,
) -> BatchSummary:
    """Fetch and assess every brand; each result reaches the database and DIR as it arrives.

    Accounts go to one worker pool per platform (`concurrency` workers each), so a slow or
    rate-limited platform does not hold the others back; the runtime's gate per platform is
    shared by that platform's workers. Only a bounded window of brands is in flight, so memory
    does not grow with the length of the list. A brand whose accounts fail becomes a row with
    its status and a one-line error; auth and configuration errors stop the batch (they would
    fail every brand), after what was finished has been kept.

    Finished brands are assessed in groups (up to `group_size`, or whatever is ready after
    `max_wait_s`): the classifier computes features for many brands at once far faster than
    one by one.
    """
    progress = progress or QuietProgress()
    limits = _limits(concurrency)
    counting: _CountingCache | None = None
    if runtime.cache is not None:
        counting = _CountingCache(runtime.cache)
        runtime.cache = counting
    started_wall = datetime.now(UTC)
    started = clock()
    run_id = storage.start_run(source, len(brands)) if storage is not None else None
    totals = _Totals()
    state = {"interrupted": False, "done": 0}
    progress.start(len(brands), _accounts_per_platform(brands))

    def fetch(handle: Handle) -> tuple[AccountSnapshot, bool]:
        try:
            snap = runtime.fetch(handle)
        except FATAL:
            raise
        except UptakeError as exc:
            snap = error_snapshot(handle, _one_line(exc.message))
        except Exception as exc:  # a bug in one connector must not sink the whole batch
            snap = error_snapshot(handle, _one_line(f"internal error: {type(exc).__name__}: {exc}"))
        hit = counting.take_hit() if counting is not None else False
        if snap.account.status is AccountStatus.ERROR and storage is not None:
            # Failed fetches are kept for the record; the cache never serves them back.
            storage.put_snapshot(snap, handle, max_posts=runtime.max_posts)
        return snap, hit

    def record(outcome: BrandOutcome) -> None:
        if storage is not None:
            storage.put_result(
                outcome.name,
                status=outcome.status,
                report=outcome.report,
                error=outcome.error,
                run_id=run_id,
            )
        if out is not None:
            out.add(outcome)
        totals.status[outcome.status] += 1
        if outcome.status != "ok":
            totals.failures.append(
                {"name": outcome.name, "status": outcome.status, "error": outcome.error or ""}
            )
        state["done"] += 1
        progress.brand_done(outcome, state["done"], len(brands))
        if on_outcome is not None:
            on_outcome(outcome)

    ready: list[_Brand] = []
    ready_since = [0.0]

    def flush() -> None:
        # At most group_size brands per call: the classifier's frames stay the same size
        # however many brands finished while the previous group was being assessed.
        while ready:
            chunk = ready[:group_size]
            del ready[:group_size]
            group = [(b.spec.name, [b.snapshots[i] for i in range(len(b.handles))]) for b in chunk]
            for outcome in _assess_group(group, runtime):
                record(outcome)

    pools = {
        p: ThreadPoolExecutor(max_workers=limits[p], thread_name_prefix=f"uptake-{p.value}")
        for p in Platform
    }
    # Brands in flight: two groups, or three brands a worker of the busiest platform (a brand
    # has an account on each platform at once), so workers stay busy while a group is being
    # assessed. Fetching and fetched-but-unwritten brands together stay within the window: it,
    # not the list's length, sets the batch's memory.
    window = max(group_size * 2, 3 * max(limits.values()))
    pending: dict[Future[tuple[AccountSnapshot, bool]], list[tuple[_Brand, int]]] = {}
    inflight: dict[tuple[Platform, str], Future[tuple[AccountSnapshot, bool]]] = {}
    waiting: dict[int, _Brand] = {}
    queue: Iterator[BrandSpec] = iter(brands)
    exhausted = False
    stop = threading.Event()
    previous_handler = _catch_ctrl_c(stop)
    try:
        while True:
            if stop.is_set():
                # Raised here, between brands, never in the middle of writing one.
                raise KeyboardInterrupt
            while not exhausted and len(waiting) + len(ready) < window:
                spec = next(queue, None)
                if spec is None:
                    exhausted = True
                    break
                brand = _Brand(spec, dedupe_handles(spec.handles))
                if not brand.handles:
                    ready.append(brand)
                    continue
                waiting[id(brand)] = brand
                for index, handle in enumerate(brand.handles):
                    key = (handle.platform, handle_key(handle))
                    future = inflight.get(key)
                    if future is None:  # one fetch per account, even if two brands share it
                        future = pools[handle.platform].submit(fetch, handle)
                        inflight[key] = future
                        pending[future] = []
                    pending[future].append((brand, index))
            due = ready and (
                len(ready) >= group_size or not pending or clock() - ready_since[0] >= max_wait_s
            )
            if due:
                flush()
                continue
            if not pending:
                break
            timeout = max(0.0, ready_since[0] + max_wait_s - clock()) if ready else _TICK_S
            done, _ = wait(
                list(pending), timeout=min(timeout, _TICK_S), return_when=FIRST_COMPLETED
            )
            for future in done:
                snap, hit = future.result()  # re-raises fatal errors
                users = pending.pop(future)
                first = users[0][0].handles[users[0][1]]
                inflight.pop((first.platform, handle_key(first)), None)
                _count(totals, first.platform, snap, hit)
                progress.account_done(first.platform)
                for brand, index in users:
                    brand.snapshots[index] = snap
                    if len(brand.snapshots) == len(brand.handles):
                        del waiting[id(brand)]
                        if not ready:
                            ready_since[0] = clock()
                        ready.append(brand)
    except BaseException:
        state["interrupted"] = True
        raise
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)
        for pool in pools.values():
            pool.shutdown(wait=not state["interrupted"], cancel_futures=True)
        progress.close()
        if counting is not None:
            runtime.cache = counting.inner
        summary = _summary(
            source, run_id, started_wall, clock() - started, len(brands), totals, state
        )
        if storage is not None and run_id is not None:
            status = "interrupted" if summary.interrupted else _run_status(summary)
            storage.finish_run(run_id, status=status, summary=summary.model_dump(mode="json"))
        if out is not None:
            out.close(summary.model_dump(mode="json"))
    return summary


_TICK_S = 0.25  # how often the main loop looks for Ctrl-C while workers are busy


def _catch_ctrl_c(stop: threading.Event) -> Any:
    """First Ctrl-C asks the batch to stop after the brand being written; a second one stops
    at once. Only the main thread can own signal handlers (notebooks' workers cannot)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    return signal.signal(signal.SIGINT, handler)


def _accounts_per_platform(brands: Sequence[BrandSpec]) -> dict[Platform, int]:
    """Progress totals. Only the counts outlive this call: holding the set of every account for
    the whole run made memory grow with the length of the list."""
    counts = dict.fromkeys(Platform, 0)
    for platform, _ in unique_accounts(brands):
        counts[platform] += 1
    return {p: n for p, n in counts.items() if n}


def _limits(concurrency: Mapping[Platform, int] | int) -> dict[Platform, int]:
    if isinstance(concurrency, int):
        return dict.fromkeys(Platform, max(1, concurrency))
    return {p: max(1, concurrency.get(p, DEFAULT_CONCURRENCY)) for p in Platform}


def _count(totals: _Totals, platform: Platform, snap: AccountSnapshot, hit: bool) -> None:
    per = totals.per[platform]
    per["accounts"] += 1
    if hit:
        per["cached"] += 1
        return
    per["fetched"] += 1
    per["errors"] += snap.account.status is AccountStatus.ERROR
    per["requests"] += snap.requests
    per["quota_units"] += snap.quota_units
    per["post_reads"] += snap.post_reads


def _assess_group(
    group: Sequence[tuple[str, Sequence[AccountSnapshot]]], runtime: Runtime
) -> list[BrandOutcome]:
    """Outcomes of finished brands: ok, partial (some accounts failed) or failed (no report)."""
    from analyser.classifier import assess_many

    outcomes: list[BrandOutcome | None] = []
    todo: list[tuple[int, str, Sequence[AccountSnapshot]]] = []
    for name, snaps in group:
        failed = [s for s in snaps if s.account.status is AccountStatus.ERROR]
        if snaps and len(failed) == len(snaps):
            outcomes.append(
                BrandOutcome(name, "failed", error=_errors(failed), snapshots=tuple(snaps))
            )
        else:
            outcomes.append(None)
            todo.append((len(outcomes) - 1, name, snaps))
    if todo:
        as_of = runtime.analysis_date([s for _, _, snaps in todo for s in snaps])
        reports: list[BrandReport | str]
        try:
            reports = list(assess_many([(name, snaps) for _, name, snaps in todo], as_of=as_of))
        except Exception:  # find the brand that breaks the group; the others still get reports
            reports = [_assess_one(name, snaps, as_of) for _, name, snaps in todo]
        for (index, name, snaps), report in zip(todo, reports, strict=True):
            outcomes[index] = _outcome(name, snaps, report)
    return [o for o in outcomes if o is not None]


def _assess_one(name: str, snaps: Sequence[AccountSnapshot], as_of: datetime) -> BrandReport | str:
    from analyser.classifier import assess

    try:
        return assess(name, snaps, as_of=as_of)
    except Exception as exc:  # the row says what went wrong; the batch goes on
        return _one_line(f"assessment failed: {type(exc).__name__}: {exc}")


def _outcome(
    name: str, snaps: Sequence[AccountSnapshot], report: BrandReport | str
) -> BrandOutcome:
    if isinstance(report, str):
        return BrandOutcome(name, "failed", error=report, snapshots=tuple(snaps))
    failed = [s for s in snaps if s.account.status is AccountStatus.ERROR]
    status: Status = "partial" if failed else "ok"
    return BrandOutcome(
        name, status, report=report, error=_errors(failed) or None, snapshots=tuple(snaps)
    )


def _errors(failed: Sequence[AccountSnapshot]) -> str:
    return _one_line(
        "; ".join(
            f"{s.account.platform.value} {s.account.handle}: {s.account.status_detail or 'error'}"
            for s in failed
        )
    )


def _one_line(text: str) -> str:
    text = redact(" ".join(text.split()))
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 3] + "..."


def _summary(
    source: str,
    run_id: int | None,
    started: datetime,
    elapsed: float,
    brands: int,
    totals: _Totals,
    state: Mapping[str, Any],
) -> BatchSummary:
    platforms = {
        p.value: PlatformTotals(**counts) for p, counts in totals.per.items() if counts["accounts"]
    }
    requests = sum(t.requests for t in platforms.values())
    units = sum(t.quota_units for t in platforms.values())
    reads = sum(t.post_reads for t in platforms.values())
    finished = sum(totals.status.values())
    return BatchSummary(
        source=source,
        run_id=run_id,
        started_at=started,
        finished_at=datetime.now(UTC),
        wall_time_s=round(elapsed, 3),
        interrupted=bool(state["interrupted"]),
        brands=brands,
        ok=totals.status["ok"],
        partial=totals.status["partial"],
        failed=totals.status["failed"],
        not_run=brands - finished,
        requests=requests,
        youtube_quota_units=units,
        x_post_reads=reads,
        x_post_read_cost_usd=round(reads * X_PRICE_PER_POST_READ_USD, 4),
        platforms=platforms,
        failures=totals.failures,
    )


def _run_status(summary: BatchSummary) -> str:
    return "ok" if summary.partial == 0 and summary.failed == 0 else "partial"


def parse_max_age(text: str) -> timedelta:
    """'24h', '90m', '2d', '30s' or plain seconds; '0' means never reuse a snapshot.

    >>> parse_max_age("36h")
    datetime.timedelta(days=1, seconds=43200)
    """
    from analyser.errors import BadInputError

    raw = text.strip().lower()
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    number, unit = (raw[:-1], raw[-1]) if raw and raw[-1] in units else (raw, "s")
    try:
        value = float(number)
    except ValueError:
        raise BadInputError(f"--max-age {text!r}: expected e.g. 24h, 90m, 2d or seconds") from None
    if not math.isfinite(value) or value < 0:
        raise BadInputError(f"--max-age {text!r} must be zero or more")
    return timedelta(seconds=value * units[unit])


def parse_concurrency(values: Sequence[str]) -> dict[Platform, int]:
    """`--concurrency 8` for every platform, `--concurrency youtube=4` for one (repeatable)."""
    from analyser.errors import BadInputError

    limits = dict.fromkeys(Platform, DEFAULT_CONCURRENCY)
    for value in values:
        name, _, number = value.rpartition("=")
        try:
            count = int(number)
        except ValueError:
            count = 0
        if count < 1 or count > 64:
            raise BadInputError(f"--concurrency {value!r}: expected 1-64, or PLATFORM=1-64")
        if not name:
            limits = dict.fromkeys(Platform, count)
            continue
        try:
            limits[Platform(name.strip().lower())] = count
        except ValueError:
            raise BadInputError(
                f"--concurrency {value!r}: unknown platform (twitter, youtube, facebook)"
            ) from None
    return limits
