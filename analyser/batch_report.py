"""DIR/report.html for a batch: the competitor comparison and each brand's report, from DIR."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from analyser.batchio import BrandSpec
from analyser.models import AccountSnapshot, BrandReport
from analyser.storage import Storage

__all__ = ["CHART_BRANDS", "write_batch_report"]

# Activity charts need every post of every account; past this many brands the report keeps the
# comparison, the ladders, the evidence and the advice, and leaves the per-post charts out, so a
# batch of hundreds of brands still gives a file a browser opens quickly (~90 KB a charted brand).
CHART_BRANDS = 50
_ANY_AGE = timedelta(days=365 * 100)


def write_batch_report(
    out_dir: Path,
    brands: Sequence[BrandSpec],
    storage: Storage,
    *,
    max_posts: int,
    chart_brands: int = CHART_BRANDS,
) -> Path | None:
    """Render DIR/report.html from DIR/results.json (the reports as written) and the stored
    snapshots. Returns the path, or None when no brand produced a report."""
    from analyser.report_html import render_html

    results = out_dir / "results.json"
    documents = json.loads(results.read_text(encoding="utf-8")) if results.exists() else []
    reports = [
        BrandReport.model_validate({k: v for k, v in doc.items() if k not in ("status", "error")})
        for doc in documents
        if doc.get("stage") is not None
    ]
    if not reports:
        return None
    by_name = {spec.name.casefold(): spec for spec in brands}
    charted = len(reports) <= chart_brands
    items: list[tuple[BrandReport, Sequence[AccountSnapshot]]] = []
    for report in sorted(reports, key=lambda r: r.brand.casefold()):
        spec = by_name.get(report.brand.casefold())
        snaps: list[AccountSnapshot] = []
        if charted and spec is not None:
            for handle in spec.handles:
                snap = storage.get_snapshot(handle, max_age=_ANY_AGE, max_posts=max_posts)
                if snap is not None:
                    snaps.append(snap)
        items.append((report, snaps))
    history = {r.brand: storage.history(r.brand) for r, _ in items} if charted else None
    title = f"uptake: {len(reports)} brands"
    if not charted:
        title += f" (per-post charts left out above {chart_brands} brands)"
    path = out_dir / "report.html"
    tmp = path.with_name("report.html.tmp")
    tmp.write_text(render_html(items, history=history, title=title), encoding="utf-8")
    tmp.replace(path)
    return path
