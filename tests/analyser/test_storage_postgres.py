"""The same storage contract against a real PostgreSQL server (`.ci/run` starts one)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa

from analyser import migrations
from analyser.handles import parse_handle
from analyser.storage import Storage
from tests.analyser.test_storage import T0, Clock, report, snapshot

# Read at import: the autouse fixture in tests/conftest.py clears every UPTAKE_* variable.
POSTGRES_URL = os.environ.get("UPTAKE_TEST_POSTGRES_URL")

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not POSTGRES_URL,
        reason="UPTAKE_TEST_POSTGRES_URL is not set: run .ci/run, which starts PostgreSQL",
    ),
]


@pytest.fixture
def pg() -> Iterator[tuple[Storage, Clock, str]]:
    """A fresh schema per test, dropped afterwards, so runs never see each other's rows."""
    assert POSTGRES_URL is not None
    schema = f"uptake_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(POSTGRES_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    clock = Clock(T0)
    storage = Storage(url.render_as_string(hide_password=False), clock=clock)
    try:
        yield storage, clock, schema
    finally:
        storage.close()
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_postgres_migrations_cache_results_and_history(pg: tuple[Storage, Clock, str]) -> None:
    storage, clock, schema = pg
    assert storage.engine.dialect.name == "postgresql"
    assert storage.migrate() == ["initial", "snapshot_lookup_index"]
    assert storage.migrate() == []
    tables = set(sa.inspect(storage.engine).get_table_names(schema=schema))
    assert {"schema_migrations", "snapshots", "runs", "brand_results"} <= tables

    handle = parse_handle("twitter", "@Harbour")
    snap = snapshot(fetched_at=T0 - timedelta(hours=1))
    storage.put_snapshot(snap, handle, max_posts=200)
    assert storage.get_snapshot(handle, max_age=timedelta(hours=24), max_posts=200) == snap
    assert storage.get_snapshot(handle, max_age=timedelta(minutes=30), max_posts=200) is None

    run = storage.start_run("competitors.csv", brands=1)
    storage.put_result("Harbour", status="ok", report=report("Harbour", 3), run_id=run)
    storage.finish_run(run, status="ok", summary={"requests": 7})
    clock.now = T0 + timedelta(days=1)
    storage.put_report(report("Harbour", 4, T0 + timedelta(days=1)))
    assert [(at, r.stage) for at, r in storage.history("HARBOUR")] == [
        (T0, 3),
        (T0 + timedelta(days=1), 4),
    ]
    assert [r.brand for r in storage.results(run)] == ["Harbour"]


def test_postgres_takes_concurrent_writers(pg: tuple[Storage, Clock, str]) -> None:
    storage, _, _ = pg
    storage.migrate()

    def put(i: int) -> None:
        handle = parse_handle("twitter", f"acct{i}")
        storage.put_snapshot(snapshot(f"acct{i}"), handle, max_posts=100)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, range(40)))
    assert storage.snapshot_count() == 40
    assert len(migrations.applied(storage.engine)) == len(migrations.MIGRATIONS)
