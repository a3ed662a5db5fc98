"""The notebook API: analyse_batch from dicts or a DataFrame returns pydantic results and frames."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analyser.api import BatchResult, analyse, analyse_batch, to_frame
from analyser.batchio import CompetitorFileError
from analyser.config import Settings
from connectors.fakeapi import FakeApi
from tests.analyser.test_batch import POSTS, bench


@pytest.fixture
def api() -> FakeApi:
    return FakeApi([s for i in range(5) for s in bench.synthetic_accounts(i, POSTS)])


def test_analyse_batch_from_a_dataframe(settings: Settings, api: FakeApi, tmp_path: Path) -> None:
    frame = pd.DataFrame(
        [
            {"name": "Brand 0", "twitter": "@brand0", "youtube": "@brand0yt", "facebook": None},
            {"name": "Brand 1", "twitter": None, "youtube": None, "facebook": "brand1.page"},
        ]
    )
    settings = settings.model_copy(update={"youtube_comment_sample": 0})
    result = analyse_batch(
        frame, mode="simulated", handler=api, settings=settings, max_posts=POSTS,
        out=tmp_path / "out",
    )  # fmt: skip
    assert isinstance(result, BatchResult)
    assert [b.name for b in result.brands] == ["Brand 0", "Brand 1"]
    assert result.summary.requests == 2 + 3 + 2
    table = result.frame
    assert list(table["name"]) == ["Brand 0", "Brand 1"]
    assert str(table["stage"].dtype) == "Int64"
    assert pd.isna(table.loc[1, "twitter_stage"])
    assert set(result.signals_frame()["platform"]) == {"twitter", "youtube", "facebook"}
    assert (tmp_path / "out" / "results.csv").exists()
    # the database kept it: a second call is served from it
    again = analyse_batch(frame, mode="simulated", handler=api, settings=settings, max_posts=POSTS)
    assert again.summary.requests == 0
    assert [b.report.stage for b in again.brands if b.report] == list(table["stage"])


def test_analyse_one_brand_and_to_frame(settings: Settings, api: FakeApi) -> None:
    settings = settings.model_copy(update={"youtube_comment_sample": 0})
    report = analyse(
        "Brand 2", twitter="https://x.com/brand2", youtube=["@brand2yt"], mode="simulated",
        handler=api, settings=settings, max_posts=POSTS,
    )  # fmt: skip
    assert report.brand == "Brand 2" and len(report.platforms) == 2
    assert to_frame([report]).loc[0, "stage"] == report.stage


def test_bad_records_are_rejected_before_any_request(settings: Settings, api: FakeApi) -> None:
    with pytest.raises(CompetitorFileError) as info:
        analyse_batch([{"name": "", "twitter": "ok"}], mode="simulated", handler=api,
                      settings=settings, store=False)  # fmt: skip
    assert info.value.problems == ("line 1: the brand name is empty",)
    assert sum(api.requests.values()) == 0
