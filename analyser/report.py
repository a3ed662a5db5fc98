"""Plain renderers of a BrandReport: a terminal summary and the stable JSON document."""

from __future__ import annotations

import json
from collections.abc import Sequence

from analyser.models import BrandReport, Evidence, SignalValue

__all__ = ["demo_line", "render_json", "render_table", "strongest_evidence"]


def render_json(report: BrandReport) -> str:
    """The documented `--format json` document (schema: docs/report.schema.json)."""
    return json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)


def strongest_evidence(report: BrandReport, n: int = 3) -> list[Evidence]:
    """Evidence for the stage given first, heaviest first."""
    ranked = sorted(report.evidence, key=lambda e: (e.stage != report.stage, -e.weight, e.signal))
    return ranked[:n]


def _fmt(value: SignalValue) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _stage_text(report: BrandReport) -> str:
    text = f"{report.stage} {report.stage_name}"
    if report.insufficient_evidence and report.stage_range is not None:
        low, high = report.stage_range
        text += f" (insufficient evidence: stage {low}-{high})"
    return text


def render_table(report: BrandReport) -> str:
    """A readable summary for the terminal: stage, accounts, evidence, advice, coverage."""
    lines = [
        f"{report.brand}: stage {_stage_text(report)}, confidence {report.confidence:.0%}",
    ]
    if report.regressed_from is not None:
        lines.append(f"  regressed from stage {report.regressed_from}")
    lines.append("")
    lines.append("Accounts")
    for acc in report.platforms:
        stage = "-" if acc.stage is None else f"{acc.stage} {acc.stage_name or ''}".strip()
        detail = f" ({acc.status_detail})" if acc.status_detail else ""
        lines.append(
            f"  {acc.platform.value:<9} {acc.handle:<28} {acc.status.value:<10} stage {stage}"
            f"{detail}"
        )
    if report.evidence:
        lines.append("")
        lines.append("Evidence")
        for ev in strongest_evidence(report, n=8):
            where = f" [{ev.platform.value}:{ev.handle}]" if ev.platform and ev.handle else ""
            lines.append(f"  stage {ev.stage}  {ev.signal} = {_fmt(ev.value)}  ({ev.rule}){where}")
    if report.advice:
        lines.append("")
        lines.append("Advice")
        lines.extend(f"  - {a}" for a in report.advice)
    for note in report.notes:
        lines.append(f"Note: {note}")
    cov = report.coverage
    span = ""
    if cov.date_from and cov.date_to:
        span = f", {cov.date_from.date()} to {cov.date_to.date()}"
    lines.append("")
    lines.append(
        f"Coverage: {cov.accounts} accounts, {cov.posts_analysed} posts{span}; "
        f"{cov.requests} requests, {cov.quota_units} YouTube units, {cov.post_reads} X post reads; "
        f"as of {report.as_of.date()}"
    )
    return "\n".join(lines)


def demo_line(report: BrandReport, label: int | None = None, *, width: int = 28) -> str:
    """One line per demo brand: stage, confidence and the strongest evidence."""
    top = strongest_evidence(report, n=1)
    why = f"{top[0].signal} = {_fmt(top[0].value)}" if top else "no evidence"
    expected = "" if label is None else ("  ok" if label == report.stage else f"  (label {label})")
    return (
        f"{report.brand:<{width}} stage {report.stage} {report.stage_name:<20} "
        f"{report.confidence:>4.0%}  {why}{expected}"
    )


def render_many(reports: Sequence[BrandReport]) -> str:
    return "\n\n".join(render_table(r) for r in reports)
