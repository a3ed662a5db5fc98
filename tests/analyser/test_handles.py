"""Table tests of every accepted handle form and every kind of bad input."""

from __future__ import annotations

import pytest

from analyser.errors import BadInputError, ExitCode
from analyser.handles import parse_handle

ACCEPTED = [
    ("twitter", "@HarbourCo", "HarbourCo", "username"),
    ("twitter", "HarbourCo", "HarbourCo", "username"),
    ("twitter", "  harbour_co  ", "harbour_co", "username"),
    ("twitter", "https://twitter.com/HarbourCo", "HarbourCo", "username"),
    ("twitter", "https://x.com/HarbourCo/status/1234567890", "HarbourCo", "username"),
    ("twitter", "mobile.twitter.com/HarbourCo", "HarbourCo", "username"),
    ("twitter", "https://www.x.com/HarbourCo?lang=en", "HarbourCo", "username"),
    ("twitter", "x.com/@HarbourCo", "HarbourCo", "username"),
    ("youtube", "@HarbourTV", "HarbourTV", "handle"),
    ("youtube", "UCaBcDeFgHiJkLmNoPqRsTuV", "UCaBcDeFgHiJkLmNoPqRsTuV", "channel_id"),
    ("youtube", "harbourtv", "harbourtv", "name"),
    ("youtube", "https://www.youtube.com/@HarbourTV", "HarbourTV", "handle"),
    ("youtube", "https://m.youtube.com/@HarbourTV/videos", "HarbourTV", "handle"),
    (
        "youtube",
        "youtube.com/channel/UCaBcDeFgHiJkLmNoPqRsTuV",
        "UCaBcDeFgHiJkLmNoPqRsTuV",
        "channel_id",
    ),
    ("youtube", "https://www.youtube.com/c/HarbourTV", "HarbourTV", "custom"),
    ("youtube", "https://www.youtube.com/user/harbourtv", "harbourtv", "username"),
    ("facebook", "HarbourSupermarkets", "HarbourSupermarkets", "username"),
    ("facebook", "harbour.supermarkets", "harbour.supermarkets", "username"),
    ("facebook", "123456789012", "123456789012", "page_id"),
    ("facebook", "https://www.facebook.com/HarbourSupermarkets", "HarbourSupermarkets", "username"),
    ("facebook", "fb.com/HarbourSupermarkets", "HarbourSupermarkets", "username"),
    ("facebook", "https://m.facebook.com/HarbourSupermarkets/", "HarbourSupermarkets", "username"),
    ("facebook", "https://facebook.com/pages/Harbour-Shop/123456789", "123456789", "page_id"),
    ("facebook", "https://www.facebook.com/profile.php?id=100064", "100064", "page_id"),
]


@pytest.mark.parametrize(("platform", "raw", "value", "kind"), ACCEPTED)
def test_accepted_forms(platform: str, raw: str, value: str, kind: str) -> None:
    handle = parse_handle(platform, raw)
    assert (handle.value, handle.kind) == (value, kind)


REJECTED = [
    ("twitter", "", "empty"),
    ("twitter", "harbour co", "spaces"),
    ("twitter", "harbour-co!", "invalid X handle"),
    ("twitter", "a" * 16, "invalid X handle"),
    ("twitter", "x" * 300, "too long"),
    ("twitter", "https://www.youtube.com/@HarbourTV", "is a YouTube URL"),
    ("twitter", "https://facebook.com/Harbour", "is a Facebook URL"),
    ("twitter", "https://example.com/Harbour", "not a X URL"),
    ("twitter", "https://x.com/search?q=harbour", "not an X account"),
    ("twitter", "https://x.com/", "names no X account"),
    ("youtube", "https://www.youtube.com/watch?v=dQw4w9WgXcQ", "video URL"),
    ("youtube", "https://youtu.be/dQw4w9WgXcQ", "video URL"),
    ("youtube", "https://www.youtube.com/shorts/abc123", "video URL"),
    ("youtube", "https://www.youtube.com/playlist?list=PL123", "not a YouTube channel"),
    ("youtube", "@ab", "invalid YouTube handle"),
    ("youtube", "@bad/handle", "invalid YouTube"),
    ("youtube", "https://x.com/HarbourCo", "is a X URL"),
    ("facebook", "https://www.facebook.com/HarbourSupermarkets/posts/123", "a post"),
    ("facebook", "https://www.facebook.com/photo.php?fbid=1", "a photo"),
    ("facebook", "https://www.facebook.com/groups/harbourfans", "a group"),
    ("facebook", "https://www.facebook.com/HarbourSupermarkets/videos/99", "a video"),
    ("facebook", "https://www.facebook.com/permalink.php?story_fbid=1&id=2", "a post"),
    ("facebook", "harbour!shop", "invalid Facebook page"),
    ("facebook", "https://www.facebook.com/profile.php", "no numeric id"),
]


@pytest.mark.parametrize(("platform", "raw", "message"), REJECTED)
def test_rejected_with_one_line_message(platform: str, raw: str, message: str) -> None:
    with pytest.raises(BadInputError) as info:
        parse_handle(platform, raw)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert info.value.exit_code == ExitCode.BAD_INPUT
