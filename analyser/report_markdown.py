"""The report as Markdown for pasting into documents, with every platform string made inert."""

from __future__ import annotations

import re
from urllib.parse import quote

from analyser.models import STAGE_NAMES, BrandReport, Evidence
from analyser.report_html import PLATFORM_LABELS, STAGE_DESCRIPTIONS, format_signal, safe_url

__all__ = ["md_escape", "render_markdown"]

# Markdown punctuation that opens emphasis, links, images, code, strikethrough or table cells
# anywhere in a line; and what starts a heading, list or quote at the start of one.
_MD_INLINE = re.compile(r"([\\`*_\[\]!|~])")
_MD_LEADING = re.compile(r"^(\s*)([#+\-]|\d+(?=[.)]))")
_URL_SAFE = "/:?#@!$&'*+,;=%~-._"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def md_escape(text: str) -> str:
    """Untrusted text as one inert Markdown line: HTML and Markdown syntax shown, not obeyed.

    Many renderers pass raw HTML through, so `<`, `>` and `&` become entities; Markdown
    punctuation is backslash-escaped; newlines fold so a post cannot break a table or start
    a heading.

    >>> md_escape("<b>*hi*</b>")
    '&lt;b&gt;\\\\*hi\\\\*&lt;/b&gt;'
    """
    flat = " ".join(_CONTROL.sub(" ", text).split())
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    flat = _MD_INLINE.sub(r"\\\1", flat)
    return _MD_LEADING.sub(_escape_leading, flat)


def _escape_leading(match: re.Match[str]) -> str:
    """`# x` and `- x` get `\\#`, `\\-`; `1. x` gets `1\\.` (escaping the digit would show)."""
    lead, token = match.group(1), match.group(2)
    return f"{lead}{token}\\" if token[0].isdigit() else f"{lead}\\{token}"


def _md_link(url: str | None, text: str) -> str:
    href = safe_url(url)
    if href is None:
        return md_escape(text)
    # Percent-encode what could end the destination early or open raw HTML.
    return f"[{md_escape(text)}]({quote(href, safe=_URL_SAFE)})"


def _where(ev: Evidence) -> str:
    if ev.platform is None:
        return "all accounts"
    label = PLATFORM_LABELS[ev.platform]
    return md_escape(f"{label} @{ev.handle}") if ev.handle else label


def _examples(ev: Evidence) -> str:
    shown = [_md_link(x, "post") if safe_url(x) else md_escape(x) for x in ev.examples[:3]]
    return ", ".join(shown) or "—"


def render_markdown(report: BrandReport) -> str:
    """The report for a document: verdict, ladder, advice, evidence, accounts, coverage.

    Example: `Path("acme.md").write_text(render_markdown(report))`.
    """
    lines = [f"# {md_escape(report.brand)}: stage {report.stage}, {report.stage_name}", ""]
    facts = [f"As of {report.as_of:%d %b %Y}", f"confidence {report.confidence * 100:.0f}%"]
    if report.stage_range is not None and report.stage_range[0] != report.stage_range[1]:
        facts.append(f"plausible range {report.stage_range[0]}–{report.stage_range[1]}")
    if report.insufficient_evidence:
        facts.append("**insufficient evidence**")
    if report.regressed_from is not None:
        facts.append(f"fell back from stage {report.regressed_from}")
    lines += [" · ".join(facts), "", "## The seven stages", ""]
    lines += ["| | Stage | What it looks like |", "|---|---|---|"]
    for stage in sorted(STAGE_NAMES, reverse=True):
        mark = "**→**" if stage == report.stage else ""
        name = (
            f"**{stage} {STAGE_NAMES[stage]}**"
            if stage == report.stage
            else (f"{stage} {STAGE_NAMES[stage]}")
        )
        lines.append(f"| {mark} | {name} | {STAGE_DESCRIPTIONS[stage]} |")
    lines += ["", "## What to do next", ""]
    lines += [f"- {md_escape(a)}" for a in report.advice] or ["- No advice: keep measuring."]
    lines += ["", "## Why this stage", ""]
    if report.evidence:
        lines += [
            "| Signal | Value | Points to stage | Where | Why it matters | Examples |",
            "|---|--:|--:|---|---|---|",
        ]
        for ev in sorted(report.evidence, key=lambda item: (-item.weight, -item.stage)):
            lines.append(
                f"| {md_escape(ev.signal)} | {md_escape(format_signal(ev.value))} | {ev.stage} "
                f"| {_where(ev)} | {md_escape(ev.rationale or ev.rule)} | {_examples(ev)} |"
            )
    else:
        lines.append("No rule fired: there is nothing public to judge by.")
    lines += ["", "## Accounts", ""]
    if report.platforms:
        lines += ["| Platform | Handle | Name | Status | Stage |", "|---|---|---|---|---|"]
        for result in report.platforms:
            status = result.status.value.replace("_", " ")
            if result.status_detail:
                status += f" ({result.status_detail})"
            at = "—" if result.stage is None else f"{result.stage} {result.stage_name or ''}"
            handle = _md_link(result.url, "@" + result.handle)
            lines.append(
                f"| {PLATFORM_LABELS[result.platform]} | {handle}"
                f" | {md_escape(result.display_name or '—')} | {md_escape(status)}"
                f" | {md_escape(at.strip())} |"
            )
    else:
        lines.append("No accounts were given for this brand.")
    cov = report.coverage
    window = (
        f"{cov.date_from:%d %b %Y} – {cov.date_to:%d %b %Y}"
        if cov.date_from and cov.date_to
        else "unknown"
    )
    lines += [
        "",
        "## Coverage",
        "",
        f"{cov.accounts} accounts, {cov.posts_analysed:,} posts analysed, window {window}; "
        f"{cov.requests:,} API requests, {cov.quota_units:,} YouTube quota units, "
        f"{cov.post_reads:,} X posts read.",
    ]
    lines += [f"- {md_escape(note)}" for note in report.notes]
    lines += ["", "_Metrics a platform does not publish are shown as unknown, never as zero._"]
    return "\n".join(lines) + "\n"
