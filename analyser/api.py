"""Notebook API: `analyse` one brand, `analyse_batch` a list; pydantic results, pandas frames."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from analyser.batch import DEFAULT_CONCURRENCY, BatchSummary, run_batch
from analyser.batchio import (
    BrandOutcome,
    BrandSpec,
    OutputWriter,
    Status,
    load_competitors,
    parse_records,
    result_row,
    signal_rows,
)
from analyser.config import Settings, load_settings
from analyser.handles import parse_handle
from analyser.models import BrandReport, Platform
from analyser.pipeline import Mode, Runtime, analyse_brand
from analyser.storage import open_storage
from connectors.replay import Handler

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchResult", "BrandResult", "analyse", "analyse_batch", "to_frame"]


class BrandResult(BaseModel):
    """One brand of a batch: its report unless every account failed."""

    model_config = ConfigDict(frozen=True)

    name: str
    status: Status
    error: str | None = None
    report: BrandReport | None = None


class BatchResult(BaseModel):
    """What `analyse_batch` returns: every brand and the batch's costs.

    >>> result = analyse_batch("competitors.csv")  # doctest: +SKIP
    >>> result.frame[["name", "stage", "status"]]  # doctest: +SKIP
    """

    model_config = ConfigDict(frozen=True)

    brands: tuple[BrandResult, ...]
    summary: BatchSummary

    @property
    def frame(self) -> pd.DataFrame:
        """One row a brand, the columns of results.csv."""
        return to_frame(self.brands)

    def signals_frame(self) -> pd.DataFrame:
        """One row an account with every signal the classifier computed."""
        import pandas as pd

        rows = [
            row
            for brand in self.brands
            for row in signal_rows(
                BrandOutcome(brand.name, brand.status, brand.report, brand.error)
            )
        ]
        return pd.DataFrame(rows)


def to_frame(results: Iterable[BrandResult | BrandReport]) -> pd.DataFrame:
    """Reports or batch results as a DataFrame, one row a brand (the results.csv columns)."""
    import pandas as pd

    rows = []
    for item in results:
        if isinstance(item, BrandReport):
            outcome = BrandOutcome(item.brand, "ok", report=item)
        else:
            outcome = BrandOutcome(item.name, item.status, item.report, item.error)
        rows.append(result_row(outcome))
    frame = pd.DataFrame(rows)
    for column in ("stage", "twitter_stage", "youtube_stage", "facebook_stage"):
        if column in frame:
            frame[column] = frame[column].astype("Int64")
    return frame


def analyse(
    name: str,
    *,
    twitter: Sequence[str] | str = (),
    youtube: Sequence[str] | str = (),
    facebook: Sequence[str] | str = (),
    mode: Mode = "live",
    handler: Handler | None = None,
    settings: Settings | None = None,
    max_posts: int = 200,
    as_of: datetime | None = None,
) -> BrandReport:
    """Analyse one brand; handles may be @names or profile URLs.

    >>> analyse("Harbour Coffee", twitter="@harbourcoffee", mode="offline").stage  # doctest: +SKIP
    3
    """
    handles = [
        parse_handle(platform, raw)
        for platform, given in (
            (Platform.TWITTER, twitter),
            (Platform.YOUTUBE, youtube),
            (Platform.FACEBOOK, facebook),
        )
        for raw in ([given] if isinstance(given, str) else given)
    ]
    runtime = Runtime(
        settings or load_settings(), mode=mode, handler=handler, max_posts=max_posts, as_of=as_of
    )
    return analyse_brand(name, handles, runtime)


def analyse_batch(
    competitors: str | Path | Sequence[Mapping[str, Any]] | pd.DataFrame,
    *,
    out: str | Path | None = None,
    mode: Mode = "live",
    handler: Handler | None = None,
    settings: Settings | None = None,
    max_posts: int = 200,
    max_age: timedelta = timedelta(hours=24),
    refresh: bool = False,
    concurrency: Mapping[Platform, int] | int = DEFAULT_CONCURRENCY,
    as_of: datetime | None = None,
    store: bool = True,
) -> BatchResult:
    """Analyse a competitor list: a CSV/YAML/JSON path, a list of dicts or a DataFrame with the
    columns name, twitter, youtube, facebook. Same validation, cache and resume as
    `uptake batch`; `out` also writes the batch files; `store=False` leaves the database alone.

    >>> analyse_batch([{"name": "Harbour", "twitter": "@harbour"}]).frame  # doctest: +SKIP
    """
    brands = _brands(competitors)
    settings = settings or load_settings()
    collected: list[BrandResult] = []

    def keep(outcome: BrandOutcome) -> None:
        collected.append(BrandResult(**_fields(outcome)))

    storage = open_storage(settings) if store else None
    try:
        runtime = Runtime(
            settings,
            mode=mode,
            handler=handler,
            max_posts=max_posts,
            as_of=as_of,
            cache=storage.cache(max_posts=max_posts, refresh=refresh) if storage else None,
            max_age=max_age,
        )
        summary = run_batch(
            brands,
            runtime,
            storage=storage,
            out=OutputWriter(Path(out)) if out is not None else None,
            concurrency=concurrency,
            source=str(competitors) if isinstance(competitors, str | Path) else "python",
            on_outcome=keep,
        )
    finally:
        if storage is not None:
            storage.close()
    order = {b.name: i for i, b in enumerate(brands)}
    collected.sort(key=lambda r: order.get(r.name, len(order)))
    return BatchResult(brands=tuple(collected), summary=summary)


def _fields(outcome: BrandOutcome) -> dict[str, Any]:
    return {
        "name": outcome.name,
        "status": outcome.status,
        "error": outcome.error,
        "report": outcome.report,
    }


def _brands(competitors: str | Path | Sequence[Mapping[str, Any]] | Any) -> list[BrandSpec]:
    if isinstance(competitors, str | Path):
        return load_competitors(Path(competitors))
    records: list[Mapping[str, Any]]
    if hasattr(competitors, "to_dict"):  # a DataFrame: NaN cells are empty cells
        records = [
            {k: (None if v != v else v) for k, v in row.items()}
            for row in competitors.to_dict(orient="records")
        ]
    else:
        records = list(competitors)
    return parse_records(((i + 1, r) for i, r in enumerate(records)), "competitors")
