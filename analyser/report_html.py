"""The client-facing report: one self-contained, offline HTML file for one brand or a batch."""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from urllib.parse import urlsplit

from analyser import charts
from analyser.history import KEY_SIGNALS
from analyser.models import (
    STAGE_NAMES,
    AccountResult,
    AccountSnapshot,
    AccountStatus,
    BrandReport,
    Evidence,
    Platform,
    Post,
    SignalValue,
)

__all__ = [
    "PLATFORM_LABELS",
    "STAGE_DESCRIPTIONS",
    "format_signal",
    "render_html",
    "safe_url",
]

# One line per stage, after Laurel Papworth's descriptions (docs/reports.md quotes the sources).
STAGE_DESCRIPTIONS: dict[int, str] = {
    0: "Doesn't know or care about social media; no public accounts worth the name.",
    1: "Social media is a 'waste of time': blocked at the firewall, internal tools 'one day'.",
    2: "Listens and monitors mentions and keywords at arm's length, but does not engage.",
    3: "Pushes announcements and ads; comments ignored or switched off.",
    4: "A big piece of agency content that the community only forwards.",
    5: "Short bursts on campaign-named accounts that go quiet when the campaign ends.",
    6: "Two-way: asks the community for help and ideas and answers it.",
    7: "Provides the space where the community itself trades and helps.",
}

PLATFORM_LABELS: dict[Platform, str] = {
    Platform.TWITTER: "X / Twitter",
    Platform.YOUTUBE: "YouTube",
    Platform.FACEBOOK: "Facebook",
}

_EXCERPT_CHARS = 280
_MAX_EXAMPLE_POSTS = 6
_EVIDENCE_SHOWN = 8

History = Mapping[str, Sequence[tuple[datetime, BrandReport]]]


def _e(value: object) -> str:
    """Escape anything for HTML text or a quoted attribute: all platform data is untrusted."""
    return html.escape(str(value), quote=True)


def safe_url(url: str | None) -> str | None:
    """Only http(s) links survive: a `javascript:` or `data:` URL from a profile stays text."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return url.strip()


def _link(url: str | None, text: str) -> str:
    href = safe_url(url)
    if href is None:
        return _e(text)
    return f'<a href="{_e(href)}" rel="noopener noreferrer nofollow">{_e(text)}</a>'


def format_signal(value: SignalValue) -> str:
    """Human form of a signal value; unknown stays visibly unknown, never 0."""
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return value


def _percent(value: float | None) -> str:
    return "unknown" if value is None else f"{value * 100:.0f}%"


def _date(moment: datetime | None) -> str:
    return "unknown" if moment is None else moment.strftime("%d %b %Y")


def _asset(name: str) -> str:
    return resources.files("analyser").joinpath("data", "report", name).read_text("utf-8")


def _script_hash(script: str) -> str:
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "sha256-" + base64.b64encode(digest).decode("ascii")


def _ladder(report: BrandReport) -> str:
    low, high = report.stage_range or (report.stage, report.stage)
    items = []
    for stage in sorted(STAGE_NAMES, reverse=True):
        classes = []
        if stage == report.stage:
            classes.append("current")
        elif low <= stage <= high:
            classes.append("in-range")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        current = ' aria-current="step"' if stage == report.stage else ""
        items.append(
            f'<li{cls}{current} data-stage="{stage}"><span class="n">{stage}</span>'
            f'<span class="name">{_e(STAGE_NAMES[stage])}</span><br>'
            f"{_e(STAGE_DESCRIPTIONS[stage])}</li>"
        )
    return (
        '<ol class="ladder" aria-label="Stages of social media uptake">' + "".join(items) + "</ol>"
    )


def _verdict(report: BrandReport) -> str:
    parts = [
        f"Stage <strong>{report.stage}</strong> — <strong>{_e(report.stage_name)}</strong>",
        f"confidence {report.confidence * 100:.0f}%",
    ]
    if report.stage_range is not None and report.stage_range[0] != report.stage_range[1]:
        parts.append(f"plausible range {report.stage_range[0]}–{report.stage_range[1]}")
    flags = ""
    if report.insufficient_evidence:
        flags += '<span class="flag">insufficient evidence</span>'
    if report.regressed_from is not None:
        flags += f'<span class="flag">fell back from stage {report.regressed_from}</span>'
    return f'<p class="verdict">{" · ".join(parts)}{flags}</p>'


def _post_index(snapshots: Sequence[AccountSnapshot]) -> dict[str, tuple[AccountSnapshot, Post]]:
    index: dict[str, tuple[AccountSnapshot, Post]] = {}
    for snapshot in snapshots:
        for post in snapshot.posts:
            index.setdefault(post.id, (snapshot, post))
            if post.url:
                index.setdefault(post.url, (snapshot, post))
    return index


def _where(evidence: Evidence) -> str:
    if evidence.platform is None:
        return "all accounts"
    label = PLATFORM_LABELS[evidence.platform]
    return f"{label}: {evidence.handle}" if evidence.handle else label


def _example_ref(example: str, index: Mapping[str, tuple[AccountSnapshot, Post]]) -> str:
    found = index.get(example)
    if found is not None:
        _, post = found
        return _link(post.url, f"post of {_date(post.created_at)}")
    return _link(example, example)


def _evidence_rows(
    evidence: Sequence[Evidence], index: Mapping[str, tuple[AccountSnapshot, Post]]
) -> str:
    rows = []
    for ev in evidence:
        examples = ", ".join(_example_ref(x, index) for x in ev.examples) or "—"
        rows.append(
            "<tr>"
            f"<td>{_e(ev.signal)}</td>"
            f'<td class="num">{_e(format_signal(ev.value))}</td>'
            f'<td class="num">{ev.stage}</td>'
            f"<td>{_e(_where(ev))}</td>"
            f"<td>{_e(ev.rationale or ev.rule)}</td>"
            f"<td>{examples}</td>"
            "</tr>"
        )
    return (
        '<table class="evidence"><thead><tr><th>Signal</th><th class="num">Value</th>'
        '<th class="num">Points to stage</th><th>Where</th><th>Why it matters</th>'
        "<th>Examples</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _evidence_table(report: BrandReport, index: Mapping[str, tuple[AccountSnapshot, Post]]) -> str:
    """The rules behind the verdict first, strongest first; the rest folded away (no script)."""
    if not report.evidence:
        return '<p class="muted">No rule fired: there is nothing public to judge by.</p>'
    ordered = sorted(
        report.evidence, key=lambda ev: (ev.stage != report.stage, -ev.weight, -ev.stage)
    )
    shown, folded = ordered[:_EVIDENCE_SHOWN], ordered[_EVIDENCE_SHOWN:]
    html_out = _evidence_rows(shown, index)
    if folded:
        html_out += (
            f'<details class="more"><summary>{len(folded)} more rule(s) that fired</summary>'
            f"{_evidence_rows(folded, index)}</details>"
        )
    return html_out


def _excerpt(post: Post) -> str:
    text = post.title + " — " + post.text if post.title and post.text else post.title or post.text
    text = text.strip()
    return text if len(text) <= _EXCERPT_CHARS else text[: _EXCERPT_CHARS - 1] + "…"


def _example_posts(report: BrandReport, index: Mapping[str, tuple[AccountSnapshot, Post]]) -> str:
    seen: list[tuple[AccountSnapshot, Post, Evidence]] = []
    ids: set[str] = set()
    for ev in report.evidence:
        for example in ev.examples:
            found = index.get(example)
            if found is not None and found[1].id not in ids:
                ids.add(found[1].id)
                seen.append((found[0], found[1], ev))
    if not seen:
        return ""
    items = []
    for snapshot, post, ev in seen[:_MAX_EXAMPLE_POSTS]:
        metrics = ", ".join(
            f"{name} {format_signal(value)}"
            for name, value in (
                ("likes", post.likes),
                ("reposts", post.reposts),
                ("replies", post.replies),
                ("views", post.views),
            )
            if value is not None
        )
        meta = " · ".join(
            part
            for part in (
                _e(f"{PLATFORM_LABELS[snapshot.account.platform]} @{snapshot.account.handle}"),
                _e(_date(post.created_at)),
                _e(post.kind.value),
                _e(metrics),
                _link(post.url, "open post") if safe_url(post.url) else "",
                _e(f"shows: {ev.signal}"),
            )
            if part
        )
        items.append(
            f'<li data-post-id="{_e(post.id)}"><div class="text">{_e(_excerpt(post))}</div>'
            f'<div class="muted">{meta}</div></li>'
        )
    return "<h3>Example posts</h3>" + '<ul class="posts">' + "".join(items) + "</ul>"


def _signals_list(signals: Mapping[str, SignalValue]) -> str:
    """The key signals in view; the full set (often forty or more) folded away."""
    if not signals:
        return '<span class="muted">—</span>'

    def items(names: Iterable[str]) -> str:
        return "".join(f"<li>{_e(n)}: {_e(format_signal(signals[n]))}</li>" for n in names)

    key = [n for n in ("followers", *KEY_SIGNALS) if n in signals]
    rest = sorted(n for n in signals if n not in key)
    out = f'<ul class="signals">{items(key)}</ul>' if key else ""
    if rest:
        label = f"all {len(signals)} signals" if key else f"{len(signals)} signals"
        out += (
            f'<details class="more"><summary>{label}</summary>'
            f'<ul class="signals">{items(sorted(signals))}</ul></details>'
        )
    return out


def _account_row(result: AccountResult, about: str | None) -> str:
    status = result.status.value.replace("_", " ")
    if result.status_detail:
        status += f" ({result.status_detail})"
    stage = "—" if result.stage is None else f"{result.stage} {result.stage_name or ''}".strip()
    bio = ""
    if about:
        short = about if len(about) <= 160 else about[:159] + "…"
        bio = f'<br><span class="muted">{_e(short)}</span>'
    return (
        "<tr>"
        f"<td>{_e(PLATFORM_LABELS[result.platform])}</td>"
        f"<td>{_link(result.url, '@' + result.handle)}</td>"
        f"<td>{_e(result.display_name or '—')}{bio}</td>"
        f"<td>{_e(status)}</td>"
        f"<td>{_e(stage)}</td>"
        f"<td>{_signals_list(result.signals)}</td>"
        "</tr>"
    )


def _accounts_table(report: BrandReport, snapshots: Sequence[AccountSnapshot]) -> str:
    if not report.platforms:
        return '<p class="muted">No accounts were given for this brand.</p>'
    # The profile description lives on the snapshot; matched by platform and handle.
    about = {
        (s.account.platform, s.account.handle.casefold()): s.account.description for s in snapshots
    }
    rows = "".join(
        _account_row(r, about.get((r.platform, r.handle.casefold()))) for r in report.platforms
    )
    return (
        "<table><thead><tr><th>Platform</th><th>Handle</th><th>Name</th><th>Status</th>"
        "<th>Stage</th><th>Signals</th></tr></thead><tbody>" + rows + "</tbody></table>"
    )


def _figure(svg: str, name: str, caption: str) -> str:
    return (
        f'<figure class="chart" data-chart="{_e(name)}">{svg}'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _charts(key: str, snapshots: Sequence[AccountSnapshot]) -> str:
    if not snapshots:  # e.g. `uptake history --format html`: stored reports keep no posts
        return (
            '<h3>Activity</h3><p class="muted">Activity charts need the fetched posts: run '
            "<code>uptake analyse --format html</code> for them.</p>"
        )
    figures = [
        _figure(
            charts.posting_chart(snapshots, f"{key}-posting"),
            "posting",
            "Posting over time by kind: the account's own posts, replies to others, and reposts.",
        ),
        _figure(
            charts.engagement_chart(snapshots, f"{key}-engagement"),
            "engagement",
            "Public interactions per post (likes, reposts, replies, quotes as far as shown); "
            "ringed posts are outliers above the account's usual (Q3 + 1.5 IQR).",
        ),
        _figure(
            charts.comments_chart(snapshots, f"{key}-comments"),
            "comments-disabled",
            "Share of the account's own posts on which the public cannot comment or reply.",
        ),
        _figure(
            charts.response_chart(snapshots, f"{key}-response"),
            "response-rate",
            "Share of sampled comment threads the owner answered; 'not visible' where the "
            "platform hides who commented.",
        ),
    ]
    return '<h3>Activity</h3><div class="charts">' + "".join(figures) + "</div>"


def _history(key: str, runs: Sequence[tuple[datetime, BrandReport]]) -> str:
    if not runs:
        return ""
    svg = charts.history_chart(runs, f"{key}-history")
    caption = f"Stage across {len(runs)} stored run(s)."
    return "<h3>Stage over time</h3>" + _figure(svg, "history", caption)


def _coverage(report: BrandReport) -> str:
    cov = report.coverage
    rows = [
        ("Accounts", f"{cov.accounts:,}"),
        ("Posts analysed", f"{cov.posts_analysed:,}"),
        ("Window", f"{_date(cov.date_from)} – {_date(cov.date_to)}"),
        ("API requests", f"{cov.requests:,}"),
        ("YouTube quota units", f"{cov.quota_units:,}"),
        ("X posts read", f"{cov.post_reads:,}"),
    ]
    body = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows)
    notes = "".join(f"<li>{_e(n)}</li>" for n in report.notes)
    return f'<h3>Coverage</h3><dl class="coverage">{body}</dl>' + (
        f'<ul class="notes">{notes}</ul>' if notes else ""
    )


def _brand_section(
    number: int,
    report: BrandReport,
    snapshots: Sequence[AccountSnapshot],
    runs: Sequence[tuple[datetime, BrandReport]],
) -> str:
    key = f"b{number}"
    index = _post_index(snapshots)
    advice = "".join(f"<li>{_e(a)}</li>" for a in report.advice)
    return (
        f'<section class="brand" id="brand-{number}" data-stage="{report.stage}">'
        f"<h2>{_e(report.brand)}</h2>"
        f'<p class="muted">As of {_e(_date(report.as_of))}</p>'
        f"{_verdict(report)}"
        '<div class="layout"><div>'
        f"{_ladder(report)}"
        "</div><div>"
        "<h3>What to do next</h3>"
        + (
            f'<ul class="advice">{advice}</ul>'
            if advice
            else '<p class="muted">No advice: keep measuring.</p>'
        )
        + "</div></div>"
        "<h3>Why this stage: the evidence</h3>"
        f"{_evidence_table(report, index)}"
        f"{_example_posts(report, index)}"
        "<h3>Accounts</h3>"
        f"{_accounts_table(report, snapshots)}"
        f"{_charts(key, snapshots)}"
        f"{_history(key, runs)}"
        f"{_coverage(report)}"
        "</section>"
    )


def _mean(values: Iterable[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _cell(shown_html: str, sort: str | float | None, numeric: bool = False) -> str:
    """A comparison cell: what is shown, and the raw value the sorting script reads."""
    key = "" if sort is None else f"{sort:.6g}" if isinstance(sort, float) else str(sort)
    cls = ' class="num"' if numeric else ""
    return f'<td{cls} data-sort="{_e(key)}">{shown_html}</td>'


def _comparison(items: Sequence[tuple[BrandReport, Sequence[AccountSnapshot]]]) -> str:
    header_cells = [("Brand", ""), ("Stage", "num"), ("Stage name", ""), ("Confidence", "num")]
    header_cells += [(PLATFORM_LABELS[p], "num") for p in Platform]
    header_cells += [("Posts", "num"), ("Response rate", "num"), ("Comments off", "num")]
    head = "".join(
        f'<th class="{cls}" scope="col"><button type="button">{_e(name)}</button></th>'
        for name, cls in header_cells
    )
    rows = []
    for number, (report, snapshots) in enumerate(items, start=1):
        found = [s for s in snapshots if s.account.status is AccountStatus.FOUND]
        response = _mean(charts.response_rate(s) for s in found)
        disabled = _mean(charts.comments_disabled_share(s) for s in found)
        by_platform = {r.platform: r.stage for r in report.platforms}
        brand_link = f'<a href="#brand-{number}">{_e(report.brand)}</a>'
        cells = [
            _cell(brand_link, report.brand),
            _cell(str(report.stage), report.stage, numeric=True),
            _cell(_e(report.stage_name), report.stage_name),
            _cell(_percent(report.confidence), report.confidence, numeric=True),
        ]
        for platform in Platform:
            stage = by_platform.get(platform)
            cells.append(_cell("—" if stage is None else str(stage), stage, numeric=True))
        cells += [
            _cell(f"{report.coverage.posts_analysed:,}", report.coverage.posts_analysed, True),
            _cell(_percent(response), response, numeric=True),
            _cell(_percent(disabled), disabled, numeric=True),
        ]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    reports = [report for report, _ in items]
    return (
        '<section class="batch" id="comparison"><h2>Competitor comparison</h2>'
        '<p class="muted">Click a column heading to sort. Unknown values sort last.</p>'
        f'<table class="sortable" id="comparison-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        + _figure(
            charts.stages_chart(reports, "batch-stages"),
            "stages",
            "Stage of each brand; paler bars carry less confidence, lines show the plausible "
            "range.",
        )
        + "</section>"
    )


def render_html(
    items: Sequence[tuple[BrandReport, Sequence[AccountSnapshot]]],
    *,
    history: History | None = None,
    title: str | None = None,
) -> str:
    """Render one brand (or a batch, with a sortable comparison) as a self-contained HTML page.

    The page carries its own CSS, its charts as inline SVG and one small script for sorting,
    pinned by hash in the Content-Security-Policy so that no other script can ever run.
    `history` maps a brand name to its past runs (oldest first or not; they are sorted).

    Example: `Path("report.html").write_text(render_html([(report, snapshots)]))`.
    """
    if not items:
        raise ValueError("render_html needs at least one brand")
    script = _asset("sort.js")
    csp = (
        "default-src 'none'; style-src 'unsafe-inline'; "
        f"script-src '{_script_hash(script)}'; base-uri 'none'; form-action 'none'"
    )
    batch = len(items) > 1
    heading = title or (
        "Social media uptake: " + (f"{len(items)} brands" if batch else items[0][0].brand)
    )
    generated = max(report.as_of for report, _ in items)
    sections = [_comparison(items)] if batch else []
    for number, (report, snapshots) in enumerate(items, start=1):
        runs = (history or {}).get(report.brand, ())
        sections.append(_brand_section(number, report, snapshots, runs))
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(csp)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="uptake">'
        f"<title>{_e(heading)}</title>"
        f"<style>{_asset('report.css')}</style></head>"
        f'<body><main><header class="page"><h1>{_e(heading)}</h1>'
        f'<p class="muted">Where each organisation stands on Laurel Papworth\'s seven stages of '
        f"social media uptake, read from its public accounts. Generated "
        f"{_e(_date(generated))}.</p></header>"
        + "".join(sections)
        + '<footer class="page">Made with uptake. Everything shown comes from public posts; '
        "a metric a platform does not publish is shown as unknown, never as zero.</footer>"
        f"</main><script>{script}</script></body></html>\n"
    )
