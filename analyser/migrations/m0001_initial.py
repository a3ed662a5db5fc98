"""Migration 1: snapshots of accounts, batch runs, and each brand's result in a run."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from analyser.migrations import Migration


def upgrade(conn: Connection) -> None:
    # Tables are declared here as they were at version 1, not imported from storage.py, so
    # that later schema changes cannot rewrite history.
    metadata = sa.MetaData()
    sa.Table(
        "snapshots",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("handle_key", sa.String(250), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("max_posts", sa.Integer, nullable=False),
        sa.Column("posts", sa.Integer, nullable=False),
        sa.Column("requests", sa.Integer, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
    )
    sa.Table(
        "runs",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("brands", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
    )
    sa.Table(
        "brand_results",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id"), nullable=True),
        sa.Column("brand", sa.String(200), nullable=False),
        sa.Column("brand_key", sa.String(200), nullable=False, index=True),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text, nullable=True),
        sa.Column("stage", sa.Integer, nullable=True),
        sa.Column("confidence", sa.Float, nullable=True),
        sa.Column("report", sa.Text, nullable=True),
    )
    metadata.create_all(conn)


MIGRATION = Migration(1, "initial", upgrade)
