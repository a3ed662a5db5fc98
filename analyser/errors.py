"""Every public exception, grouped by what the caller should do next; the CLI maps them to exits.

Messages are one line, say what to do next, and never contain a secret: pass any text that may
hold one through `redact()` first.
"""

from __future__ import annotations

import re

__all__ = [
    "ApiError",
    "AuthError",
    "BadInputError",
    "ConfigError",
    "DataError",
    "ExitCode",
    "FixtureMissingError",
    "MalformedBodyError",
    "QuotaExceededError",
    "RateLimitError",
    "TransientError",
    "UptakeError",
    "redact",
    "register_secret",
]


class ExitCode:
    """Documented process exit codes (README, "Exit codes")."""

    OK = 0
    INTERNAL = 1  # a bug: rerun with --debug and report it
    BAD_INPUT = 2  # malformed handle, bad CSV, bad option
    CONFIG = 3  # missing credential or bad setting
    AUTH = 4  # credentials rejected or not permitted
    API = 5  # API error after bounded retries (rate limit, 5xx, timeout, malformed body)
    FIXTURE = 6  # offline replay asked for a request that was never recorded
    QUOTA = 7  # quota budget would be exceeded, or the platform quota is exhausted
    PARTIAL = 8  # batch: some brands failed, the results of the others were written


class UptakeError(Exception):
    """Root of every error uptake raises on purpose."""

    exit_code: int = ExitCode.INTERNAL

    def __init__(self, message: str) -> None:
        super().__init__(redact(" ".join(message.split())))

    @property
    def message(self) -> str:
        return str(self)


class BadInputError(UptakeError, ValueError):
    """The user gave something we cannot use (handle, file, option). Fix the input."""

    exit_code = ExitCode.BAD_INPUT


class ConfigError(UptakeError):
    """A setting or credential is missing or wrong. Fix the environment or .env."""

    exit_code = ExitCode.CONFIG


class AuthError(UptakeError):
    """The platform rejected the credentials or the app lacks access. Fatal: do not retry."""

    exit_code = ExitCode.AUTH


class ApiError(UptakeError):
    """The platform answered with an error we cannot recover from for this request."""

    exit_code = ExitCode.API


class RetriableError(ApiError):
    """Worth retrying after a pause; raised to the caller once retries are exhausted."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimitError(RetriableError):
    """Rate limited; `retry_after` (seconds) when the platform said when to come back."""


class TransientError(RetriableError):
    """5xx, timeout, dropped connection."""


class MalformedBodyError(TransientError):
    """A success whose body is not JSON at all: almost always cut short on the way (a gateway,
    a connection dropped mid-body), so it is retried like a 5xx. A body that is JSON but of the
    wrong shape is a DataError instead: asking again would bring back the same thing.
    """


class QuotaExceededError(ApiError):
    """A quota is spent (YouTube daily units) or a planned run exceeds --quota-budget."""

    exit_code = ExitCode.QUOTA


class DataError(ApiError):
    """The platform answered with JSON we cannot use (not an object, missing fields, bad values).

    A body that is not JSON at all is a MalformedBodyError (retried) instead.
    """


class FixtureMissingError(UptakeError):
    """Offline replay met a request that was never recorded. Record it or change the request."""

    exit_code = ExitCode.FIXTURE


# Secrets registered at settings load; redact() also catches common token shapes.
_SECRETS: set[str] = set()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9%._~+/=-]+"),
    # Whole parameter names only: pageToken= and pagination_token= are paging cursors, and
    # redacting them would break replay matching.
    re.compile(
        r"(?i)(?<![A-Za-z0-9_])((?:access_token|key|api_key|token|client_secret)=)[^&\s\"']+"
    ),
]


def register_secret(value: str | None) -> None:
    """Remember a secret so that redact() removes it wherever it appears."""
    if value and len(value) >= 4:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """Remove registered secrets and token-shaped strings from text meant for humans or files."""
    for secret in _SECRETS:
        text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text
