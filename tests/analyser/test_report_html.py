"""The HTML report: complete, offline, and inert whatever the platforms and competitor file say."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from analyser import charts
from analyser.models import (
    STAGE_NAMES,
    Account,
    AccountResult,
    AccountSnapshot,
    AccountStatus,
    BrandReport,
    Coverage,
    Evidence,
    Platform,
    Post,
    PostKind,
    ReplyPolicy,
    ThreadSample,
)
from analyser.report_html import render_html, safe_url

AS_OF = datetime(2026, 3, 31, 12, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'
KINDS = (PostKind.ORIGINAL, PostKind.ORIGINAL, PostKind.REPLY, PostKind.REPOST, PostKind.QUOTE)


def make_snapshot(
    platform: Platform,
    handle: str,
    *,
    posts: int = 30,
    text: str = "Our new product is out",
    display_name: str = "Acme",
    viral_every: int = 0,
    comments_off_every: int = 0,
    answered: int | None = 2,
) -> AccountSnapshot:
    """An account with `posts` posts spread over ~4 months, every kind, known metrics."""
    items = []
    for i in range(posts):
        viral = viral_every and i % viral_every == 0
        items.append(
            Post(
                id=f"{platform.value}-{handle}-{i}",
                created_at=AS_OF - timedelta(days=4 * i, hours=i),
                text=f"{text} #{i}",
                title=f"{text} video {i}" if platform is Platform.YOUTUBE else None,
                kind=KINDS[i % len(KINDS)],
                url=f"https://example.test/{platform.value}/{handle}/{i}",
                likes=(5000 if viral else 10 + i % 7),
                reposts=None if platform is Platform.YOUTUBE else 2 + i % 3,
                replies=1 + i % 4,
                reply_policy=(
                    ReplyPolicy.DISABLED
                    if comments_off_every and i % comments_off_every == 0
                    else ReplyPolicy.OPEN
                ),
            )
        )
    samples = tuple(
        ThreadSample(
            post_id=items[i].id,
            threads_seen=5,
            threads_answered=answered,
            reason=None if answered is not None else "authors hidden",
        )
        for i in range(0, min(posts, 10), 2)
    )
    return AccountSnapshot(
        account=Account(
            platform=platform,
            handle=handle,
            status=AccountStatus.FOUND,
            display_name=display_name,
            url=f"https://example.test/{platform.value}/{handle}",
            description=f"About {display_name}: {text}",
            followers=1200,
        ),
        posts=tuple(items),
        thread_samples=samples,
        fetched_at=AS_OF,
        window_start=AS_OF - timedelta(days=130),
        window_end=AS_OF,
    )


def make_report(
    brand: str,
    snapshots: Sequence[AccountSnapshot],
    *,
    stage: int = 3,
    confidence: float = 0.7,
    text: str = "Posts outnumber replies ten to one",
) -> BrandReport:
    """A report whose evidence cites real post ids and links of the snapshots."""
    results = tuple(
        AccountResult(
            platform=s.account.platform,
            handle=s.account.handle,
            status=s.account.status,
            display_name=s.account.display_name,
            url=s.account.url,
            stage=stage,
            stage_name=STAGE_NAMES[stage],
            signals={"posts_last_90d": len(s.posts), "reply_share": 0.2, "response_rate": None},
        )
        for s in snapshots
    )
    first = snapshots[0]
    evidence = (
        Evidence(
            signal="reply_share",
            value=0.2,
            rule="broadcast_low_replies",
            stage=stage,
            platform=first.account.platform,
            handle=first.account.handle,
            rationale=text,
            examples=(first.posts[0].id, first.posts[1].url or "", "javascript:alert(1)"),
        ),
        Evidence(signal="comments_disabled_share", value=None, rule="r2", stage=stage),
    )
    posts = sum(len(s.posts) for s in snapshots)
    return BrandReport(
        brand=brand,
        as_of=AS_OF,
        stage=stage,
        stage_name=STAGE_NAMES[stage],
        confidence=confidence,
        stage_range=(stage, min(stage + 1, 7)),
        platforms=results,
        evidence=evidence,
        advice=(f"Answer the questions under your posts ({text})",),
        coverage=Coverage(accounts=len(snapshots), posts_analysed=posts, date_from=AS_OF),
        notes=("Facebook hides comment authors",),
    )


def one_brand(
    brand: str = "Acme",
    text: str = "Our new product is out",
    name: str = "Acme",
    handle: str = "acme",
) -> tuple[BrandReport, tuple[AccountSnapshot, ...]]:
    snaps = (
        make_snapshot(Platform.TWITTER, handle, text=text, display_name=name, viral_every=9),
        make_snapshot(Platform.YOUTUBE, "acmevideo", text=text, comments_off_every=2),
        make_snapshot(Platform.FACEBOOK, "acmepage", text=text, display_name=name, answered=None),
    )
    return make_report(brand, snaps, text=text), snaps


def batch_items() -> list[tuple[BrandReport, tuple[AccountSnapshot, ...]]]:
    items = [one_brand()]
    for brand, stage in (("Bolt & Co", 6), ("Zephyr", 2)):
        snaps = (make_snapshot(Platform.TWITTER, brand.split()[0].lower(), posts=12),)
        items.append((make_report(brand, snaps, stage=stage, confidence=0.4), snaps))
    return items


class _Doc(HTMLParser):
    """Collects every element with its attributes, and the text of each <script>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def parse(page: str) -> _Doc:
    doc = _Doc()
    doc.feed(page)
    doc.close()
    return doc


def test_single_brand_has_ladder_evidence_advice_and_four_charts() -> None:
    report, snaps = one_brand()
    page = render_html([(report, snaps)])
    doc = parse(page)
    ladder = [a for t, a in doc.elements if t == "li" and "data-stage" in a]
    assert [a["data-stage"] for a in ladder] == [str(n) for n in range(7, -1, -1)]
    current = [a for a in ladder if a.get("aria-current") == "step"]
    assert [a["data-stage"] for a in current] == ["3"]
    for name in STAGE_NAMES.values():
        assert name.replace("'", "&#x27;") in page
    charts_drawn = [a["data-chart"] for t, a in doc.elements if t == "figure"]
    assert charts_drawn == ["posting", "engagement", "comments-disabled", "response-rate"]
    assert "Answer the questions under your posts" in page
    assert "About Acme: Our new product is out" in page  # the profile description, per account
    # The evidence cites a post id: the example post appears with its text and link.
    example_ids = [a["data-post-id"] for t, a in doc.elements if t == "li" and "data-post-id" in a]
    assert example_ids == ["twitter-acme-0", "twitter-acme-1"]
    assert 'href="https://example.test/twitter/acme/0"' in page
    assert "comparison-table" not in page  # one brand: no competitor table


def test_page_is_self_contained_and_offline() -> None:
    report, snaps = one_brand()
    doc = parse(render_html([(report, snaps)]))
    for tag, attrs in doc.elements:
        assert tag not in {"link", "iframe", "object", "embed", "img", "foreignobject"}
        for name in ("src", "srcset", "data", "action"):
            assert name not in attrs, (tag, attrs)
        if tag == "script":
            assert "src" not in attrs
    assert len(doc.scripts) == 1  # only the sorting script we ship


def test_csp_pins_the_one_script_by_hash() -> None:
    import base64
    import hashlib

    report, snaps = one_brand()
    doc = parse(render_html([(report, snaps)]))
    metas = [a for t, a in doc.elements if t == "meta"]
    csp = next(a["content"] for a in metas if a.get("http-equiv") == "Content-Security-Policy")
    assert csp is not None
    digest = base64.b64encode(hashlib.sha256(doc.scripts[0].encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1]


@pytest.mark.parametrize("where", ["brand", "post_and_description", "page_name", "handle"])
def test_hostile_text_stays_text(where: str) -> None:
    report, snaps = one_brand(
        brand=HOSTILE if where == "brand" else "Acme",
        text=HOSTILE if where == "post_and_description" else "fine",
        name=HOSTILE if where == "page_name" else "Acme",
        handle=HOSTILE if where == "handle" else "acme",
    )
    other, other_snaps = one_brand(brand="Other")
    page = render_html([(report, snaps), (other, other_snaps)])
    doc = parse(page)
    assert [t for t, _ in doc.elements if t in {"img", "iframe", "object", "embed"}] == []
    assert len(doc.scripts) == 1 and "alert" not in doc.scripts[0]
    for tag, attrs in doc.elements:
        events = [name for name in attrs if name.startswith("on")]
        assert events == [], (tag, attrs)
        assert not (attrs.get("href") or "").lower().startswith("javascript:")
    assert "&lt;script&gt;" in page  # shown to the reader, escaped


def test_hostile_brand_in_batch_chart_and_comparison_is_escaped() -> None:
    items = batch_items()
    report, snaps = one_brand(brand=HOSTILE + " $x$ \\")
    items.append((report, snaps))
    page = render_html(items)
    assert "<script>alert" not in page and "<img" not in page
    assert page.count("<script>") == 1


def test_batch_adds_sortable_comparison_and_stage_chart() -> None:
    page = render_html(batch_items())
    doc = parse(page)
    table = [a for t, a in doc.elements if t == "table" and a.get("id") == "comparison-table"]
    assert table and "sortable" in (table[0]["class"] or "")
    sorts = [a["data-sort"] for t, a in doc.elements if t == "td" and "data-sort" in a]
    assert "Bolt &amp; Co" not in sorts and "Bolt & Co" in sorts  # parsed back to the raw name
    figures = [a["data-chart"] for t, a in doc.elements if t == "figure"]
    assert figures[0] == "stages"  # the cross-brand chart leads, before the brand sections
    sections = [a["id"] for t, a in doc.elements if t == "section"]
    assert sections == ["comparison", "brand-1", "brand-2", "brand-3"]


def test_unknown_response_rate_is_shown_as_not_visible_not_zero() -> None:
    report, snaps = one_brand()
    facebook = snaps[2]
    assert charts.response_rate(facebook) is None
    assert charts.response_rate(snaps[0]) == pytest.approx(0.4)
    page = render_html([(report, snaps)])
    assert "not visible" in page


def test_history_chart_appears_when_runs_are_given() -> None:
    report, snaps = one_brand()
    earlier = report.model_copy(update={"stage": 3, "stage_name": STAGE_NAMES[3]})
    later = report.model_copy(update={"stage": 5, "stage_name": STAGE_NAMES[5]})
    runs = [(datetime(2026, 1, 5, tzinfo=UTC), earlier), (datetime(2026, 3, 2, tzinfo=UTC), later)]
    page = render_html([(report, snaps)], history={"Acme": runs})
    assert 'data-chart="history"' in page
    assert "3 -&gt; 5" in page  # the transition is annotated on the chart (XML-escaped)


def test_no_posts_renders_placeholders_not_errors() -> None:
    missing = AccountSnapshot(
        account=Account(platform=Platform.TWITTER, handle="gone", status=AccountStatus.NOT_FOUND),
        fetched_at=AS_OF,
    )
    report = BrandReport(
        brand="Ghost", as_of=AS_OF, stage=0, stage_name=STAGE_NAMES[0], confidence=0.2
    )
    page = render_html([(report, (missing,))])
    assert "No posts in the window" in page
    assert "No account was found" in page


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://x.com/acme/status/1", True),
        ("http://example.test/a", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//evil.test/x", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_links_survive(url: str | None, safe: bool) -> None:
    assert (safe_url(url) is not None) is safe


def test_outliers_are_posts_far_above_the_accounts_usual() -> None:
    snap = make_snapshot(Platform.TWITTER, "acme", viral_every=9)
    points = charts.engagement_points(snap)
    flagged = {p.created_at for p in points if p.outlier}
    viral = {p.created_at for i, p in enumerate(snap.posts) if i % 9 == 0 and p.kind != "repost"}
    assert flagged == viral and flagged


def test_sanitize_svg_refuses_active_content() -> None:
    ok = '<svg xmlns="http://www.w3.org/2000/svg"><text>a &lt;b&gt;</text></svg>'
    assert charts.sanitize_svg("<?xml version='1.0'?>\n" + ok) == ok
    for bad in (
        '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:x="http://www.w3.org/1999/xlink">'
        '<use x:href="https://evil.test/a.svg#x"/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>',
        '<svg xmlns="http://www.w3.org/2000/svg"><rect style="fill:url(https://e.test/)"/></svg>',
    ):
        with pytest.raises(charts.ChartSafetyError):
            charts.sanitize_svg(bad)


def test_chart_ids_are_unique_across_the_page() -> None:
    page = render_html(batch_items())
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_rendering_is_deterministic() -> None:
    assert render_html(batch_items()) == render_html(batch_items())


@pytest.mark.parametrize("count", [1, 3])
def test_history_chart_copes_with_one_run_or_runs_on_one_day(count: int) -> None:
    report, _ = one_brand()
    runs = [(AS_OF + timedelta(minutes=i), report) for i in range(count)]
    svg = charts.history_chart(runs, "h")
    assert svg.startswith("<svg") and "-&gt;" not in svg  # no stage change, no annotation


def test_single_post_account_draws_without_warnings() -> None:
    snap = make_snapshot(Platform.TWITTER, "solo", posts=1)
    for draw in (charts.posting_chart, charts.engagement_chart, charts.comments_chart):
        assert draw([snap], "solo").startswith("<svg")
