"""The published JSON Schema is the one the models generate, and reports validate against it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

from analyser.models import (
    AccountResult,
    AccountStatus,
    BrandReport,
    Coverage,
    Evidence,
    Platform,
    report_json_schema,
)
from analyser.report import render_json

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "docs" / "report.schema.json"


def test_published_schema_is_current() -> None:
    published = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert published == report_json_schema(), "run `make schema` and commit docs/report.schema.json"


def _report() -> BrandReport:
    when = datetime(2026, 11, 1, tzinfo=UTC)
    return BrandReport(
        brand="Example",
        as_of=when,
        stage=3,
        stage_name="Broadcast-out",
        confidence=0.7,
        platforms=(
            AccountResult(
                platform=Platform.TWITTER,
                handle="example",
                status=AccountStatus.FOUND,
                stage=3,
                stage_name="Broadcast-out",
                signals={"broadcast_ratio": 0.97, "reply_rate": 0.0, "response_rate": None},
            ),
        ),
        evidence=(Evidence(signal="broadcast_ratio", value=0.97, rule="broadcast", stage=3),),
        advice=("Answer the replies you get.",),
        coverage=Coverage(accounts=1, posts_analysed=10, date_from=when, date_to=when),
    )


def test_report_validates() -> None:
    doc = json.loads(render_json(_report()))
    jsonschema.validate(doc, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    for key in ("brand", "stage", "stage_name", "confidence", "platforms", "evidence", "advice"):
        assert key in doc
    assert doc["platforms"][0]["signals"]["response_rate"] is None


def test_schema_rejects_a_stage_out_of_range() -> None:
    doc = json.loads(render_json(_report()))
    doc["stage"] = 9
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
