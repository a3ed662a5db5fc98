"""The results database: migrations, the snapshot cache, results and history, on SQLite."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from analyser import migrations
from analyser.config import load_settings
from analyser.errors import ConfigError
from analyser.handles import parse_handle
from analyser.models import (
    Account,
    AccountSnapshot,
    AccountStatus,
    BrandReport,
    Platform,
    Post,
)
from analyser.storage import Storage, brand_key, handle_key, history, open_storage

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def snapshot(
    handle: str = "Harbour",
    *,
    platform: Platform = Platform.TWITTER,
    status: AccountStatus = AccountStatus.FOUND,
    fetched_at: datetime = T0,
    posts: int = 2,
) -> AccountSnapshot:
    return AccountSnapshot(
        account=Account(platform=platform, handle=handle, status=status, followers=10),
        posts=tuple(
            Post(id=str(i), created_at=fetched_at - timedelta(days=i), text=f"post {i}", likes=i)
            for i in range(posts)
        ),
        fetched_at=fetched_at,
        requests=2,
    )


def report(brand: str, stage: int, as_of: datetime = T0) -> BrandReport:
    return BrandReport(
        brand=brand, as_of=as_of, stage=stage, stage_name=f"s{stage}", confidence=0.5
    )


@pytest.fixture(params=["file", "memory"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Storage, Clock]]:
    clock = Clock(T0)
    url = f"sqlite:///{tmp_path / 'db' / 'u.sqlite3'}" if request.param == "file" else "sqlite://"
    storage = Storage.open(url, clock=clock)
    yield storage, clock
    storage.close()


def test_migrations_are_named_versioned_and_applied_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    storage = Storage(url)
    assert storage.schema_version() == 0
    applied = storage.migrate()
    assert applied == [m.name for m in migrations.MIGRATIONS]
    assert storage.schema_version() == migrations.MIGRATIONS[-1].version
    assert storage.migrate() == []  # idempotent
    names = [name for _, name in migrations.applied(storage.engine)]
    assert names == ["initial", "snapshot_lookup_index"]
    storage.close()


def test_an_old_database_is_upgraded_keeping_its_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = sa.create_engine(url)
    assert [m.version for m in migrations.apply(engine, target=1)] == [1]
    engine.dispose()
    old = Storage(url, clock=Clock(T0))
    handle = parse_handle("twitter", "@Harbour")
    old.put_snapshot(snapshot(), handle, max_posts=200)
    assert old.schema_version() == 1
    assert old.migrate() == ["snapshot_lookup_index"]
    assert old.get_snapshot(handle, max_age=timedelta(hours=1), max_posts=200) == snapshot()
    index_names = {ix["name"] for ix in sa.inspect(old.engine).get_indexes("snapshots")}
    assert "ix_snapshots_lookup" in index_names
    old.close()


def test_snapshot_round_trip_and_cache_rules(db: tuple[Storage, Clock]) -> None:
    storage, clock = db
    handle = parse_handle("twitter", "https://x.com/Harbour")
    same = parse_handle("twitter", "@harbour")
    assert storage.get_snapshot(handle, max_age=timedelta(hours=24), max_posts=200) is None
    snap = snapshot(fetched_at=T0)
    storage.put_snapshot(snap, handle, max_posts=200)
    assert storage.get_snapshot(same, max_age=timedelta(hours=24), max_posts=200) == snap
    # a shorter read does not answer a request for more posts; a longer one does
    assert storage.get_snapshot(handle, max_age=timedelta(hours=24), max_posts=500) is None
    assert storage.get_snapshot(handle, max_age=timedelta(hours=24), max_posts=50) == snap
    # other platforms with the same name are other accounts
    fb = parse_handle("facebook", "Harbour")
    assert storage.get_snapshot(fb, max_age=timedelta(hours=24), max_posts=200) is None
    clock.now = T0 + timedelta(hours=25)
    assert storage.get_snapshot(handle, max_age=timedelta(hours=24), max_posts=200) is None
    assert storage.get_snapshot(handle, max_age=timedelta(hours=26), max_posts=200) == snap


def test_newest_snapshot_wins_and_failed_fetches_are_not_reused(db: tuple[Storage, Clock]) -> None:
    storage, _ = db
    handle = parse_handle("youtube", "@harbourcoffee")
    older = snapshot("harbourcoffee", platform=Platform.YOUTUBE, fetched_at=T0 - timedelta(hours=2))
    newer = snapshot("harbourcoffee", platform=Platform.YOUTUBE, fetched_at=T0 - timedelta(hours=1))
    failed = snapshot(
        "harbourcoffee", platform=Platform.YOUTUBE, status=AccountStatus.ERROR, fetched_at=T0
    )
    for snap in (newer, older, failed):
        storage.put_snapshot(snap, handle, max_posts=200)
    assert storage.get_snapshot(handle, max_age=timedelta(hours=24), max_posts=200) == newer
    assert storage.snapshot_count() == 3
    not_found = snapshot("gone", status=AccountStatus.NOT_FOUND, posts=0)
    gone = parse_handle("twitter", "gone")
    storage.put_snapshot(not_found, gone, max_posts=200)
    assert storage.get_snapshot(gone, max_age=timedelta(hours=1), max_posts=200) == not_found


def test_cache_object_and_refresh(db: tuple[Storage, Clock]) -> None:
    storage, _ = db
    handle = parse_handle("facebook", "facebook.com/harbour")
    cache = storage.cache(max_posts=100)
    cache.put(snapshot("harbour", platform=Platform.FACEBOOK), handle)
    assert cache.get(handle, timedelta(hours=1)) is not None
    refreshing = storage.cache(max_posts=100, refresh=True)
    assert refreshing.get(handle, timedelta(hours=1)) is None
    refreshing.put(snapshot("harbour", platform=Platform.FACEBOOK, posts=5), handle)
    got = cache.get(handle, timedelta(hours=1))
    assert got is not None and len(got.posts) == 5


def test_results_and_history(db: tuple[Storage, Clock]) -> None:
    storage, clock = db
    run = storage.start_run("competitors.csv", brands=2)
    storage.put_result(
        "Harbour Coffee", status="ok", report=report("Harbour Coffee", 3), run_id=run
    )
    storage.put_result("Broken", status="failed", error="twitter: 500 from the API", run_id=run)
    storage.finish_run(run, status="partial", summary={"failed": 1})
    clock.now = T0 + timedelta(days=7)
    storage.put_report(report("Harbour Coffee", 4, T0 + timedelta(days=7)))

    rows = storage.results(run)
    assert [(r.brand, r.status) for r in rows] == [("Harbour Coffee", "ok"), ("Broken", "failed")]
    assert rows[1].report is None and rows[1].error == "twitter: 500 from the API"

    past = storage.history("  harbour   COFFEE ")
    assert [(run_at, r.stage) for run_at, r in past] == [(T0, 3), (T0 + timedelta(days=7), 4)]
    assert all(run_at.tzinfo is not None for run_at, _ in past)
    assert storage.history("harbour coffee", limit=1)[0].report.stage == 4
    assert storage.history("Broken") == []
    assert storage.brands() == ["Harbour Coffee"]


def test_errors_are_redacted_before_storage(db: tuple[Storage, Clock]) -> None:
    storage, _ = db
    storage.put_result("X", status="failed", error="GET /v1?access_token=SECRETVALUE123 failed")
    stored = storage.engine.connect().execute(sa.text("SELECT error FROM brand_results")).scalar()
    assert stored is not None and "SECRETVALUE123" not in stored


def test_history_reads_the_default_database_under_uptake_home(tmp_path: Path) -> None:
    settings = load_settings()
    with open_storage(settings) as storage:
        storage.put_report(report("Acme", 5))
    assert (tmp_path / "home" / "uptake.sqlite3").exists()
    assert [r.stage for _, r in history("ACME")] == [5]
    # a plain sqlite3 reader can see what was committed: nothing waits in a buffer
    con = sqlite3.connect(tmp_path / "home" / "uptake.sqlite3")
    assert con.execute("SELECT count(*) FROM brand_results").fetchone() == (1,)
    con.close()


def test_keys() -> None:
    assert handle_key(parse_handle("youtube", "youtube.com/@Harbour.Coffee")) == (
        "handle:harbour.coffee"
    )
    assert brand_key("  Harbour\tCoffee ") == "harbour coffee"


@pytest.mark.parametrize(
    "url",
    ["not a url", "postgresql+nosuchdriver://u@127.0.0.1/db"],
)
def test_bad_database_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        Storage.open(url)
    assert "\n" not in str(info.value)


def test_unreachable_postgres_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as info:
        Storage.open("postgresql+psycopg://user:hunter2secret@127.0.0.1:1/db")
    assert "hunter2secret" not in str(info.value)
    assert "UPTAKE_DATABASE_URL" in str(info.value)
