"""Settings from the environment and `.env` (prefix UPTAKE_), with secrets kept out of reprs."""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from analyser.errors import ConfigError, register_secret

__all__ = ["MAX_RPS_CEILING", "REPO_FIXTURES", "Settings", "load_settings"]

# The bundled fixtures sit beside the packages in a checkout (the Makefile installs editable).
REPO_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

# The most UPTAKE_<PLATFORM>_MAX_RPS accepts: the gate's limiter counts whole milliseconds.
MAX_RPS_CEILING = 1000.0

_CREDENTIAL_VARS = {
    "twitter": "UPTAKE_TWITTER_BEARER_TOKEN",
    "youtube": "UPTAKE_YOUTUBE_API_KEY",
    "facebook": "UPTAKE_FACEBOOK_ACCESS_TOKEN",
}


class Settings(BaseSettings):
    """Every knob uptake reads from the environment. Documented in README, "Configuration"."""

    model_config = SettingsConfigDict(
        env_prefix="UPTAKE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    twitter_bearer_token: SecretStr | None = None
    youtube_api_key: SecretStr | None = None
    facebook_access_token: SecretStr | None = None

    twitter_base_url: str = "https://api.x.com"
    youtube_base_url: str = "https://youtube.googleapis.com"
    facebook_base_url: str = "https://graph.facebook.com"
    facebook_api_version: str = "v26.0"

    home: Path = Field(default_factory=lambda: Path(user_data_dir("uptake", appauthor=False)))
    database_url: str | None = None
    fixtures_dir: Path = REPO_FIXTURES

    http_timeout_s: float = Field(default=20.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=10)
    max_rate_limit_wait_s: float = Field(default=900.0, ge=0)
    youtube_comment_sample: int = Field(default=10, ge=0, le=50)
    # Top-level comments read inline with each Facebook post (0: counts only, no thread sample).
    facebook_comment_sample: int = Field(default=10, ge=0, le=100)
    # Recent Facebook posts with comments beyond the inline sample whose comments edge is read
    # too, one request each (0: none, the cost stays 1 + ceil(N/100)).
    facebook_comment_pages: int = Field(default=0, ge=0, le=1000)
    # Requests per second all workers of a platform share (unset: no proactive limit, only the
    # platform's own "come back later" headers slow us down). 0.3 keeps X's user lookups under
    # its 300 per 15 minutes; a gateway with its own limit gets that limit.
    twitter_max_rps: float | None = Field(
        default=None, gt=0, le=MAX_RPS_CEILING, allow_inf_nan=False
    )
    youtube_max_rps: float | None = Field(
        default=None, gt=0, le=MAX_RPS_CEILING, allow_inf_nan=False
    )
    facebook_max_rps: float | None = Field(
        default=None, gt=0, le=MAX_RPS_CEILING, allow_inf_nan=False
    )

    @field_validator("twitter_base_url", "youtube_base_url", "facebook_base_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("twitter_max_rps", "youtube_max_rps", "facebook_max_rps", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # `UPTAKE_TWITTER_MAX_RPS=` in .env means no limit, as leaving the line out does.
        return None if isinstance(value, str) and not value.strip() else value

    def max_rps(self, platform: str) -> float | None:
        """The platform's UPTAKE_<PLATFORM>_MAX_RPS, or None for no proactive limit."""
        rate: float | None = getattr(self, f"{platform}_max_rps")
        return rate

    def credential(self, platform: str) -> str:
        """The platform's secret, or a ConfigError naming the variable to set."""
        secret: SecretStr | None = getattr(self, _credential_field(platform))
        if secret is None or not secret.get_secret_value().strip():
            var = _CREDENTIAL_VARS[platform]
            raise ConfigError(
                f"{platform} needs {var} for live requests: set it in the environment or .env "
                "(see .env.example), or use --offline to replay the bundled fixtures"
            )
        return secret.get_secret_value().strip()

    def base_url(self, platform: str) -> str:
        url: str = getattr(self, f"{platform}_base_url")
        return url

    @property
    def database(self) -> str:
        """SQLAlchemy URL of the results database: UPTAKE_DATABASE_URL or SQLite in UPTAKE_HOME."""
        return self.database_url or f"sqlite:///{self.home / 'uptake.sqlite3'}"


def _credential_field(platform: str) -> str:
    return _CREDENTIAL_VARS[platform].removeprefix("UPTAKE_").lower()


def _one_line(exc: ValidationError) -> str:
    """`invalid setting twitter_max_rps (UPTAKE_TWITTER_MAX_RPS='0'): should be greater than 0`:
    the field (as load_settings takes it) and the variable, every problem on one line; the values
    of credentials are never repeated."""
    problems = []
    for error in exc.errors():
        field_name = ".".join(str(part) for part in error["loc"])
        var = f"UPTAKE_{field_name.upper()}"
        message = error["msg"].removeprefix("Value error, ").replace("Input should", "should")
        value = "" if var in _CREDENTIAL_VARS.values() else f"={error['input']!r}"
        problems.append(f"{field_name} ({var}{value}): {message}")
    return "invalid setting " + "; ".join(problems)


def load_settings(**overrides: object) -> Settings:
    """Read settings and register every secret for redaction before anything can log it."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None
    for platform in _CREDENTIAL_VARS:
        secret: SecretStr | None = getattr(settings, _credential_field(platform))
        if secret is not None:
            register_secret(secret.get_secret_value())
    return settings
