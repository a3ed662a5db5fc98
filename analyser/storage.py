"""The results database: every snapshot and brand result, kept as soon as it arrives."""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from analyser import migrations
from analyser.config import Settings, load_settings
from analyser.errors import ConfigError, DataError, redact
from analyser.handles import Handle
from analyser.models import AccountSnapshot, AccountStatus, BrandReport

__all__ = [
    "HistoryEntry",
    "SnapshotCache",
    "Storage",
    "StoredResult",
    "brand_key",
    "handle_key",
    "history",
    "open_storage",
]


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so it stores naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: store UTC-aware datetimes only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# The current shape of the tables, for queries. DDL lives in analyser/migrations.
_meta = sa.MetaData()
snapshots = sa.Table(
    "snapshots",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(20), nullable=False),
    sa.Column("handle_key", sa.String(250), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("fetched_at", UtcDateTime, nullable=False),
    sa.Column("max_posts", sa.Integer, nullable=False),
    sa.Column("posts", sa.Integer, nullable=False),
    sa.Column("requests", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)
runs = sa.Table(
    "runs",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("started_at", UtcDateTime, nullable=False),
    sa.Column("finished_at", UtcDateTime, nullable=True),
    sa.Column("source", sa.String(1000), nullable=False),
    sa.Column("brands", sa.Integer, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("summary", sa.Text, nullable=True),
)
brand_results = sa.Table(
    "brand_results",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Column("brand", sa.String(200), nullable=False),
    sa.Column("brand_key", sa.String(200), nullable=False),
    sa.Column("run_at", UtcDateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("stage", sa.Integer, nullable=True),
    sa.Column("confidence", sa.Float, nullable=True),
    sa.Column("report", sa.Text, nullable=True),
)


def handle_key(handle: Handle) -> str:
    """The cache identity of an account: kind and value, case-folded like the platforms do.

    >>> from analyser.handles import parse_handle
    >>> handle_key(parse_handle("twitter", "https://x.com/Harbour"))
    'username:harbour'
    """
    return f"{handle.kind}:{handle.value.lower()}"


def brand_key(name: str) -> str:
    """Brand names match across runs whatever their case or spacing: ' ACME  Co' is 'acme co'."""
    return " ".join(name.split()).casefold()


class HistoryEntry(NamedTuple):
    """One past analysis of a brand; unpacks as `(run_at, report)`."""

    run_at: datetime
    report: BrandReport


@dataclass(frozen=True)
class StoredResult:
    """A brand's row in one run, whether or not it produced a report."""

    brand: str
    run_at: datetime
    status: str
    error: str | None
    report: BrandReport | None


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Storage:
    """SQLAlchemy Core over SQLite (default, under UPTAKE_HOME) or PostgreSQL.

    Each write commits at once, so a batch killed with SIGKILL loses nothing it finished.
    Thread-safe: batch workers put snapshots while the main thread writes results.
    """

    def __init__(self, url: str, *, clock: Callable[[], datetime] = _utcnow) -> None:
        self.url = url
        self._clock = clock
        self._write_lock = threading.RLock()
        self.engine = _make_engine(url)
        # In-memory SQLite is one shared connection: reads must queue behind writes too.
        self._serial = isinstance(self.engine.pool, StaticPool)

    @classmethod
    def open(cls, url: str, *, clock: Callable[[], datetime] = _utcnow) -> Storage:
        """Connect and bring the schema up to date."""
        storage = cls(url, clock=clock)
        storage.migrate()
        return storage

    def migrate(self) -> list[str]:
        """Apply pending migrations; returns their names."""
        try:
            return [m.name for m in migrations.apply(self.engine)]
        except sa.exc.OperationalError as exc:
            raise ConfigError(
                f"cannot open the results database {_safe_url(self.url)}: "
                f"{_first_line(exc.orig)}; check UPTAKE_DATABASE_URL or UPTAKE_HOME"
            ) from None

    def schema_version(self) -> int:
        done = migrations.applied(self.engine)
        return done[-1][0] if done else 0

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._serial:
            with self._write_lock, self.engine.connect() as conn:
                yield conn
        else:
            with self.engine.connect() as conn:
                yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        # SQLite allows one writer: serialising in-process avoids "database is locked" retries.
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    # -- snapshots -------------------------------------------------------------------------

    def put_snapshot(self, snapshot: AccountSnapshot, handle: Handle, *, max_posts: int) -> None:
        """Keep a fetched snapshot; `max_posts` is what was asked, so a later run asking for
        more posts does not reuse a shorter read."""
        data = zlib.compress(snapshot.model_dump_json().encode("utf-8"), 1)
        with self._write() as conn:
            conn.execute(
                snapshots.insert().values(
                    platform=handle.platform.value,
                    handle_key=handle_key(handle),
                    status=snapshot.account.status.value,
                    fetched_at=snapshot.fetched_at,
                    max_posts=max_posts,
                    posts=len(snapshot.posts),
                    requests=snapshot.requests,
                    data=data,
                )
            )

    def get_snapshot(
        self, handle: Handle, *, max_age: timedelta, max_posts: int
    ) -> AccountSnapshot | None:
        """The newest reusable snapshot: younger than `max_age`, read with at least `max_posts`,
        and not a failed fetch (those are retried)."""
        cutoff = self._clock() - max_age
        query = (
            sa.select(snapshots.c.data)
            .where(
                snapshots.c.platform == handle.platform.value,
                snapshots.c.handle_key == handle_key(handle),
                snapshots.c.fetched_at >= cutoff,
                snapshots.c.max_posts >= max_posts,
                snapshots.c.status != AccountStatus.ERROR.value,
            )
            .order_by(snapshots.c.fetched_at.desc(), snapshots.c.id.desc())
            .limit(1)
        )
        with self._read() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return _load_snapshot(row[0])

    def snapshot_count(self) -> int:
        with self._read() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(snapshots)).scalar_one())

    def cache(self, *, max_posts: int, refresh: bool = False) -> SnapshotCache:
        """The object `analyser.pipeline.Runtime(cache=...)` reads and fills."""
        return SnapshotCache(self, max_posts=max_posts, refresh=refresh)

    # -- runs and results ------------------------------------------------------------------

    def start_run(self, source: str, brands: int) -> int:
        with self._write() as conn:
            result = conn.execute(
                runs.insert().values(
                    started_at=self._clock(), source=source[:1000], brands=brands, status="running"
                )
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def finish_run(self, run_id: int, *, status: str, summary: dict[str, Any]) -> None:
        with self._write() as conn:
            conn.execute(
                runs.update()
                .where(runs.c.id == run_id)
                .values(finished_at=self._clock(), status=status, summary=json.dumps(summary))
            )

    def put_result(
        self,
        brand: str,
        *,
        status: str,
        report: BrandReport | None = None,
        error: str | None = None,
        run_id: int | None = None,
    ) -> None:
        """Keep one brand's outcome; brands analysed outside a batch pass no run_id."""
        with self._write() as conn:
            conn.execute(
                brand_results.insert().values(
                    run_id=run_id,
                    brand=brand,
                    brand_key=brand_key(brand),
                    run_at=self._clock(),
                    status=status,
                    error=redact(error) if error else None,
                    stage=report.stage if report else None,
                    confidence=report.confidence if report else None,
                    report=report.model_dump_json() if report else None,
                )
            )

    def put_report(self, report: BrandReport, *, run_id: int | None = None) -> None:
        """Keep a report from `uptake analyse` so `uptake history` sees it too."""
        self.put_result(report.brand, status="ok", report=report, run_id=run_id)

    def results(self, run_id: int) -> list[StoredResult]:
        """Every brand row of one run, in the order they finished."""
        query = (
            sa.select(brand_results)
            .where(brand_results.c.run_id == run_id)
            .order_by(brand_results.c.id)
        )
        with self._read() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            StoredResult(
                brand=row["brand"],
                run_at=row["run_at"],
                status=row["status"],
                error=row["error"],
                report=BrandReport.model_validate_json(row["report"]) if row["report"] else None,
            )
            for row in rows
        ]

    def history(self, brand: str, *, limit: int | None = None) -> list[HistoryEntry]:
        """Every stored report of a brand, oldest first (name matched ignoring case/spacing).

        >>> for run_at, report in storage.history("Harbour Coffee"):  # doctest: +SKIP
        ...     print(run_at.date(), report.stage)
        """
        query = (
            sa.select(brand_results.c.run_at, brand_results.c.report)
            .where(brand_results.c.brand_key == brand_key(brand))
            .where(brand_results.c.report.is_not(None))
            .order_by(brand_results.c.run_at.desc(), brand_results.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self._read() as conn:
            rows = conn.execute(query).all()
        entries = [
            HistoryEntry(run_at, BrandReport.model_validate_json(text)) for run_at, text in rows
        ]
        return entries[::-1]

    def brands(self) -> list[str]:
        """Every brand with at least one stored report, by name as last written."""
        query = (
            sa.select(brand_results.c.brand_key, sa.func.max(brand_results.c.brand))
            .where(brand_results.c.report.is_not(None))
            .group_by(brand_results.c.brand_key)
            .order_by(brand_results.c.brand_key)
        )
        with self._read() as conn:
            return [str(name) for _, name in conn.execute(query)]


class SnapshotCache:
    """Implements `analyser.pipeline.SnapshotCache` over the database for one max_posts.

    With `refresh`, nothing is read back but every fresh snapshot is still kept.
    """

    def __init__(self, storage: Storage, *, max_posts: int, refresh: bool = False) -> None:
        self.storage = storage
        self.max_posts = max_posts
        self.refresh = refresh

    def get(self, handle: Handle, max_age: timedelta) -> AccountSnapshot | None:
        if self.refresh:
            return None
        return self.storage.get_snapshot(handle, max_age=max_age, max_posts=self.max_posts)

    def put(self, snapshot: AccountSnapshot, handle: Handle) -> None:
        self.storage.put_snapshot(snapshot, handle, max_posts=self.max_posts)


def open_storage(settings: Settings | None = None) -> Storage:
    """The database named by the settings (UPTAKE_DATABASE_URL, else SQLite in UPTAKE_HOME)."""
    settings = settings or load_settings()
    if settings.database_url is None:
        settings.home.mkdir(parents=True, exist_ok=True)
    return Storage.open(settings.database)


def history(
    brand: str, *, settings: Settings | None = None, limit: int | None = None
) -> list[HistoryEntry]:
    """Past reports of a brand from the default database, oldest first: `(run_at, report)`."""
    with open_storage(settings) as storage:
        return storage.history(brand, limit=limit)


def _load_snapshot(data: bytes) -> AccountSnapshot:
    try:
        return AccountSnapshot.model_validate_json(zlib.decompress(data))
    except (zlib.error, ValueError) as exc:
        raise DataError(f"a stored snapshot is unreadable ({type(exc).__name__})") from None


def _make_engine(url: str) -> Engine:
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(f"UPTAKE_DATABASE_URL {_safe_url(url)!r} is not a database URL") from None
    if parsed.get_backend_name() != "sqlite":
        try:
            return sa.create_engine(url, pool_pre_ping=True)
        except (ImportError, sa.exc.NoSuchModuleError) as exc:
            raise ConfigError(
                f"no driver for {_safe_url(url)}: {_first_line(exc)} "
                "(for PostgreSQL: pip install 'uptake[postgres]')"
            ) from None
    database = parsed.database or ""
    if database in ("", ":memory:"):
        # One shared connection, or every checkout would see its own empty database.
        return sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers (cache lookups) run beside the writer; NORMAL sync is durable across a
    # killed process, which is the failure a batch must survive.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _safe_url(url: str) -> str:
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return redact(url.split("@")[-1])


def _first_line(exc: object) -> str:
    return redact(" ".join(str(exc).split()))[:200]
