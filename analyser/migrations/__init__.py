"""Named, versioned schema migrations for the results database, applied in order by `apply`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

__all__ = ["MIGRATIONS", "Migration", "applied", "apply", "pending"]


@dataclass(frozen=True)
class Migration:
    """One schema step. `version` orders them; `name` says what it does and never changes."""

    version: int
    name: str
    upgrade: Callable[[Connection], None]


def _load() -> tuple[Migration, ...]:
    # Imported here, not at module level, so each step module can import Migration from us.
    from analyser.migrations import m0001_initial, m0002_snapshot_lookup_index

    steps = (m0001_initial.MIGRATION, m0002_snapshot_lookup_index.MIGRATION)
    versions = [m.version for m in steps]
    if versions != sorted(set(versions)):
        raise RuntimeError(f"migration versions must be unique and increasing: {versions}")
    return steps


_metadata = sa.MetaData()
schema_migrations = sa.Table(
    "schema_migrations",
    _metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("applied_at", sa.String(40), nullable=False),
)


def applied(engine: Engine) -> list[tuple[int, str]]:
    """(version, name) of every migration already in the database, oldest first."""
    if not sa.inspect(engine).has_table("schema_migrations"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema_migrations.c.version, schema_migrations.c.name).order_by(
                schema_migrations.c.version
            )
        )
        return [(int(v), str(n)) for v, n in rows]


def pending(engine: Engine) -> list[Migration]:
    done = {version for version, _ in applied(engine)}
    return [m for m in MIGRATIONS if m.version not in done]


def apply(engine: Engine, *, target: int | None = None) -> list[Migration]:
    """Bring the schema up to `target` (default: latest); returns the steps applied.

    Each step runs in its own transaction with its bookkeeping row, so a crash leaves the
    database at a known version. On PostgreSQL an advisory lock stops two processes that start
    at once from racing each other through the same steps.
    """
    done: list[Migration] = []
    with engine.begin() as conn:
        _metadata.create_all(conn, checkfirst=True)
    for migration in MIGRATIONS:
        if target is not None and migration.version > target:
            break
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(784512)"))
            exists = conn.execute(
                sa.select(schema_migrations.c.version).where(
                    schema_migrations.c.version == migration.version
                )
            ).first()
            if exists is not None:
                continue
            migration.upgrade(conn)
            conn.execute(
                schema_migrations.insert().values(
                    version=migration.version,
                    name=migration.name,
                    applied_at=datetime.now(UTC).isoformat(timespec="seconds"),
                )
            )
        done.append(migration)
    return done


MIGRATIONS: tuple[Migration, ...] = _load()
