"""Report charts drawn with matplotlib as inline SVG, checked safe to embed in an HTML page."""

from __future__ import annotations

import io
import math
import re
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import matplotlib
import matplotlib.dates as mdates
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure

from analyser.history import transitions
from analyser.models import (
    STAGE_NAMES,
    AccountSnapshot,
    AccountStatus,
    BrandReport,
    Post,
    PostKind,
    ReplyPolicy,
)

__all__ = [
    "ChartSafetyError",
    "EngagementPoint",
    "comments_chart",
    "comments_disabled_share",
    "engagement_chart",
    "engagement_points",
    "history_chart",
    "posting_chart",
    "posting_counts",
    "response_chart",
    "response_rate",
    "sanitize_svg",
    "stages_chart",
]

# Colours that stay distinguishable for the common colour-vision deficiencies (Okabe-Ito).
KIND_COLOURS: dict[str, str] = {
    "own posts": "#0072B2",
    "replies": "#E69F00",
    "reposts": "#009E73",
}
OUTLIER_COLOUR = "#D55E00"
NEUTRAL_COLOUR = "#56B4E9"

_LABEL_MAX = 28
_SVG_NS = "http://www.w3.org/2000/svg"
_XLINK_NS = "http://www.w3.org/1999/xlink"
# Everything matplotlib's SVG backend emits for our charts; anything else is refused.
_ALLOWED_TAGS = frozenset(
    {"svg", "g", "path", "defs", "clipPath", "rect", "text", "tspan", "use", "style",
     "polyline", "polygon", "line", "circle", "ellipse", "title", "desc"}
)  # fmt: skip


class ChartSafetyError(ValueError):
    """A chart's SVG contained something that could run or load content; it is not embedded."""


@dataclass(frozen=True)
class EngagementPoint:
    """One post's public interactions; `outlier` marks posts far above the account's usual."""

    label: str
    created_at: datetime
    engagement: int
    outlier: bool


def _label(text: str) -> str:
    """Chart text from untrusted names: shortened, and `$` escaped so mathtext never parses it."""
    flat = " ".join(text.split())
    if len(flat) > _LABEL_MAX:
        flat = flat[: _LABEL_MAX - 1] + "…"
    return flat.replace("\\", "\\\\").replace("$", r"\$")


def _account_label(snapshot: AccountSnapshot) -> str:
    return _label(f"{snapshot.account.platform.value}: {snapshot.account.handle}")


def _found(snapshots: Iterable[AccountSnapshot]) -> list[AccountSnapshot]:
    return [s for s in snapshots if s.account.status is AccountStatus.FOUND]


def _kind_bucket(post: Post) -> str:
    if post.kind is PostKind.REPLY:
        return "replies"
    if post.kind is PostKind.REPOST:
        return "reposts"
    return "own posts"  # originals and quotes carry the account's own words


def _period_start(moment: datetime, monthly: bool) -> datetime:
    moment = moment.astimezone(UTC)
    if monthly:
        return datetime(moment.year, moment.month, 1, tzinfo=UTC)
    day = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    return day - timedelta(days=day.weekday())


def posting_counts(
    snapshots: Sequence[AccountSnapshot],
) -> tuple[bool, dict[datetime, Counter[str]]]:
    """Posts per period by kind; weekly for spans up to ~4 months, monthly beyond.

    Example: `monthly, counts = posting_counts(snaps)`; `counts[period]["replies"]`.
    """
    posts = [p for s in _found(snapshots) for p in s.posts]
    if not posts:
        return False, {}
    span = max(p.created_at for p in posts) - min(p.created_at for p in posts)
    monthly = span > timedelta(days=120)
    counts: dict[datetime, Counter[str]] = {}
    for post in posts:
        counts.setdefault(_period_start(post.created_at, monthly), Counter())[
            _kind_bucket(post)
        ] += 1
    return monthly, dict(sorted(counts.items()))


def _interactions(post: Post) -> int | None:
    parts = [post.likes, post.reposts, post.replies, post.quotes]
    known = [p for p in parts if p is not None]
    return sum(known) if known else None  # unknown is not zero: no metric, no point


def engagement_points(snapshot: AccountSnapshot) -> list[EngagementPoint]:
    """Interactions per post (likes + reposts + replies + quotes, as far as known).

    An outlier lies above the Tukey fence Q3 + 1.5 * IQR of the account's own posts, so a
    "viral" hit stands out against the account's usual reach, not against other brands.
    Needs at least four posts with metrics to call anything an outlier.
    """
    rows = [(p, _interactions(p)) for p in snapshot.posts if p.kind is not PostKind.REPOST]
    known = [(p, v) for p, v in rows if v is not None]
    fence = math.inf
    if len(known) >= 4:
        q1, _, q3 = statistics.quantiles([v for _, v in known], n=4, method="inclusive")
        fence = q3 + 1.5 * (q3 - q1)
    label = _account_label(snapshot)
    return [
        EngagementPoint(label=label, created_at=p.created_at, engagement=v, outlier=v > fence)
        for p, v in known
    ]


def comments_disabled_share(snapshot: AccountSnapshot) -> float | None:
    """Share of the account's own posts whose public replies are switched off.

    A post counts as disabled when its reply policy says so or its sampled thread showed
    comments off. None when the platform told us the policy of no post.
    """
    sampled_off = {t.post_id for t in snapshot.thread_samples if t.comments_disabled}
    own = [p for p in snapshot.posts if p.kind is not PostKind.REPOST]
    known = [p for p in own if p.reply_policy is not None or p.id in sampled_off]
    if not known:
        return None
    off = sum(1 for p in known if p.reply_policy is ReplyPolicy.DISABLED or p.id in sampled_off)
    return off / len(known)


def response_rate(snapshot: AccountSnapshot) -> float | None:
    """Share of sampled comment threads the owner answered; None when answers are not visible."""
    usable = [
        t
        for t in snapshot.thread_samples
        if t.threads_answered is not None and not t.comments_disabled and t.threads_seen > 0
    ]
    seen = sum(t.threads_seen for t in usable)
    if seen == 0:
        return None
    return sum(t.threads_answered or 0 for t in usable) / seen


def _num(moment: datetime) -> float:
    """Matplotlib's date number; one typed wrapper because matplotlib.dates is untyped."""
    return float(mdates.date2num(moment))  # type: ignore[no-untyped-call]


def _date_format(pattern: str) -> mdates.DateFormatter:
    return mdates.DateFormatter(pattern)  # type: ignore[no-untyped-call]


def _new_figure(width: float, height: float) -> tuple[Figure, Axes]:
    # Figure without pyplot: no global figure registry, no GUI backend, safe beside threads.
    fig = Figure(figsize=(width, height), dpi=96)
    ax = fig.subplots()
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(axis="y", color="#e3e3e3", linewidth=0.8)
    ax.set_axisbelow(True)
    return fig, ax


def _to_svg(fig: Figure, key: str) -> str:
    """Serialise the figure and return checked SVG markup for inline embedding."""
    buffer = io.StringIO()
    # Text stays text (small, selectable, checkable); the salt gives deterministic ids that
    # still differ between the charts of one page.
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": key}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    return _scope_ids(sanitize_svg(buffer.getvalue()), key)


def _scope_ids(svg: str, key: str) -> str:
    """Prefix every id (and reference to it) so many charts can share one HTML document."""
    prefix = re.sub(r"[^\w-]", "_", key)
    svg = re.sub(r'\bid="([^"]+)"', rf'id="{prefix}-\1"', svg)
    svg = re.sub(r"url\(#([\w-]+)\)", rf"url(#{prefix}-\1)", svg)
    return re.sub(r'href="#([^"]+)"', rf'href="#{prefix}-\1"', svg)


def sanitize_svg(svg: str) -> str:
    """Strip the XML prologue and metadata, and refuse any SVG that could run or fetch anything.

    matplotlib XML-escapes text it writes, so hostile names stay text; this check is the second
    line: only drawing elements, no event handlers, no references outside the document.
    """
    start = svg.find("<svg")
    if start < 0:
        raise ChartSafetyError("not an SVG document")
    body = re.sub(r"<metadata>.*?</metadata>\s*", "", svg[start:], flags=re.S)
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise ChartSafetyError(f"chart SVG does not parse: {exc}") from None
    for element in root.iter():
        tag = element.tag.rpartition("}")[2]
        if tag not in _ALLOWED_TAGS:
            raise ChartSafetyError(f"chart SVG has a disallowed element <{tag}>")
        for name, value in element.attrib.items():
            local = name.rpartition("}")[2].lower()
            if local.startswith("on"):
                raise ChartSafetyError(f"chart SVG has an event handler attribute {local}")
            if local == "href" and not value.startswith("#"):
                raise ChartSafetyError("chart SVG refers outside the document")
            if "url(" in value and not re.fullmatch(r".*url\(#[\w-]+\).*", value, flags=re.S):
                raise ChartSafetyError("chart SVG loads an external resource")
        if tag == "style" and re.search(r"@import|url\((?!#)", element.text or ""):
            raise ChartSafetyError("chart SVG style loads an external resource")
    return body.strip()


def _empty_chart(message: str, key: str) -> str:
    fig, ax = _new_figure(6.4, 1.2)
    ax.axis("off")
    # Our own words, never data: no shortening, only `$` kept away from mathtext.
    text = message.replace("$", r"\$")
    ax.text(0.5, 0.5, text, ha="center", va="center", color="#666666")
    return _to_svg(fig, key)


def posting_chart(snapshots: Sequence[AccountSnapshot], key: str) -> str:
    """Stacked bars: own posts, replies and reposts per week (or month) across the accounts."""
    monthly, counts = posting_counts(snapshots)
    if not counts:
        return _empty_chart("No posts in the window", key)
    periods = list(counts)
    width = 24.0 if monthly else 5.5
    fig, ax = _new_figure(7.2, 2.8)
    bottom = [0] * len(periods)
    for kind, colour in KIND_COLOURS.items():
        values = [counts[p][kind] for p in periods]
        ax.bar(
            [_num(p) for p in periods],
            values,
            width=width,
            bottom=bottom,
            color=colour,
            label=kind,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(_date_format("%b %Y" if monthly else "%d %b"))
    fig.autofmt_xdate()
    ax.set_ylabel("posts per month" if monthly else "posts per week")
    ax.legend(frameon=False, ncols=3, loc="upper left", bbox_to_anchor=(0, 1.15))
    return _to_svg(fig, key)


def engagement_chart(snapshots: Sequence[AccountSnapshot], key: str) -> str:
    """Interactions per post over time, one marker per account, outliers ringed in red."""
    series = [(s, engagement_points(s)) for s in _found(snapshots)]
    series = [(s, pts) for s, pts in series if pts]
    if not series:
        return _empty_chart("No public engagement metrics for these posts", key)
    fig, ax = _new_figure(7.2, 2.8)
    markers = "os^D"
    for index, (snapshot, points) in enumerate(series):
        ax.scatter(
            [_num(p.created_at) for p in points],
            [p.engagement for p in points],
            s=14,
            marker=markers[index % len(markers)],
            alpha=0.75,
            label=_account_label(snapshot),
        )
    outliers = [p for _, pts in series for p in pts if p.outlier]
    if outliers:
        ax.scatter(
            [_num(p.created_at) for p in outliers],
            [p.engagement for p in outliers],
            s=90,
            facecolors="none",
            edgecolors=OUTLIER_COLOUR,
            linewidths=1.5,
            label="outlier (above Q3 + 1.5 IQR)",
        )
    if max(p.engagement for _, pts in series for p in pts) > 50 * max(
        1, statistics.median(p.engagement for _, pts in series for p in pts)
    ):
        ax.set_yscale("symlog")  # one viral hit would otherwise flatten every other post
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(_date_format("%d %b %Y"))
    fig.autofmt_xdate()
    ax.set_ylabel("interactions per post")
    ax.legend(frameon=False, fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _to_svg(fig, key)


def _share_bars(
    rows: Sequence[tuple[str, float | None]], key: str, xlabel: str, unknown: str
) -> str:
    fig, ax = _new_figure(7.2, 0.6 + 0.42 * len(rows))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e3e3e3", linewidth=0.8)
    labels = [label for label, _ in rows]
    values = [0.0 if v is None else v * 100 for _, v in rows]
    positions = list(range(len(rows)))
    ax.barh(positions, values, color=NEUTRAL_COLOUR, height=0.6)
    for pos, (_, value) in zip(positions, rows, strict=True):
        text = unknown if value is None else f"{value * 100:.0f}%"
        ax.text(2 if value is None else value * 100 + 1, pos, text, va="center", fontsize=8)
    ax.set_yticks(positions, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel(xlabel)
    return _to_svg(fig, key)


def comments_chart(snapshots: Sequence[AccountSnapshot], key: str) -> str:
    """Per account: the share of own posts with comments or replies switched off."""
    found = _found(snapshots)
    if not found:
        return _empty_chart("No account was found", key)
    rows = [(_account_label(s), comments_disabled_share(s)) for s in found]
    return _share_bars(rows, key, "own posts with comments disabled (%)", "not exposed")


def response_chart(snapshots: Sequence[AccountSnapshot], key: str) -> str:
    """Per account: the share of sampled comment threads that the owner answered."""
    found = _found(snapshots)
    if not found:
        return _empty_chart("No account was found", key)
    rows = [(_account_label(s), response_rate(s)) for s in found]
    return _share_bars(
        rows, key, "sampled comment threads answered by the owner (%)", "not visible"
    )


def _stage_axis(ax: Axes, horizontal: bool) -> None:
    ticks = list(STAGE_NAMES)
    labels = [f"{n} {name}" for n, name in STAGE_NAMES.items()]
    if horizontal:
        ax.set_xlim(-0.3, 7.5)
        ax.set_xticks(ticks, [str(n) for n in ticks])
        ax.set_xlabel("stage of uptake (0 doesn't care … 7 people-powered)")
    else:
        ax.set_ylim(-0.3, 7.5)
        ax.set_yticks(ticks, labels, fontsize=8)


def stages_chart(reports: Sequence[BrandReport], key: str) -> str:
    """Batch view: every brand's stage side by side, lowest confidence drawn palest."""
    if not reports:
        return _empty_chart("No brands", key)
    ordered = sorted(reports, key=lambda r: (-r.stage, r.brand.casefold()))
    fig, ax = _new_figure(7.2, 0.8 + 0.36 * len(ordered))
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color="#e3e3e3", linewidth=0.8)
    positions = list(range(len(ordered)))
    # One call for all the bars and one for the ranges: fewer artists for a page of brands.
    ax.barh(
        positions,
        [r.stage for r in ordered],
        left=0,
        height=0.6,
        color=[
            to_rgba(
                NEUTRAL_COLOUR if r.insufficient_evidence else "#0072B2",
                0.35 + 0.65 * r.confidence,
            )
            for r in ordered
        ],
    )
    ranges = [(pos, r.stage_range) for pos, r in zip(positions, ordered, strict=True)]
    ax.hlines(
        [pos for pos, span in ranges if span is not None],
        [span[0] for _, span in ranges if span is not None],
        [span[1] for _, span in ranges if span is not None],
        color="#333333",
        linewidth=1.2,
    )
    for pos, report in zip(positions, ordered, strict=True):
        ax.text(report.stage + 0.1, pos, str(report.stage), va="center", fontsize=8)
    ax.set_yticks(positions, [_label(r.brand) for r in ordered])
    ax.invert_yaxis()
    _stage_axis(ax, horizontal=True)
    return _to_svg(fig, key)


def history_chart(history: Sequence[tuple[datetime, BrandReport]], key: str) -> str:
    """The brand's stage across past runs as a step line, transitions annotated."""
    runs = sorted(history, key=lambda item: item[0])
    if not runs:
        return _empty_chart("No earlier runs stored for this brand", key)
    fig, ax = _new_figure(7.2, 2.8)
    xs = [_num(when) for when, _ in runs]
    ys = [report.stage for _, report in runs]
    ax.step(xs, ys, where="post", color="#0072B2", linewidth=2)
    ax.scatter(xs, ys, color="#0072B2", s=18, zorder=3)
    for change in transitions(runs):
        ax.annotate(
            f"{change.before} -> {change.after}",
            (_num(change.at), change.after),
            textcoords="offset points",
            xytext=(4, 6),
            fontsize=8,
            color=OUTLIER_COLOUR,
        )
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(_date_format("%b %Y"))
    fig.autofmt_xdate()
    _stage_axis(ax, horizontal=False)
    return _to_svg(fig, key)
