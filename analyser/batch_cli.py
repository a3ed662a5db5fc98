"""`uptake batch`: the command over analyser.batch, with Rich or plain-line progress."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click

from analyser.batch import (
    X_PRICE_PER_POST_READ_USD,
    BatchSummary,
    Progress,
    QuietProgress,
    parse_concurrency,
    parse_max_age,
    plan_batch,
    run_batch,
)
from analyser.batch_report import write_batch_report
from analyser.batchio import BrandOutcome, CompetitorFileError, OutputWriter, load_competitors
from analyser.config import load_settings
from analyser.errors import BadInputError, ExitCode, UptakeError
from analyser.models import Platform
from analyser.pipeline import Mode, Runtime, check_budget, parse_as_of
from analyser.storage import open_storage

__all__ = ["BatchPartialError", "LineProgress", "RichProgress", "batch_command", "make_progress"]


class BatchPartialError(UptakeError):
    """Some brands failed but the others' results were written: exit 8, not a crash."""

    exit_code = ExitCode.PARTIAL


class LineProgress(QuietProgress):
    """One plain line per finished brand, for logs and pipes (no terminal control codes).

    A brand's line is printed only once it is in the database and the output files.
    """

    def __init__(
        self,
        write: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write or (lambda text: print(text, file=sys.stderr, flush=True))
        self._clock = clock
        self._started = clock()

    def brand_done(self, outcome: BrandOutcome, done: int, total: int) -> None:
        stage = f"stage {outcome.report.stage}" if outcome.report is not None else "no stage"
        elapsed = self._clock() - self._started
        eta = elapsed / done * (total - done) if done else 0.0
        line = f"[{done}/{total}] {outcome.name}: {outcome.status}, {stage}"
        if outcome.error:
            line += f" ({outcome.error})"
        self._write(f"{line}; eta {_duration(eta)}")


class RichProgress(QuietProgress):
    """A bar per platform (accounts) and one for brands, with counts and ETA, on stderr."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description:<9}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._tasks: dict[str, Any] = {}

    def start(self, brands: int, accounts: Mapping[Platform, int]) -> None:
        self._bars.start()
        self._tasks["brands"] = self._bars.add_task("brands", total=brands)
        for platform, count in accounts.items():
            self._tasks[platform.value] = self._bars.add_task(platform.value, total=count)

    def account_done(self, platform: Platform) -> None:
        self._bars.advance(self._tasks[platform.value])

    def brand_done(self, outcome: BrandOutcome, done: int, total: int) -> None:
        self._bars.advance(self._tasks["brands"])

    def close(self) -> None:
        self._bars.stop()


def make_progress(*, quiet: bool, terminal: bool | None = None) -> Progress:
    """Rich bars on a terminal, plain lines in a pipe or log, nothing with --quiet."""
    if quiet:
        return QuietProgress()
    if terminal if terminal is not None else sys.stderr.isatty():
        return RichProgress()
    return LineProgress()


def _duration(seconds: float) -> str:
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole // 60 % 60:02d}m"


def summary_lines(summary: BatchSummary, out_dir: Path | None) -> list[str]:
    lines = [
        f"{summary.brands} brands: {summary.ok} ok, {summary.partial} partial, "
        f"{summary.failed} failed" + (f", {summary.not_run} not run" if summary.not_run else ""),
        f"{summary.requests} requests, {summary.youtube_quota_units} YouTube quota units, "
        f"{summary.x_post_reads} X post reads (${summary.x_post_read_cost_usd:.2f} at "
        f"${X_PRICE_PER_POST_READ_USD} a post read), {summary.wall_time_s:.1f} s",
    ]
    if out_dir is not None:
        lines.append(f"results in {out_dir}")
    return lines


@click.command("batch")
@click.argument("competitors", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory for results.csv, results.json, signals.csv/.parquet and summary.json.",
)
@click.option(
    "--max-posts", type=click.IntRange(1, 3200), default=200, show_default=True,
    help="Recent posts read per account.",
)  # fmt: skip
@click.option(
    "--max-age", default="24h", show_default=True, metavar="AGE",
    help="Reuse stored snapshots younger than this (24h, 90m, 2d; 0 never reuses).",
)  # fmt: skip
@click.option("--refresh", is_flag=True, help="Fetch every account again, ignoring stored ones.")
@click.option("--plan", is_flag=True, help="Print what the batch would cost, fetch nothing.")
@click.option(
    "--quota-budget", type=click.IntRange(0), metavar="UNITS",
    help="Refuse to start if the planned YouTube quota units exceed this (exit 7).",
)  # fmt: skip
@click.option(
    "--concurrency", multiple=True, metavar="N|PLATFORM=N",
    help="Workers per platform (default 8); repeat as youtube=4 for one platform.",
)  # fmt: skip
@click.option("--offline", is_flag=True, help="Replay recorded fixtures: no network, no keys.")
@click.option("--as-of", "as_of", metavar="DATE", help="Analysis date (default: when fetched).")
@click.option("--quiet", "-q", is_flag=True, help="No progress output, only the summary.")
def batch_command(
    competitors: Path,
    out_dir: Path | None,
    max_posts: int,
    max_age: str,
    refresh: bool,
    plan: bool,
    quota_budget: int | None,
    concurrency: tuple[str, ...],
    offline: bool,
    as_of: str | None,
    quiet: bool,
) -> None:
    """Analyse every brand of a competitor list (CSV name,twitter,youtube,facebook; YAML; JSON).

    Results are written to --out as they arrive and kept in the database under UPTAKE_HOME (or
    UPTAKE_DATABASE_URL); a killed batch run again resumes where it stopped. Exit codes: 0 all
    analysed, 8 some brands failed (their rows say why), 2 bad input, 7 over --quota-budget.
    """
    limits = parse_concurrency(concurrency)
    age = parse_max_age(max_age)
    when = parse_as_of(as_of)
    if out_dir is None and not plan:
        raise BadInputError("--out DIR is required (or use --plan to see the cost only)")
    try:
        brands = load_competitors(competitors)
    except CompetitorFileError as exc:
        for problem in exc.problems:
            click.echo(f"{competitors.name}: {problem}", err=True)
        raise
    settings = load_settings()
    mode: Mode = "offline" if offline else "live"
    with open_storage(settings) as storage:
        runtime = Runtime(
            settings,
            mode=mode,
            max_posts=max_posts,
            as_of=when,
            cache=storage.cache(max_posts=max_posts, refresh=refresh),
            max_age=age,
        )
        planned = plan_batch(brands, runtime)
        if plan:
            click.echo("\n".join(planned.lines()))
            check_budget(planned.cost, quota_budget)
            return
        check_budget(planned.cost, quota_budget)
        if mode == "live":
            for platform, platform_plan in planned.platforms.items():
                if platform_plan.to_fetch:
                    settings.credential(platform.value)
        assert out_dir is not None
        summary = run_batch(
            brands,
            runtime,
            storage=storage,
            out=OutputWriter(out_dir),
            concurrency=limits,
            progress=make_progress(quiet=quiet),
            source=str(competitors),
        )
        report = write_batch_report(out_dir, brands, storage, max_posts=max_posts)
    click.echo("\n".join(summary_lines(summary, out_dir)))
    if report is not None:
        click.echo(f"HTML report: {report}")
    if summary.failed or summary.partial:
        raise BatchPartialError(
            f"{summary.failed + summary.partial} of {summary.brands} brands failed or are "
            f"partial; every result was written to {out_dir} (see the status and error columns)"
        )
