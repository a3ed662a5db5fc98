"""`uptake history`: the stage and key signals across stored runs, with dated transitions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from analyser.cli import run
from analyser.config import load_settings
from analyser.errors import ExitCode
from analyser.history import brand_signal, render_history_text, transitions
from analyser.models import STAGE_NAMES, AccountStatus, BrandReport
from analyser.storage import Storage
from tests.analyser.test_report_html import HOSTILE, one_brand, parse

DATES = [datetime(2026, month, 3, 9, tzinfo=UTC) for month in (1, 2, 3, 4)]


def at_stage(report: BrandReport, stage: int, posts_per_week: float | None) -> BrandReport:
    platforms = tuple(
        p.model_copy(update={"signals": {**p.signals, "posts_per_week": posts_per_week}})
        for p in report.platforms
    )
    return report.model_copy(
        update={"stage": stage, "stage_name": STAGE_NAMES[stage], "platforms": platforms}
    )


@pytest.fixture
def stored() -> Iterator[list[tuple[datetime, BrandReport]]]:
    """Four runs of Acme in the default database (SQLite under the test's UPTAKE_HOME)."""
    base, _ = one_brand()
    runs = [
        (DATES[0], at_stage(base, 3, 2.0)),
        (DATES[1], at_stage(base, 3, 2.5)),
        (DATES[2], at_stage(base, 5, 9.0)),
        (DATES[3], at_stage(base, 4, None)),
    ]
    clock = iter(when for when, _ in runs)
    settings = load_settings()
    settings.home.mkdir(parents=True, exist_ok=True)
    with Storage.open(settings.database, clock=lambda: next(clock)) as storage:
        for _, report in runs:
            storage.put_report(report)
    yield runs


def test_transitions_are_dated_by_the_later_run(
    stored: list[tuple[datetime, BrandReport]],
) -> None:
    changes = transitions(list(reversed(stored)))  # order of input does not matter
    assert [str(t) for t in changes] == ["3 -> 5 in March 2026", "5 -> 4 in April 2026"]
    assert transitions(stored[:2]) == []


def test_brand_signal_is_the_mean_of_known_values_and_unknown_stays_none() -> None:
    report, _ = one_brand()
    assert brand_signal(report, "posts_last_90d") == 30.0
    assert brand_signal(report, "response_rate") is None  # None on every account
    assert brand_signal(report, "no_such_signal") is None
    gone = report.platforms[0].model_copy(
        update={"status": AccountStatus.NOT_FOUND, "signals": {"posts_last_90d": 999}}
    )
    assert brand_signal(report.model_copy(update={"platforms": (gone,)}), "posts_last_90d") is None


def test_cli_history_prints_stages_signals_and_transitions(
    stored: list[tuple[datetime, BrandReport]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["history", "  ACME "]) == ExitCode.OK  # matched ignoring case and spacing
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Acme: 4 stored run(s)"
    table = [line for line in lines if line.startswith("2026-")]
    assert [line.split()[2] for line in table] == ["3", "3", "5", "4"]
    assert "9.00" in table[2] and "unknown" in table[3].split("%")[1]
    assert "Transitions" in lines
    assert "  3 -> 5 in March 2026" in lines and "  5 -> 4 in April 2026" in lines


def test_cli_history_json_and_limit(
    stored: list[tuple[datetime, BrandReport]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["history", "Acme", "--format", "json", "--limit", "2"]) == ExitCode.OK
    document = json.loads(capsys.readouterr().out)
    assert [r["stage"] for r in document["runs"]] == [5, 4]  # the two most recent
    assert document["runs"][1]["signals"]["posts_per_week"] is None
    assert document["transitions"] == [
        {"at": "2026-04-03T09:00:00+00:00", "from": 5, "to": 4, "text": "5 -> 4 in April 2026"}
    ]


def test_cli_history_html_has_the_history_chart(
    stored: list[tuple[datetime, BrandReport]], tmp_path: Path
) -> None:
    target = tmp_path / "out" / "h.html"
    assert run(["history", "Acme", "--format", "html", "-o", str(target)]) == ExitCode.OK
    page = target.read_text(encoding="utf-8")
    charts = [a["data-chart"] for t, a in parse(page).elements if t == "figure"]
    assert charts == ["history"]
    assert "3 -&gt; 5" in page and "5 -&gt; 4" in page
    assert "Activity charts need the fetched posts" in page


def test_unknown_brand_is_bad_input_naming_stored_brands(
    stored: list[tuple[datetime, BrandReport]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["history", "Nobody"]) == ExitCode.BAD_INPUT
    err = capsys.readouterr().err
    assert "No stored runs for brand 'Nobody'" in err and "Stored brands: Acme" in err


def test_terminal_text_carries_no_escape_sequences() -> None:
    base, _ = one_brand(brand="Evil\x1b[2J\x1b]0;pwned\x07 " + HOSTILE)
    text = render_history_text("x", [(DATES[0], base), (DATES[1], at_stage(base, 6, 1.0))])
    assert "\x1b" not in text and "\x07" not in text
    assert text.splitlines()[0].startswith("Evil [2J ]0;pwned")
    assert "3 -> 6 in February 2026" in text
