"""DIR/report.html from a batch: every brand with a report is in it, charts bounded by size."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyser.batch_report import write_batch_report
from analyser.batchio import load_competitors
from analyser.cli import run
from analyser.config import load_settings
from analyser.storage import open_storage

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "competitors.csv"


def _subset(tmp_path: Path, rows: int) -> Path:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    path = tmp_path / "competitors.csv"
    path.write_text("\n".join(lines[: rows + 1]) + "\n", encoding="utf-8")
    return path


def test_batch_writes_a_report_with_every_brand(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    competitors = _subset(tmp_path, 4)
    out = tmp_path / "out"
    assert run(["batch", str(competitors), "--out", str(out), "--offline", "--quiet"]) == 0
    assert f"HTML report: {out / 'report.html'}" in capsys.readouterr().out
    html = (out / "report.html").read_text(encoding="utf-8")
    for spec in load_competitors(competitors):
        assert spec.name in html
    assert "<svg" in html  # per-post charts for a small batch


def test_large_batches_leave_the_per_post_charts_out(tmp_path: Path) -> None:
    competitors = _subset(tmp_path, 3)
    out = tmp_path / "out"
    assert run(["batch", str(competitors), "--out", str(out), "--offline", "--quiet"]) == 0
    brands = load_competitors(competitors)
    with open_storage(load_settings()) as storage:
        small = write_batch_report(out, brands, storage, max_posts=200)
        assert small is not None
        charted = small.read_text(encoding="utf-8")
        large = write_batch_report(out, brands, storage, max_posts=200, chart_brands=2)
        assert large is not None
        bounded = large.read_text(encoding="utf-8")
    assert "per-post charts left out" in bounded
    assert len(bounded) < len(charted)
    for spec in brands:
        assert spec.name in bounded


def test_no_report_when_nothing_was_analysed(tmp_path: Path) -> None:
    with open_storage(load_settings()) as storage:
        assert write_batch_report(tmp_path, [], storage, max_posts=200) is None


def test_large_batches_are_rendered_page_by_page(tmp_path: Path) -> None:
    competitors = _subset(tmp_path, 5)
    out = tmp_path / "out"
    assert run(["batch", str(competitors), "--out", str(out), "--offline", "--quiet"]) == 0
    brands = load_competitors(competitors)
    with open_storage(load_settings()) as storage:
        first = write_batch_report(out, brands, storage, max_posts=200, page_brands=2)
    assert first == out / "report.html"
    pages = [out / "report.html", out / "report-002.html", out / "report-003.html"]
    texts = [p.read_text(encoding="utf-8") for p in pages]
    assert "page 1 of 3" in texts[0] and "page 3 of 3" in texts[2]
    for spec in brands:  # every brand on exactly one page
        assert sum(spec.name in text for text in texts) == 1
