"""A brand's stage across stored runs: the transitions, key signals, and `uptake history`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from pathlib import Path

import click

from analyser.errors import BadInputError
from analyser.models import AccountStatus, BrandReport, SignalValue

__all__ = [
    "KEY_SIGNALS",
    "Transition",
    "brand_signal",
    "history_command",
    "history_json",
    "render_history_text",
    "transitions",
]

# The signals an analyst watches between runs: how much, how two-way, how open.
KEY_SIGNALS: tuple[str, ...] = (
    "posts_per_week",
    "broadcast_ratio",
    "reply_rate",
    "response_rate",
    "closed_share",
    "call_for_input_share",
)
# Short headings keep the terminal table within ~110 columns (signals: analyser/features.py).
_HEADINGS = {
    "posts_per_week": "posts/wk",
    "broadcast_ratio": "broadcast",
    "reply_rate": "replies",
    "response_rate": "answered",
    "closed_share": "closed",
    "call_for_input_share": "asks",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")

Run = tuple[datetime, BrandReport]


@dataclass(frozen=True)
class Transition:
    """A change of stage between two consecutive runs, dated by the later run."""

    at: datetime
    before: int
    after: int

    def __str__(self) -> str:
        """`3 -> 5 in March 2026`."""
        return f"{self.before} -> {self.after} in {self.at:%B %Y}"


def transitions(runs: Sequence[Run]) -> list[Transition]:
    """Every change of stage, oldest first; runs that keep the stage are not transitions.

    >>> [str(t) for t in transitions([(jan, r3), (feb, r3), (mar, r5)])]  # doctest: +SKIP
    ['3 -> 5 in March 2026']
    """
    ordered = sorted(runs, key=lambda run: run[0])
    return [
        Transition(at=when, before=prev.stage, after=report.stage)
        for (_, prev), (when, report) in pairwise(ordered)
        if report.stage != prev.stage
    ]


def brand_signal(report: BrandReport, signal: str) -> float | None:
    """One number per brand and run: the mean over its found accounts that expose the signal.

    Unknown on every account stays None (not 0); non-numeric values are ignored.
    """
    values: list[float] = []
    for account in report.platforms:
        if account.status is not AccountStatus.FOUND:
            continue
        value: SignalValue = account.signals.get(signal)
        if isinstance(value, int | float) and not isinstance(value, bool):
            values.append(float(value))
    return sum(values) / len(values) if values else None


def _clean(text: str) -> str:
    """Terminal-safe: a brand name from a competitor file must not carry escape sequences."""
    return " ".join(_CONTROL.sub(" ", text).split())


def _fmt(value: float | None) -> str:
    if value is None:
        return "unknown"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:,.0f}"


def render_history_text(brand: str, runs: Sequence[Run]) -> str:
    """The terminal view: one line per run with the stage and key signals, then the transitions."""
    ordered = sorted(runs, key=lambda run: run[0])
    name = _clean(ordered[-1][1].brand if ordered else brand)
    lines = [f"{name}: {len(ordered)} stored run(s)", ""]
    header = ["run (UTC)", "stage", "conf", "posts", *(_HEADINGS[s] for s in KEY_SIGNALS)]
    rows = [
        [
            f"{when:%Y-%m-%d %H:%M}",
            f"{report.stage} {report.stage_name}",
            f"{report.confidence:.0%}",
            f"{report.coverage.posts_analysed:,}",
            *(_fmt(brand_signal(report, s)) for s in KEY_SIGNALS),
        ]
        for when, report in ordered
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    changes = transitions(ordered)
    lines.append("")
    if changes:
        lines.append("Transitions")
        lines.extend(f"  {change}" for change in changes)
    elif ordered:
        lines.append(f"No change of stage: {ordered[0][1].stage} throughout.")
    return "\n".join(line.rstrip() for line in lines)


def history_json(brand: str, runs: Sequence[Run]) -> str:
    """The same as data: runs with stage and key signals, and the transitions."""
    ordered = sorted(runs, key=lambda run: run[0])
    document = {
        "brand": ordered[-1][1].brand if ordered else brand,
        "runs": [
            {
                "run_at": when.isoformat(),
                "stage": report.stage,
                "stage_name": report.stage_name,
                "confidence": report.confidence,
                "posts_analysed": report.coverage.posts_analysed,
                "signals": {s: brand_signal(report, s) for s in KEY_SIGNALS},
            }
            for when, report in ordered
        ],
        "transitions": [
            {"at": t.at.isoformat(), "from": t.before, "to": t.after, "text": str(t)}
            for t in transitions(ordered)
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _load(brand: str, limit: int | None) -> list[Run]:
    from analyser.storage import open_storage  # the database only when the command runs

    with open_storage() as storage:
        runs = [(entry.run_at, entry.report) for entry in storage.history(brand, limit=limit)]
        if runs:
            return runs
        known = storage.brands()
    hint = f" Stored brands: {', '.join(_clean(b) for b in known[:5])}." if known else ""
    more = " ..." if len(known) > 5 else ""
    raise BadInputError(
        f"No stored runs for brand {_clean(brand)!r}: run `uptake analyse` or `uptake batch` "
        f"first.{hint}{more}"
    )


@click.command("history")
@click.argument("brand")
@click.option("--limit", type=click.IntRange(min=1), help="Only the most recent N runs.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "html")),
    default="table",
    show_default=True,
)
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write here instead of standard output (html: the latest report with its history).",
)
def history_command(brand: str, limit: int | None, fmt: str, output: Path | None) -> None:
    """The stage and key signals of BRAND across past runs, with its transitions."""
    runs = _load(brand, limit)
    if fmt == "json":
        text = history_json(brand, runs)
    elif fmt == "html":
        from analyser.report_html import render_html

        latest = max(runs, key=lambda run: run[0])[1]
        text = render_html([(latest, ())], history={latest.brand: runs})
    else:
        text = render_history_text(brand, runs)
    if output is None:
        click.echo(text)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text + "\n", encoding="utf-8")
    click.echo(f"wrote {output}", err=True)
