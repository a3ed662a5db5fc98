"""Competitor files are validated whole with line numbers; outputs are safe and valid as written."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from analyser.batchio import (
    RESULT_COLUMNS,
    BrandOutcome,
    CompetitorFileError,
    OutputWriter,
    load_competitors,
    parse_records,
    safe_cell,
)
from analyser.errors import BadInputError, ExitCode
from analyser.models import AccountResult, AccountStatus, BrandReport, Evidence, Platform

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def write(tmp_path: Path, name: str, text: str, *, bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(CompetitorFileError) as info:
        load_competitors(path)
    assert info.value.exit_code == ExitCode.BAD_INPUT
    assert "\n" not in str(info.value)
    return info.value.problems


def test_csv_with_bom_blank_lines_spaces_urls_and_several_handles(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "competitors.csv",
        " Name , Twitter ,youtube, facebook\r\n"
        "\r\n"
        "  Harbour Coffee , @harbour ; https://x.com/HarbourAU ,youtube.com/@harbourcoffee,\r\n"
        ",,,\r\n"
        'Acme,"acme",UCabcdefghijklmnopqrstuv,https://www.facebook.com/acme.co\r\n',
        bom=True,
    )
    brands = load_competitors(path)
    assert [(b.name, b.line) for b in brands] == [("Harbour Coffee", 3), ("Acme", 5)]
    harbour = brands[0].handles
    assert [(h.platform, h.value) for h in harbour] == [
        (Platform.TWITTER, "harbour"),
        (Platform.TWITTER, "HarbourAU"),
        (Platform.YOUTUBE, "harbourcoffee"),
    ]
    assert [h.kind for h in brands[1].handles] == ["username", "channel_id", "username"]


def test_same_account_twice_in_a_cell_is_kept_once(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,twitter\nA,@harbour;https://twitter.com/Harbour\n")
    assert len(load_competitors(path)[0].handles) == 1


def test_a_platform_column_may_be_left_out(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", "name,youtube\nA,@harbourcoffee\n")
    assert load_competitors(path)[0].handles[0].platform is Platform.YOUTUBE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name,twiter,youtube\nA,a,b\n", ["line 1: unknown column 'twiter'"]),
        (
            "brand,twitter\nA,a\n",
            ["line 1: unknown column 'brand'", "line 1: missing column 'name'"],
        ),
        ("name\nA\n", ["line 1: missing platform columns"]),
        ("name,twitter,twitter\nA,a,b\n", ["line 1: column 'twitter' appears twice"]),
        ("name;twitter;youtube\nA;a;b\n", ["line 1: columns must be separated by commas"]),
        ("", ["line 1: the file is empty"]),
        ("name,twitter\n\n", ["line 1: no brands below the header"]),
        (
            "name,twitter\n,harbour\nB,b\n  ,c\n",
            ["line 2: the brand name is empty", "line 4: the brand name is empty"],
        ),
        (
            "name,twitter\nAcme,a\nB,b\n acme ,c\n",
            ["line 4: duplicate brand 'acme' (first on line 2)"],
        ),
        (
            "name,twitter,youtube\nA,https://facebook.com/a,\nB,ok,youtube.com/watch?v=x\n",
            ["line 2: twitter: 'https://facebook.com/a' is a ",
             "line 3: youtube: 'youtube.com/watch?v=x' is a YouTube video URL"],
        ),
        ("name,twitter\nA,way_too_long_for_x_handles\n", ["line 2: twitter: invalid X handle"]),
        ("name,twitter,youtube\nA,,\n", ["line 2: brand 'A' has no accounts"]),
        ("name,twitter\nA,a,extra\n", ["line 2: 3 cells but the header has 2 columns"]),
        ('name,twitter\n"A\nB",a\nC,"c\n', ["line 4: malformed CSV (unexpected end of data)"]),
    ],
)  # fmt: skip
def test_bad_csv_files_list_every_problem_with_its_line(
    tmp_path: Path, text: str, expected: list[str]
) -> None:
    found = problems(write(tmp_path, "c.csv", text))
    assert len(found) >= len(expected)
    for want, got in zip(expected, found, strict=False):
        assert got.startswith(want), (want, got)


def test_line_numbers_count_multi_line_cells_and_blank_lines(tmp_path: Path) -> None:
    text = 'name,twitter\n\n"Multi\nline",good\nBad,"not_a-handle!"\n'
    assert problems(write(tmp_path, "c.csv", text)) == (
        "line 5: twitter: invalid X handle 'not_a-handle!': "
        "1-15 letters, digits or underscores expected",
    )


def test_not_utf8_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"name,twitter\nCaf\xe9,cafe\n")
    assert problems(path) == ("line 2: not UTF-8 text (save the file as UTF-8)",)


def test_json_and_yaml_lists_with_line_numbers(tmp_path: Path) -> None:
    good_json = write(
        tmp_path,
        "c.json",
        '[\n  {"name": "Harbour", "twitter": ["@harbour", "x.com/HarbourAU"]},\n'
        '  {"name": "Acme", "facebook": "acme.co; https://facebook.com/acme.nz"}\n]\n',
    )
    brands = load_competitors(good_json)
    assert [(b.name, b.line, len(b.handles)) for b in brands] == [("Harbour", 2, 2), ("Acme", 3, 2)]
    bad_json = write(
        tmp_path,
        "bad.json",
        '[\n  {"name": "A", "twitter": "a"},\n\n  {"name": "B", "tiktok": "b", "twitter": 5}\n]',
    )
    assert problems(bad_json) == (
        "line 4: unknown field 'tiktok' (expected columns: name,twitter,youtube,facebook)",
        "line 4: twitter: expected text, got int",
    )
    assert problems(write(tmp_path, "broken.json", '[{"name": "A",\n}]')) == (
        "line 2: invalid JSON (Expecting property name enclosed in double quotes)",
    )
    yaml_text = (
        "- name: Harbour\n  twitter: [harbour]\n- name: harbour\n  youtube: '@harbourcoffee'\n"
    )
    assert problems(write(tmp_path, "c.yaml", yaml_text)) == (
        "line 3: duplicate brand 'harbour' (first on line 1)",
    )
    good_yaml = write(tmp_path, "c.yml", "- name: Harbour\n  twitter: harbour\n")
    assert load_competitors(good_yaml)[0].handles[0].value == "harbour"
    assert problems(write(tmp_path, "map.yaml", "name: Harbour\n")) == (
        "line 1: expected a YAML list of brands",
    )


def test_parse_records_for_the_python_api() -> None:
    brands = parse_records([(1, {"name": "A", "twitter": "a"}), (2, {"name": 3, "youtube": "b_b"})])
    assert [(b.name, b.handles[0].platform) for b in brands] == [
        ("A", Platform.TWITTER),
        ("3", Platform.YOUTUBE),
    ]
    with pytest.raises(CompetitorFileError) as info:
        parse_records([(1, {"name": "A", "twitter": "a"}), (2, {"name": "B", "youtube": None})])
    assert info.value.problems == (
        "line 2: brand 'B' has no accounts: give a twitter, youtube or facebook",
    )


def test_handle_errors_point_to_the_column_not_a_cli_option(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "c.csv", "name,twitter\nA,https://youtube.com/@harbour\n"))
    assert found[0].endswith("put it in the youtube column"), found


def test_a_missing_file_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInputError, match="cannot read"):
        load_competitors(tmp_path / "nope.csv")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+61 400 000 000", "'+61 400 000 000"),
        ("-cmd|' /C calc'!A0", "'-cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1", "'\t=1"),
        ("＝1+1", "'＝1+1"),
        ("Harbour = good", "Harbour = good"),
        (-3, -3),
        (0.5, 0.5),
        (None, None),
    ],
)
def test_safe_cell(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


def _report(brand: str, *, signal_text: str = "ok") -> BrandReport:
    accounts = (
        AccountResult(
            platform=Platform.TWITTER, handle="harbour", status=AccountStatus.FOUND, stage=3,
            signals={"posts_last_90d": 42, "reply_rate": 0.25, "bio": signal_text, "open": True},
        ),
        AccountResult(
            platform=Platform.TWITTER, handle="harbour_au", status=AccountStatus.FOUND, stage=5,
            signals={"posts_last_90d": 7, "reply_rate": None, "bio": None, "open": False},
        ),
        AccountResult(
            platform=Platform.YOUTUBE, handle="gone", status=AccountStatus.NOT_FOUND,
        ),
    )  # fmt: skip
    evidence = (
        Evidence(signal="reply_rate", value=0.25, rule="r1", stage=6),
        Evidence(signal="posts_last_90d", value=42, rule="r2", stage=3),
    )
    return BrandReport(
        brand=brand, as_of=T0, stage=5, stage_name="Campaigns", confidence=0.71234,
        platforms=accounts, evidence=evidence,
    )  # fmt: skip


def test_outputs_are_valid_after_every_brand_and_formula_safe(tmp_path: Path) -> None:
    out = OutputWriter(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "results.json").read_text()) == []
    evil = '=HYPERLINK("http://evil","x")'
    out.add(BrandOutcome(evil, "ok", report=_report(evil, signal_text="@me =2+3")))
    # readable mid-run, as a killed batch would leave it
    mid = json.loads((tmp_path / "out" / "results.json").read_text())
    assert [d["brand"] for d in mid] == [evil]
    out.add(BrandOutcome("Broken", "failed", error="-twitter: 500 after 5 tries"))
    out.add(BrandOutcome("Ünïcode ☕", "partial", report=_report("Ünïcode ☕"), error="youtube: x"))
    out.close({"brands": 3})

    docs = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert [(d["brand"], d["status"], d["error"]) for d in docs] == [
        (evil, "ok", None),
        ("Broken", "failed", "-twitter: 500 after 5 tries"),
        ("Ünïcode ☕", "partial", "youtube: x"),
    ]
    assert docs[0]["stage"] == 5 and docs[0]["schema_version"] == "1.0"

    with (tmp_path / "out" / "results.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == list(RESULT_COLUMNS)
    assert rows[0]["name"] == "'" + evil
    assert rows[0]["twitter_stage"] == "5" and rows[0]["youtube_stage"] == ""
    assert rows[0]["confidence"] == "0.712"
    assert rows[0]["key_signals"] == "reply_rate=0.25; posts_last_90d=42"
    assert rows[1]["error"] == "'-twitter: 500 after 5 tries" and rows[1]["stage"] == ""
    for row in rows:
        for cell in row.values():
            assert not cell.startswith(("=", "+", "-", "@")), cell

    signals = pd.read_parquet(tmp_path / "out" / "signals.parquet")
    assert len(signals) == 6  # 3 accounts for each of the two brands with a report
    assert signals["posts_last_90d"].dropna().tolist() == [42, 7, 42, 7]
    assert signals["open"].dropna().tolist() == [True, False, True, False]
    assert signals.loc[0, "bio"] == "@me =2+3"  # parquet keeps the data as it is
    with (tmp_path / "out" / "signals.csv").open(encoding="utf-8", newline="") as f:
        csv_signals = list(csv.DictReader(f))
    assert csv_signals[0]["bio"] == "'@me =2+3"
    assert csv_signals[0]["brand"] == "'" + evil
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == {"brands": 3}
