"""The `uptake` command line: a thin layer that turns library errors into documented exit codes."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from analyser.batch_cli import batch_command
from analyser.config import Settings, load_settings
from analyser.errors import BadInputError, ExitCode, UptakeError, redact
from analyser.evaluate import evaluate_command
from analyser.handles import Handle, parse_handle
from analyser.history import history_command
from analyser.models import Platform, report_json_schema
from analyser.pipeline import (
    BrandAnalysis,
    Mode,
    Runtime,
    analyse_brand_full,
    check_budget,
    dedupe_handles,
    parse_as_of,
    plan_cost,
)
from analyser.report import demo_line, render_json, render_table

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("table", "json", "markdown", "html")


class _Context:
    debug: bool = False


def _handles(
    twitter: Sequence[str], youtube: Sequence[str], facebook: Sequence[str]
) -> list[Handle]:
    handles = [parse_handle(Platform.TWITTER, h) for h in twitter]
    handles += [parse_handle(Platform.YOUTUBE, h) for h in youtube]
    handles += [parse_handle(Platform.FACEBOOK, h) for h in facebook]
    if not handles:
        raise BadInputError("name at least one account: --twitter, --youtube or --facebook")
    return list(dedupe_handles(handles))


def _require_credentials(settings: Settings, handles: Sequence[Handle]) -> None:
    for platform in sorted({h.platform for h in handles}):
        settings.credential(platform.value)


def account_options(func: F) -> F:
    """Options shared by analyse, explain and record."""
    options = [
        click.option("--name", "name", required=True, help="Brand name, as it should be reported."),
        click.option("--twitter", multiple=True, metavar="HANDLE", help="X account (repeatable)."),
        click.option("--youtube", multiple=True, metavar="CHANNEL", help="YouTube channel."),
        click.option("--facebook", multiple=True, metavar="PAGE", help="Facebook page."),
        click.option(
            "--max-posts",
            type=click.IntRange(1, 3200),
            default=200,
            show_default=True,
            help="Recent posts read per account.",
        ),
        click.option("--as-of", "as_of", metavar="DATE", help="Analysis date (default: now)."),
        click.option(
            "--quota-budget",
            type=click.IntRange(0),
            help="Refuse to start if the planned YouTube quota units exceed N.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logs (secrets redacted).")
@click.version_option(package_name="uptake")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Where a brand stands on the seven stages of social media uptake."""
    ctx.obj = _Context()
    ctx.obj.debug = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING)
    # tweepy logs request headers (the bearer token) at DEBUG: never let it run.
    logging.getLogger("tweepy").setLevel(logging.INFO)


def _run_analysis(
    *,
    name: str,
    twitter: Sequence[str],
    youtube: Sequence[str],
    facebook: Sequence[str],
    max_posts: int,
    as_of: str | None,
    quota_budget: int | None,
    mode: Mode,
) -> BrandAnalysis:
    handles = _handles(twitter, youtube, facebook)
    when = parse_as_of(as_of)
    settings = load_settings()
    check_budget(plan_cost(handles, settings, max_posts), quota_budget)
    if mode in ("live", "record"):
        _require_credentials(settings, handles)
    runtime = Runtime(settings, mode=mode, max_posts=max_posts, as_of=when)
    analysis = analyse_brand_full(name, handles, runtime)
    if mode != "offline":
        _remember(analysis, settings)
    return analysis


def _remember(analysis: BrandAnalysis, settings: Settings) -> None:
    """Keep a live report in the results database so `uptake history` sees it. The analysis is
    already done: a database problem is reported, not allowed to lose the output."""
    from analyser.storage import open_storage

    try:
        with open_storage(settings) as storage:
            storage.put_report(analysis.report)
    except Exception as exc:  # any database failure is only a warning here
        click.echo(f"warning: report not saved to history: {redact(str(exc))[:200]}", err=True)


def _render(analysis: BrandAnalysis, fmt: str) -> str:
    if fmt == "json":
        return render_json(analysis.report)
    if fmt == "markdown":
        from analyser.report_markdown import render_markdown

        return render_markdown(analysis.report)
    if fmt == "html":
        from analyser.report_html import render_html
        from analyser.storage import history

        try:
            past = {analysis.report.brand: history(analysis.report.brand)}
        except Exception as exc:  # the report is still worth having without it
            click.echo(f"warning: no history chart: {redact(str(exc))[:200]}", err=True)
            past = {}
        return render_html([(analysis.report, analysis.snapshots)], history=past)
    return render_table(analysis.report)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        click.echo(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text + "\n", encoding="utf-8")
        click.echo(f"wrote {output}", err=True)


@main.command()
@account_options
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option("--offline", is_flag=True, help="Replay recorded fixtures: no network, no keys.")
@click.option("--explain", "explain", is_flag=True, help="Also list every rule that fired.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="Write here.")
def analyse(
    name: str,
    twitter: tuple[str, ...],
    youtube: tuple[str, ...],
    facebook: tuple[str, ...],
    max_posts: int,
    as_of: str | None,
    quota_budget: int | None,
    fmt: str,
    offline: bool,
    explain: bool,
    output: Path | None,
) -> None:
    """Analyse one brand's accounts and print its stage."""
    analysis = _run_analysis(
        name=name, twitter=twitter, youtube=youtube, facebook=facebook, max_posts=max_posts,
        as_of=as_of, quota_budget=quota_budget, mode="offline" if offline else "live",
    )  # fmt: skip
    _emit(_render(analysis, fmt), output)
    if explain:
        from analyser.classifier import explain as explain_lines

        click.echo("\n".join(explain_lines(analysis.report)), err=fmt in ("json", "html"))


@main.command("explain")
@account_options
@click.option("--offline", is_flag=True, help="Replay recorded fixtures: no network, no keys.")
def explain_command(
    name: str,
    twitter: tuple[str, ...],
    youtube: tuple[str, ...],
    facebook: tuple[str, ...],
    max_posts: int,
    as_of: str | None,
    quota_budget: int | None,
    offline: bool,
) -> None:
    """Every rule that fired for a brand, with the values and example posts behind it."""
    from analyser.classifier import explain as explain_lines

    analysis = _run_analysis(
        name=name, twitter=twitter, youtube=youtube, facebook=facebook, max_posts=max_posts,
        as_of=as_of, quota_budget=quota_budget, mode="offline" if offline else "live",
    )  # fmt: skip
    click.echo(render_table(analysis.report))
    click.echo("")
    click.echo("\n".join(explain_lines(analysis.report)))


@main.command()
@account_options
@click.option(
    "--fixtures-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where to write the recordings (default: UPTAKE_FIXTURES_DIR or ./fixtures).",
)
def record(
    name: str,
    twitter: tuple[str, ...],
    youtube: tuple[str, ...],
    facebook: tuple[str, ...],
    max_posts: int,
    as_of: str | None,
    quota_budget: int | None,
    fixtures_dir: Path | None,
) -> None:
    """Fetch live (credentials needed) and save each account's scrubbed traffic as a fixture."""
    handles = _handles(twitter, youtube, facebook)
    settings = load_settings()
    if fixtures_dir is not None:
        settings = settings.model_copy(update={"fixtures_dir": fixtures_dir})
    check_budget(plan_cost(handles, settings, max_posts), quota_budget)
    _require_credentials(settings, handles)
    runtime = Runtime(settings, mode="record", max_posts=max_posts, as_of=parse_as_of(as_of))
    analysis = analyse_brand_full(name, handles, runtime)
    _remember(analysis, settings)
    click.echo(render_table(analysis.report))
    click.echo(f"\nrecorded {len(handles)} accounts under {settings.fixtures_dir}")


@main.command()
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table")
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("out/demo-report.html"),
    show_default=True,
    help="Where to write the HTML report of the demo brands.",
)
def demo(fmt: str, report_path: Path) -> None:
    """Analyse the bundled synthetic demo brands offline from fixtures/ (no network, no keys)."""
    from analyser.demo import demo_brands

    settings = load_settings()
    analyses: list[tuple[BrandAnalysis, int]] = []
    for brand in demo_brands():
        runtime = Runtime(settings, mode="offline")
        analyses.append((analyse_brand_full(brand.name, brand.handles, runtime), brand.label))
    if fmt == "json":
        click.echo(json.dumps([a.report.model_dump(mode="json") for a, _ in analyses], indent=2))
    else:
        click.echo("Demo brands (synthetic, replayed from fixtures/)\n")
        width = max(len(a.report.brand) for a, _ in analyses) + 2
        for analysis, label in analyses:
            click.echo(demo_line(analysis.report, label, width=width))
        agree = sum(a.report.stage == label for a, label in analyses)
        click.echo(f"\n{agree}/{len(analyses)} brands at their labelled stage")
    try:
        from analyser.report_html import render_html
    except ImportError:  # the HTML report lands with its own issue
        return
    report_path.parent.mkdir(parents=True, exist_ok=True)
    html = render_html([(a.report, a.snapshots) for a, _ in analyses])
    report_path.write_text(html, encoding="utf-8")
    click.echo(f"HTML report: {report_path.resolve()}", err=fmt == "json")


@main.command()
def schema() -> None:
    """Print the JSON Schema of the `analyse --format json` document."""
    click.echo(json.dumps(report_json_schema(), indent=2))


main.add_command(history_command)
main.add_command(batch_command)
main.add_command(evaluate_command)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the exit code instead of exiting (tests, embedding)."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        code = main.main(args=list(argv) if argv is not None else None, standalone_mode=False)
        if isinstance(code, int):  # ctx.exit(n) comes back as the return value
            return code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:  # usage errors: exit 2
        click.echo(f"error: {redact(exc.format_message())}", err=True)
        return exc.exit_code
    except click.Abort:
        click.echo("aborted", err=True)
        return 130
    except UptakeError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc.message}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception as exc:
        if debug:
            click.echo(redact(traceback.format_exc()), err=True)
        detail = redact(" ".join(str(exc).split()))[:300]
        click.echo(
            f"internal error: {type(exc).__name__}: {detail} (rerun with --debug and report it)",
            err=True,
        )
        return ExitCode.INTERNAL
    return ExitCode.OK


def entry() -> None:
    sys.exit(run())
