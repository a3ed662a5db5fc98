"""DIR/report.html for a batch: the competitor comparison and each brand's report, from DIR."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from analyser.batchio import BrandSpec
from analyser.models import AccountSnapshot, BrandReport
from analyser.storage import Storage

__all__ = ["CHART_BRANDS", "PAGE_BRANDS", "write_batch_report"]

# Activity charts need every post of every account; past this many brands the report keeps the
# comparison, the ladders, the evidence and the advice, and leaves the per-post charts out, so a
# batch of hundreds of brands still gives a file a browser opens quickly (~90 KB a charted brand).
CHART_BRANDS = 50
# One HTML page holds at most this many brands: a 5,000-brand batch renders page by page.
PAGE_BRANDS = 200
_ANY_AGE = timedelta(days=365 * 100)


def _documents(results: Path) -> Iterator[dict[str, Any]]:
    """The documents of results.json one at a time: only the text, never every parsed report,
    is held at once."""
    text = results.read_text(encoding="utf-8")
    decoder = json.JSONDecoder()
    pos = text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return
        doc, pos = decoder.raw_decode(text, pos)
        if isinstance(doc, dict):
            yield doc


def _page_name(index: int) -> str:
    return "report.html" if index == 0 else f"report-{index + 1:03d}.html"


def write_batch_report(
    out_dir: Path,
    brands: Sequence[BrandSpec],
    storage: Storage,
    *,
    max_posts: int,
    chart_brands: int = CHART_BRANDS,
    page_brands: int = PAGE_BRANDS,
) -> Path | None:
    """Render DIR/report.html from DIR/results.json (the reports as written) and the stored
    snapshots. A batch larger than `page_brands` is split into report.html, report-002.html,
    ... so rendering holds one page of brands at a time. Returns the first page, or None when
    no brand produced a report."""
    results = out_dir / "results.json"
    if not results.exists():
        return None
    names = sorted(doc["brand"] for doc in _documents(results) if doc.get("stage") is not None)
    total = len(names)
    if total == 0:
        return None
    by_name = {spec.name.casefold(): spec for spec in brands}
    charted = total <= chart_brands
    pages = [names[i : i + page_brands] for i in range(0, total, page_brands)]
    for index, page in enumerate(pages):
        wanted = {name.casefold() for name in page}
        reports = [
            BrandReport.model_validate(
                {k: v for k, v in doc.items() if k not in ("status", "error")}
            )
            for doc in _documents(results)
            if doc.get("stage") is not None and str(doc["brand"]).casefold() in wanted
        ]
        _render_page(
            out_dir / _page_name(index),
            sorted(reports, key=lambda r: r.brand.casefold()),
            by_name,
            storage,
            max_posts=max_posts,
            charted=charted,
            title=_title(total, index, len(pages), page_brands, chart_brands, charted),
        )
    return out_dir / _page_name(0)


def _title(
    total: int, index: int, pages: int, page_brands: int, chart_brands: int, charted: bool
) -> str:
    title = f"uptake: {total} brands"
    if pages > 1:
        first = index * page_brands + 1
        last = min(total, first + page_brands - 1)
        title += f", brands {first}-{last} (page {index + 1} of {pages}, report-NNN.html)"
    if not charted:
        title += f" (per-post charts left out above {chart_brands} brands)"
    return title


def _render_page(
    path: Path,
    reports: Sequence[BrandReport],
    by_name: dict[str, BrandSpec],
    storage: Storage,
    *,
    max_posts: int,
    charted: bool,
    title: str,
) -> None:
    from analyser.report_html import render_html

    items: list[tuple[BrandReport, Sequence[AccountSnapshot]]] = []
    for report in reports:
        spec = by_name.get(report.brand.casefold())
        snaps: list[AccountSnapshot] = []
        if charted and spec is not None:
            for handle in spec.handles:
                snap = storage.get_snapshot(handle, max_age=_ANY_AGE, max_posts=max_posts)
                if snap is not None:
                    snaps.append(snap)
        items.append((report, snaps))
    history = {r.brand: storage.history(r.brand) for r, _ in items} if charted else None
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_html(items, history=history, title=title), encoding="utf-8")
    tmp.replace(path)
