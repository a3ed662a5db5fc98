"""Competitor lists in (CSV, YAML, JSON; validated whole), batch results out (spreadsheet-safe)."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal

import yaml

from analyser.errors import BadInputError
from analyser.handles import Handle, parse_handle
from analyser.models import AccountSnapshot, BrandReport, Platform, SignalValue

__all__ = [
    "MAX_NAME",
    "PLATFORM_COLUMNS",
    "RESULT_COLUMNS",
    "BrandOutcome",
    "BrandSpec",
    "CompetitorFileError",
    "OutputWriter",
    "Status",
    "load_competitors",
    "parse_records",
    "result_row",
    "safe_cell",
    "signal_rows",
]

PLATFORM_COLUMNS: tuple[str, ...] = tuple(p.value for p in Platform)
COLUMNS: tuple[str, ...] = ("name", *PLATFORM_COLUMNS)
MAX_NAME = 200
MAX_PROBLEMS = 100
RESULT_COLUMNS: tuple[str, ...] = (
    "name",
    "stage",
    "stage_name",
    "confidence",
    *(f"{p}_stage" for p in PLATFORM_COLUMNS),
    "key_signals",
    "status",
    "error",
)
# ok: every account read; partial: a report from the accounts that could be read; failed: none.
Status = Literal["ok", "partial", "failed"]


@dataclass(frozen=True)
class BrandSpec:
    """One brand of a competitor list; `line` is where it starts in the file, for messages."""

    name: str
    handles: tuple[Handle, ...]
    line: int


@dataclass(frozen=True)
class BrandOutcome:
    """What a batch made of one brand: a report unless every account failed."""

    name: str
    status: Status
    report: BrandReport | None = None
    error: str | None = None
    snapshots: tuple[AccountSnapshot, ...] = ()


class CompetitorFileError(BadInputError):
    """A competitor list with problems; `problems` has one 'line N: ...' entry for each."""

    def __init__(self, source: str, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        shown = "; ".join(self.problems[:3]) + ("; ..." if count > 3 else "")
        super().__init__(f"{source}: {count} {noun}, nothing was fetched: {shown}")


# -- reading -------------------------------------------------------------------------------------


def load_competitors(path: Path) -> list[BrandSpec]:
    """Read and validate a whole competitor list before anything is fetched.

    CSV columns `name,twitter,youtube,facebook` (a platform column may be left out); several
    handles in a cell separated by ';'; handles may be URLs. YAML and JSON files hold a list of
    objects with the same keys, where a platform value is a string or a list of strings.

    >>> load_competitors(Path("competitors.csv"))  # doctest: +SKIP
    [BrandSpec(name='Harbour Coffee', handles=(...), line=2), ...]
    """
    source = path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise BadInputError(f"cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CompetitorFileError(
            source, [f"line {line}: not UTF-8 text (save the file as UTF-8)"]
        ) from None
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _from_json(text, source)
    if suffix in (".yaml", ".yml"):
        return _from_yaml(text, source)
    return _from_csv(text, source)


def parse_records(
    records: Iterable[tuple[int, Mapping[str, Any]]], source: str = "competitors"
) -> list[BrandSpec]:
    """Validate (line, {name, twitter, youtube, facebook}) records, all problems at once."""
    checker = _Checker(source)
    for line, record in records:
        checker.record(line, record)
    return checker.result()


# parse_handle speaks to the command line; in a file the fix is another column.
_CLI_HINT = re.compile(r"pass it with --(\w+), not --\w+")


class _Checker:
    """Collects every problem of a file, then raises them together: fixing one at a time is slow."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        self.brands: list[BrandSpec] = []
        self._seen: dict[str, int] = {}

    def problem(self, line: int, message: str) -> None:
        self.problems.append(f"line {line}: {message}")

    def record(self, line: int, record: Mapping[str, Any]) -> None:
        if not isinstance(record, Mapping):
            self.problem(line, "expected an object with name, twitter, youtube, facebook")
            return
        unknown = [str(k) for k in record if str(k).strip().lower() not in COLUMNS]
        if unknown:
            self.problem(line, f"unknown field {', '.join(map(repr, unknown))} ({_expected()})")
        fields = {str(k).strip().lower(): v for k, v in record.items()}
        name_value = fields.get("name")
        name = " ".join(str(name_value).split()) if isinstance(name_value, str | int) else ""
        if not name:
            self.problem(line, "the brand name is empty")
        elif len(name) > MAX_NAME:
            self.problem(line, f"the brand name is longer than {MAX_NAME} characters")
        elif (key := name.casefold()) in self._seen:
            self.problem(line, f"duplicate brand {name!r} (first on line {self._seen[key]})")
        else:
            self._seen[key] = line
        handles: dict[tuple[Platform, str, str], Handle] = {}
        for platform in Platform:
            for raw in self._cell(line, platform, fields.get(platform.value)):
                try:
                    handle = parse_handle(platform, raw)
                except BadInputError as exc:
                    message = _CLI_HINT.sub(r"put it in the \1 column", exc.message)
                    self.problem(line, f"{platform.value}: {message}")
                    continue
                handles.setdefault((platform, handle.kind, handle.value.lower()), handle)
        if name and not handles and not any(p.startswith(f"line {line}:") for p in self.problems):
            self.problem(
                line, f"brand {name!r} has no accounts: give a twitter, youtube or facebook"
            )
        self.brands.append(BrandSpec(name, tuple(handles.values()), line))

    def _cell(self, line: int, platform: Platform, value: Any) -> list[str]:
        if value is None:
            return []
        items = value if isinstance(value, list) else [value]
        out: list[str] = []
        for item in items:
            if not isinstance(item, str):
                self.problem(line, f"{platform.value}: expected text, got {type(item).__name__}")
                continue
            out += [part.strip() for part in item.split(";") if part.strip()]
        return out

    def result(self) -> list[BrandSpec]:
        if not self.brands and not self.problems:
            self.problems.append("line 1: no brands in the file")
        if self.problems:
            extra = len(self.problems) - MAX_PROBLEMS
            shown = self.problems[:MAX_PROBLEMS]
            if extra > 0:
                shown.append(f"... and {extra} more problems")
            raise CompetitorFileError(self.source, shown)
        return self.brands


def _expected() -> str:
    return "expected columns: " + ",".join(COLUMNS)


def _from_csv(text: str, source: str) -> list[BrandSpec]:
    checker = _Checker(source)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    header_line = 0
    end = 0
    try:
        for row in reader:
            start, end = end + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue  # blank line, or only commas
            if header is None:
                header, header_line = [c.strip().lower() for c in row], start
                _check_header(checker, header, start)
                if checker.problems:
                    break
                continue
            if len(row) != len(header):
                checker.problem(start, f"{len(row)} cells but the header has {len(header)} columns")
                continue
            checker.record(start, dict(zip(header, row, strict=True)))
    except csv.Error as exc:
        # Report where the broken record starts: an unclosed quote swallows the lines below it.
        checker.problem(end + 1, f"malformed CSV ({exc}): is a quote left open?")
    if header is None and not checker.problems:
        checker.problem(1, f"the file is empty ({_expected()})")
    elif header is not None and not checker.brands and not checker.problems:
        checker.problem(header_line, "no brands below the header")
    return checker.result()


def _check_header(checker: _Checker, header: list[str], line: int) -> None:
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        checker.problem(line, f"columns must be separated by commas ({_expected()})")
        return
    unknown = [c for c in header if c not in COLUMNS]
    if unknown:
        checker.problem(line, f"unknown column {', '.join(map(repr, unknown))} ({_expected()})")
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        checker.problem(line, f"column {', '.join(map(repr, duplicated))} appears twice")
    if "name" not in header:
        checker.problem(line, f"missing column 'name' ({_expected()})")
    if not any(p in header for p in PLATFORM_COLUMNS):
        checker.problem(line, f"missing platform columns ({_expected()})")


def _from_json(text: str, source: str) -> list[BrandSpec]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CompetitorFileError(
            source, [f"line {exc.lineno}: invalid JSON ({exc.msg})"]
        ) from None
    if not isinstance(data, list):
        raise CompetitorFileError(source, ["line 1: expected a JSON list of brands"])
    return parse_records(zip(_json_item_lines(text), data, strict=True), source)


def _json_item_lines(text: str) -> list[int]:
    """The line each element of a top-level JSON list starts on (json gives no positions)."""
    decoder = json.JSONDecoder()
    index = text.index("[") + 1
    lines: list[int] = []
    while True:
        while index < len(text) and text[index] in " \t\r\n,":
            index += 1
        if index >= len(text) or text[index] == "]":
            return lines
        lines.append(text.count("\n", 0, index) + 1)
        _, index = decoder.raw_decode(text, index)


def _from_yaml(text: str, source: str) -> list[BrandSpec]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise CompetitorFileError(source, [f"line {line}: invalid YAML ({problem})"]) from None
    if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
        raise CompetitorFileError(source, ["line 1: expected a YAML list of brands"])
    lines = [item.start_mark.line + 1 for item in node.value]
    return parse_records(zip(lines, data, strict=True), source)


# -- writing -------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: object) -> object:
    """A CSV cell a spreadsheet shows as text: a string that could start a formula gets a
    leading apostrophe (OWASP's advice). Numbers stay numbers: -3 is not an attack.

    >>> safe_cell("=HYPERLINK(\\"http://evil\\")")
    '\\'=HYPERLINK("http://evil")'
    >>> safe_cell(-3)
    -3
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _key_signals(report: BrandReport, limit: int = 3) -> str:
    """The strongest few evidence items, as 'signal=value' (the classifier orders evidence)."""
    out: list[str] = []
    for item in report.evidence:
        text = f"{item.signal}={_fmt(item.value)}"
        if text not in out:
            out.append(text)
        if len(out) == limit:
            break
    return "; ".join(out)


def _fmt(value: SignalValue) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "" if value is None else str(value)


def result_row(outcome: BrandOutcome) -> dict[str, object]:
    """One results.csv row: the brand, its stage, the stage on each platform, why, and status."""
    report = outcome.report
    row: dict[str, object] = dict.fromkeys(RESULT_COLUMNS)
    row.update(name=outcome.name, status=outcome.status, error=outcome.error or "")
    if report is not None:
        row.update(
            stage=report.stage,
            stage_name=report.stage_name,
            confidence=round(report.confidence, 3),
            key_signals=_key_signals(report),
        )
        for platform in PLATFORM_COLUMNS:
            # Several accounts on one platform: the furthest any of them has come.
            stages = [
                a.stage for a in report.platforms if a.platform == platform and a.stage is not None
            ]
            row[f"{platform}_stage"] = max(stages) if stages else None
    return row


def signal_rows(outcome: BrandOutcome) -> Iterator[dict[str, SignalValue]]:
    """One row per account of a brand, with every signal the classifier computed for it."""
    accounts = outcome.report.platforms if outcome.report is not None else ()
    if accounts:
        for account in accounts:
            row: dict[str, SignalValue] = {
                "brand": outcome.name,
                "platform": account.platform.value,
                "handle": account.handle,
                "status": account.status.value,
                "status_detail": account.status_detail,
                "stage": account.stage,
            }
            row.update({k: v for k, v in account.signals.items() if k not in row})
            yield row
        return
    for snap in outcome.snapshots:
        yield {
            "brand": outcome.name,
            "platform": snap.account.platform.value,
            "handle": snap.account.handle,
            "status": snap.account.status.value,
            "status_detail": snap.account.status_detail,
            "stage": None,
        }


class OutputWriter:
    """Writes a batch's files in DIR as results arrive, each flushed so a kill loses nothing:

    results.csv, results.json (always a valid JSON list), signals.jsonl while running, then
    signals.csv and signals.parquet (one row per account) and summary.json at `close`.
    """

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self.dir = out_dir
        self._csv_file = _open(out_dir / "results.csv")
        self._csv = csv.DictWriter(self._csv_file, fieldnames=RESULT_COLUMNS, lineterminator="\n")
        self._csv.writeheader()
        self._json_file: IO[bytes] = (out_dir / "results.json").open("wb")
        self._json_file.write(b"[\n]\n")
        self._json_file.flush()
        self._json_count = 0
        self._signals_file = _open(out_dir / "signals.jsonl")
        self.rows = 0

    def add(self, outcome: BrandOutcome) -> None:
        row = result_row(outcome)
        self._csv.writerow({k: safe_cell(v) for k, v in row.items()})
        self._csv_file.flush()
        self._append_json(_result_document(outcome))
        for signal_row in signal_rows(outcome):
            self._signals_file.write(json.dumps(signal_row, ensure_ascii=False) + "\n")
        self._signals_file.flush()
        self.rows += 1

    def _append_json(self, document: dict[str, Any]) -> None:
        # Keep the file a complete JSON list after every brand: step back over the closing
        # "]\n" and write the next element followed by a new closing bracket.
        text = json.dumps(document, ensure_ascii=False, indent=2)
        indented = "\n".join("  " + line for line in text.splitlines())
        self._json_file.seek(-3, os.SEEK_END)
        prefix = "\n" if self._json_count == 0 else ",\n"
        self._json_file.write((prefix + indented + "\n]\n").encode("utf-8"))
        self._json_file.flush()
        self._json_count += 1

    def close(self, summary: Mapping[str, Any]) -> None:
        """Finish the files: the signals tables and summary.json."""
        for handle in (self._csv_file, self._json_file, self._signals_file):
            handle.close()
        _write_signal_tables(self.dir / "signals.jsonl", self.dir)
        _atomic_write(self.dir / "summary.json", json.dumps(summary, indent=2) + "\n")

    def abort(self) -> None:
        for handle in (self._csv_file, self._json_file, self._signals_file):
            handle.close()


def _open(path: Path) -> IO[str]:
    # newline="" so the csv module's line endings are written as given.
    return path.open("w", encoding="utf-8", newline="")


def _result_document(outcome: BrandOutcome) -> dict[str, Any]:
    base: dict[str, Any] = (
        outcome.report.model_dump(mode="json")
        if outcome.report is not None
        else {"brand": outcome.name}
    )
    base["status"] = outcome.status
    base["error"] = outcome.error
    return base


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _write_signal_tables(jsonl: Path, out_dir: Path, chunk: int = 2000) -> None:
    """signals.csv and signals.parquet from signals.jsonl, streaming: two passes over the file,
    never the whole table in memory (a 5,000-brand batch stays as small as a 100-brand one)."""
    # pyarrow ships no type information; its use here is small and covered by tests.
    import pyarrow as pa  # type: ignore[import-untyped]
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    columns: dict[str, set[str]] = {}
    with jsonl.open(encoding="utf-8") as f:
        for line in f:
            for key, value in json.loads(line).items():
                kinds = columns.setdefault(key, set())
                if value is not None:
                    kinds.add(type(value).__name__)
    names = list(columns)
    schema = pa.schema([(name, _arrow_type(columns[name])) for name in names])
    as_text = {name for name in names if pa.types.is_string(schema.field(name).type)}
    with (
        jsonl.open(encoding="utf-8") as f,
        _open(out_dir / "signals.csv") as csv_file,
        pq.ParquetWriter(out_dir / "signals.parquet", schema) as parquet,
    ):
        writer = csv.DictWriter(csv_file, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        batch: list[dict[str, Any]] = []
        for line in f:
            row = json.loads(line)
            writer.writerow({k: safe_cell(v) for k, v in row.items()})
            batch.append(
                {
                    k: (str(row[k]) if k in as_text and row.get(k) is not None else row.get(k))
                    for k in names
                }
            )
            if len(batch) == chunk:
                parquet.write_table(pa.Table.from_pylist(batch, schema=schema))
                batch = []
        if batch or not names:
            parquet.write_table(pa.Table.from_pylist(batch, schema=schema))


def _arrow_type(kinds: set[str]) -> Any:
    import pyarrow as pa

    if kinds == {"bool"}:
        return pa.bool_()
    if kinds == {"int"}:
        return pa.int64()
    if kinds and kinds <= {"int", "float"}:
        return pa.float64()
    return pa.string()
