"""Migration 2: index the cache lookup (platform, handle, newest first) so resumes stay fast."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analyser.migrations import Migration


def upgrade(conn: Connection) -> None:
    metadata = sa.MetaData()
    snapshots = sa.Table(
        "snapshots",
        metadata,
        sa.Column("platform", sa.String(20)),
        sa.Column("handle_key", sa.String(250)),
        sa.Column("fetched_at", sa.DateTime(timezone=True)),
    )
    sa.Index(
        "ix_snapshots_lookup", snapshots.c.platform, snapshots.c.handle_key, snapshots.c.fetched_at
    ).create(conn)


MIGRATION = Migration(2, "snapshot_lookup_index", upgrade)
