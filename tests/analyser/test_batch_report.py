"""DIR/report.html from a batch: every brand with a report is in it, charts bounded by size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analyser.batch_report import iter_documents, write_batch_report
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


DOCS: list[object] = [
    {"brand": 'Café — {braces} and "quotes"', "stage": 3, "text": "ü😀" * 40},
    {"brand": "Plain", "stage": None, "nested": {"list": [1, 2, {"x": "]"}]}},
    7,
    None,
    {"brand": "Last", "stage": 5, "escaped": '\\\\"}\n'},
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 64, 1 << 20])
def test_results_json_is_read_a_chunk_at_a_time(tmp_path: Path, chunk: int) -> None:
    # Written the way OutputWriter writes it: indented elements, multi-byte text.
    path = tmp_path / "results.json"
    body = ",\n".join(
        "\n".join("  " + line for line in json.dumps(d, ensure_ascii=False, indent=2).splitlines())
        for d in DOCS
    )
    path.write_text(f"[\n{body}\n]\n", encoding="utf-8")
    raw = path.read_bytes()
    got = list(iter_documents(path, chunk))
    assert [doc for doc, _, _ in got] == [d for d in DOCS if isinstance(d, dict)]
    for doc, start, end in got:  # each range holds exactly that document
        assert json.loads(raw[start:end]) == doc


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "ends before its closing ]"),
        ('[\n  {"brand": "A"}', "ends before its closing ]"),
        ('{"brand": "A"}', "is not a JSON list"),
        ('[\n  {"brand": "A", "stage": ', "Expecting value"),
    ],
)
def test_a_damaged_results_json_is_an_error_not_a_short_report(
    tmp_path: Path, text: str, error: str
) -> None:
    path = tmp_path / "results.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=error):
        list(iter_documents(path, 4))


def test_empty_results_json_has_no_documents(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text("[\n]\n", encoding="utf-8")
    assert list(iter_documents(path)) == []
