"""Nothing under fixtures/ looks like a credential, and every cassette is one we can read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from connectors.replay import FORMAT, iter_cassettes

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

SECRET_SHAPES = [
    re.compile(r"(?i)bearer\s+[A-Za-z0-9%._~+/=-]{8,}"),
    re.compile(r"AAAAAAAAAAAAAAAAAAAAA"),  # X app bearer tokens start like this
    re.compile(r"AIza[0-9A-Za-z_-]{20,}"),  # Google API keys
    re.compile(r"EAA[A-Za-z0-9]{20,}"),  # Facebook access tokens
    re.compile(r"(?i)[?&](access_token|key|appsecret_proof|client_secret)=(?!REDACTED)[^&\"\s]+"),
    re.compile(r"(?i)\"(authorization|cookie|set-cookie)\""),
]


def _cassettes() -> list[Path]:
    return list(iter_cassettes(FIXTURES))


def test_there_are_fixtures_to_scan() -> None:
    assert len(_cassettes()) >= 8, (
        "the demo fixtures are missing: python -m analyser.demo build-fixtures"
    )


@pytest.mark.parametrize("path", _cassettes(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_no_secret_in_fixture(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    for shape in SECRET_SHAPES:
        match = shape.search(text)
        assert match is None, (
            f"{path.name} holds something shaped like a secret: {match.group(0)[:12]}..."
        )
    doc = json.loads(text)
    assert doc["format"] == FORMAT
    assert doc["recorded_at"]


def test_the_scanner_catches_a_planted_token(tmp_path: Path) -> None:
    planted = '{"next": "https://graph.facebook.com/v26.0/1/posts?access_token=EAAB1234567890abcdefghijklmnop"}'
    assert any(shape.search(planted) for shape in SECRET_SHAPES)
