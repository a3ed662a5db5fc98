"""Graph API responses: usage headers, and one table from Graph error code to what to do next."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import httpx

from analyser.errors import (
    ApiError,
    AuthError,
    DataError,
    MalformedBodyError,
    RateLimitError,
    TransientError,
)

__all__ = [
    "PPCA",
    "GraphUsage",
    "PageMissing",
    "as_int",
    "graph_error",
    "parse_response",
    "parse_usage",
]

PPCA = (
    "reading pages you do not manage needs the Page Public Content Access feature "
    "(App Review) or a Page access token with pages_read_engagement"
)
_TOKEN_VAR = "UPTAKE_FACEBOOK_ACCESS_TOKEN"
_RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001})
_TRANSIENT_CODES = frozenset({1, 2})
_AUTH_CODES = frozenset({102, 190})


class GraphUsage:
    """What Graph's usage headers say: the highest percentage used, and when access returns."""

    def __init__(self, max_pct: float | None, regain_s: float | None) -> None:
        self.max_pct = max_pct
        self.regain_s = regain_s

    def describe(self) -> str:
        parts = []
        if self.max_pct is not None:
            parts.append(f"usage at {self.max_pct:.0f}% of the limit")
        if self.regain_s:
            parts.append(f"access returns in about {math.ceil(self.regain_s / 60)} min")
        return ", ".join(parts)


def parse_usage(headers: Mapping[str, str]) -> GraphUsage:
    """Read X-App-Usage, X-Page-Usage and X-Business-Use-Case-Usage.

    Values are percentages of the limit; `estimated_time_to_regain_access` is in minutes.
    Malformed headers are ignored: they must not fail a request that otherwise worked.

    >>> parse_usage({"x-app-usage": '{"call_count": 95, "total_time": 3}'}).max_pct
    95.0
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    buckets: list[Mapping[str, Any]] = []
    for name in ("x-app-usage", "x-page-usage", "x-ad-account-usage"):
        doc = _json_header(lowered.get(name))
        if isinstance(doc, dict):
            buckets.append(doc)
    buc = _json_header(lowered.get("x-business-use-case-usage"))
    if isinstance(buc, dict):
        for entries in buc.values():
            if isinstance(entries, list):
                buckets.extend(e for e in entries if isinstance(e, dict))
    pcts: list[float] = []
    regain: list[float] = []
    for bucket in buckets:
        for key in ("call_count", "total_cputime", "total_time", "acc_id_util_pct"):
            value = bucket.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                pcts.append(float(value))
        minutes = bucket.get("estimated_time_to_regain_access")
        if isinstance(minutes, int | float) and not isinstance(minutes, bool) and minutes > 0:
            regain.append(float(minutes) * 60.0)
    return GraphUsage(max(pcts) if pcts else None, max(regain) if regain else None)


def _json_header(value: str | None) -> Any:
    if not value:
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


class PageMissing(Exception):
    """Graph says the page does not exist (803, 100/33): a finding, not a failure."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def parse_response(response: httpx.Response, path: str, usage: GraphUsage) -> dict[str, Any]:
    """The JSON body of a success, or the exception its Graph error code calls for.

    A 2xx body that is not JSON at all was most likely cut short on the way and is retried
    (MalformedBodyError); JSON of the wrong shape would come back the same and is not.
    """
    not_json = False
    try:
        body = response.json()
    except ValueError:  # JSONDecodeError, or UnicodeDecodeError of a cut-off body
        body, not_json = None, True
    status = response.status_code
    if status < 400 and isinstance(body, dict) and "error" not in body:
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        raise graph_error(status, error, path, usage)
    if status >= 500:
        raise TransientError(f"Graph answered GET {path} with HTTP {status}")
    if status == 429:
        raise RateLimitError(f"Graph rate limit on GET {path} (HTTP 429)", retry_after=None)
    if status in (401, 403):
        raise AuthError(f"Graph refused GET {path} (HTTP {status}): check {_TOKEN_VAR}")
    if status >= 400:
        raise ApiError(f"Graph answered GET {path} with HTTP {status}")
    if not_json and 200 <= status < 300:
        raise MalformedBodyError(f"Graph answered GET {path} with a body that is not JSON")
    raise DataError(f"Graph answered GET {path} with a body that is not a JSON object")


def graph_error(status: int, error: dict[str, Any], path: str, usage: GraphUsage) -> Exception:
    """One table from Graph error code to what the caller should do next."""
    code = as_int(error.get("code"))
    subcode = as_int(error.get("error_subcode"))
    message = " ".join(str(error.get("message", "")).split())[:200]
    label = f"#{code}" + (f"/{subcode}" if subcode is not None else "")
    if code in _AUTH_CODES:
        return AuthError(
            f"Graph rejected the access token ({label}: {message}): it is invalid or expired; "
            f"set a valid {_TOKEN_VAR}"
        )
    if code == 10 or (code is not None and 200 <= code <= 299):
        return AuthError(f"Graph denied permission ({label}: {message}): {PPCA}")
    if code in _RATE_LIMIT_CODES:
        detail = usage.describe()
        return RateLimitError(
            f"Graph rate limit ({label}: {message})" + (f"; {detail}" if detail else ""),
            retry_after=usage.regain_s,
        )
    if code in _TRANSIENT_CODES or error.get("is_transient") is True:
        return TransientError(f"Graph had a temporary problem ({label}: {message})")
    if code == 803 or (code == 100 and subcode == 33):
        return PageMissing(f"Graph knows no page by this name or id ({label}: {message})")
    if code == 100 and "node type (User)" in message:
        return PageMissing("this is a personal profile, not a Facebook Page")
    if code == 100 and ("permission" in message.lower() or "Public Content Access" in message):
        return AuthError(f"Graph denied access ({label}: {message}): {PPCA}")
    if status >= 500:
        return TransientError(f"Graph answered GET {path} with HTTP {status} ({label}: {message})")
    return ApiError(f"Graph refused GET {path} ({label}: {message})")


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None
