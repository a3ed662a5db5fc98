"""DIR/report.html for a batch: the competitor comparison and each brand's report, from DIR."""

from __future__ import annotations

import codecs
import gc
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from analyser.batchio import BrandSpec
from analyser.models import AccountSnapshot, BrandReport
from analyser.storage import Storage

__all__ = ["CHART_BRANDS", "PAGE_BRANDS", "iter_documents", "write_batch_report"]

# Activity charts need every post of every account; past this many brands the report keeps the
# comparison, the ladders, the evidence and the advice, and leaves the per-post charts out, so a
# batch of hundreds of brands still gives a file a browser opens quickly (~90 KB a charted brand).
CHART_BRANDS = 50
# One HTML page holds at most this many brands: a 5,000-brand batch renders page by page, and
# the memory a page needs (its reports, its comparison chart) does not grow with the batch.
PAGE_BRANDS = 100
_ANY_AGE = timedelta(days=365 * 100)
_CHUNK = 1 << 20  # bytes of results.json read at a time
_INCOMPLETE = object()


@dataclass(frozen=True)
class _Entry:
    """Where one analysed brand's document lies in results.json."""

    brand: str
    start: int
    end: int


def iter_documents(path: Path, chunk: int = _CHUNK) -> Iterator[tuple[dict[str, Any], int, int]]:
    """Each object in the JSON list in `path` with its byte range, reading `chunk` bytes at a
    time: memory holds a chunk and a document, never the file (60 MB at 5,000 brands)."""
    decoder = json.JSONDecoder()
    utf8 = codecs.getincrementaldecoder("utf-8")()
    buf, pos = "", 0  # decoded text held, and where reading has got to in it
    mark, mark_byte = 0, 0  # a character index of buf and its byte offset in the file
    opened = eof = False
    with path.open("rb") as f:
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            value: Any = _INCOMPLETE
            if pos < len(buf) and opened and buf[pos] != "]":
                try:
                    value, end = decoder.raw_decode(buf, pos)
                except json.JSONDecodeError:
                    if eof:
                        raise
                if value is not _INCOMPLETE and (end < len(buf) or eof):
                    start = mark_byte + len(buf[mark:pos].encode("utf-8"))
                    stop = start + len(buf[pos:end].encode("utf-8"))
                    mark, mark_byte, pos = end, stop, end
                    if isinstance(value, dict):
                        yield value, start, stop
                    continue
            elif pos < len(buf) and not opened:
                if buf[pos] != "[":
                    raise ValueError(f"{path.name} is not a JSON list")
                opened, pos = True, pos + 1
                continue
            elif pos < len(buf):
                return  # the closing ]
            if eof:
                raise ValueError(f"{path.name} ends before its closing ]")
            # Keep only what is not read yet, then append the next chunk.
            mark_byte += len(buf[mark:pos].encode("utf-8"))
            data = f.read(chunk)
            eof = not data
            buf, pos, mark = buf[pos:] + utf8.decode(data, final=eof), 0, 0


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
    ... One pass over results.json notes where each analysed brand's document lies; each page
    then reads back only its own brands, so memory holds one page whatever the batch's size.
    Returns the first page, or None when no brand produced a report."""
    results = out_dir / "results.json"
    if not results.exists():
        return None
    entries = sorted(
        (
            _Entry(str(doc["brand"]), start, end)
            for doc, start, end in iter_documents(results)
            if doc.get("stage") is not None
        ),
        key=lambda e: (e.brand.casefold(), e.brand),
    )
    total = len(entries)
    if total == 0:
        return None
    by_name = {spec.name.casefold(): spec for spec in brands}
    charted = total <= chart_brands
    pages = [entries[i : i + page_brands] for i in range(0, total, page_brands)]
    with results.open("rb") as f:
        for index, page in enumerate(pages):
            reports = [_read_report(f, entry) for entry in page]
            _render_page(
                out_dir / _page_name(index),
                reports,
                by_name,
                storage,
                max_posts=max_posts,
                charted=charted,
                title=_title(total, index, len(pages), page_brands, chart_brands, charted),
            )
            # A page's matplotlib figures are reference cycles: collected here, each page starts
            # from the same memory (without it a 10-page report peaked 12 MB higher than 1 page).
            gc.collect()
    return out_dir / _page_name(0)


def _read_report(f: IO[bytes], entry: _Entry) -> BrandReport:
    f.seek(entry.start)
    doc = json.loads(f.read(entry.end - entry.start))
    return BrandReport.model_validate(
        {k: v for k, v in doc.items() if k not in ("status", "error")}
    )


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
