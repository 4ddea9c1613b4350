"""Settings, split by concern: each class reads its own environment prefix.

Nothing is read at import time: call :func:`get_settings` (cached) where settings are needed. Values come
from the environment, then from a ``.env`` file in the working directory (see ``.env.example``), then
from the defaults below, which suit the private cluster of ``scripts/postgres.sh``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyNetwork, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

#: The URL of the private development cluster (``scripts/postgres.sh url``).
LOCAL_DATABASE_URL = "postgresql+psycopg://wardplan@127.0.0.1:54329/wardplan"


#: The plan map: scripts, styles, images and fonts only from the app itself, plus the inline
#: scripts and styles Folium writes into the page; never framed, no plugins, no forms, no <base>.
MAP_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
#: JSON, GeoJSON, CSV, PDF and files: nothing in them may load or run anything, or be framed.
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def _config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix, env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )


class DatabaseSettings(BaseSettings):
    """``WARDPLAN_DB_*``: where the PostGIS database is."""

    model_config = _config("WARDPLAN_DB_")

    url: str = Field(
        default=LOCAL_DATABASE_URL,
        description="SQLAlchemy URL; the driver must be psycopg 3 (postgresql+psycopg://).",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")
    pool_size: int = Field(default=5, ge=1, le=100)

    @field_validator("url")
    @classmethod
    def _psycopg_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a database URL (postgresql+psycopg://user@host:port/db)") from exc
        if url.drivername != "postgresql+psycopg":
            raise ValueError(
                f"driver {url.drivername!r}: use postgresql+psycopg:// (PostgreSQL with psycopg 3)"
            )
        if not url.database:
            raise ValueError("the URL names no database")
        return value


class SolverSettings(BaseSettings):
    """``WARDPLAN_SOLVER_*``: defaults for solves the service runs."""

    model_config = _config("WARDPLAN_SOLVER_")

    time_limit: float = Field(
        default=60.0, gt=0, le=3600, description="Default seconds a solve may use in all."
    )
    name: Literal["highs", "cbc"] = Field(default="highs", description="MIP solver backend.")


class JobSettings(BaseSettings):
    """``WARDPLAN_JOBS_*``: the solve workers (``wardplan worker``) and their queue."""

    model_config = _config("WARDPLAN_JOBS_")

    concurrency: int = Field(default=1, ge=1, le=64, description="Solves one worker runs at once.")
    heartbeat_s: float = Field(
        default=10.0, gt=0, le=300, description="How often a worker says it is alive."
    )
    stalled_after_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A worker silent this long is dead: its running jobs are queued again.",
    )
    grace_s: float = Field(
        default=60.0,
        ge=0,
        le=3600,
        description="Seconds beyond a job's time limit before the watchdog kills its solver.",
    )
    poll_s: float = Field(
        default=1.0, gt=0, le=60, description="How often a running job looks for a cancellation."
    )
    room_s: float = Field(
        default=120.0,
        ge=0,
        le=3600,
        description="Seconds a job has, besides its time limit and grace, for the work around "
        "the solve (starting, reading the wards, storing the plan); past time limit + room + "
        "grace the job is failed and its solver killed.",
    )
    shutdown_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a worker asked to stop (SIGTERM, SIGINT) has to hand its jobs back; "
        "then it kills its solves and exits (their jobs are recovered as stalled). A second "
        "signal exits at once.",
    )
    db_wait_s: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a worker waits for a database connection before it counts the "
        "database as gone (and starts again once it is back).",
    )
    max_active_per_key: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Jobs one API key may have queued or running at once; more is 429.",
    )


class ApiSettings(BaseSettings):
    """``WARDPLAN_API_*``: the HTTP service."""

    model_config = _config("WARDPLAN_API_")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    sync_time_limit: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description="POST /allocate with a longer time limit is answered with a job (202).",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024 * 1024, gt=0, description="Largest request body accepted (bytes)."
    )
    body_timeout_s: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="Seconds a client has to send a request body (slow clients, slowloris), "
        "extended by what it sends at body_min_rate; beyond it 408 and nothing is stored.",
    )
    body_min_rate: int = Field(
        default=50_000,
        ge=0,
        description="Bytes a second of body that earn a client more time (each byte received "
        "adds 1/body_min_rate s to body_timeout_s); 0: the timeout is for the whole body.",
    )
    map_csp: str = Field(
        default=MAP_CSP,
        description="Content-Security-Policy of HTML pages (the plan map): its assets from the "
        "app itself, the inline scripts Folium writes. A base-tile server (WARDPLAN_MAP_TILES) "
        "must be added to img-src here.",
    )
    api_csp: str = Field(
        default=API_CSP, description="Content-Security-Policy of every other response."
    )
    rate_per_minute: int = Field(
        default=600,
        ge=1,
        le=100_000,
        description="Requests a minute one client (API key, else address) may send, counted "
        "in the database for all API processes together; beyond it 429 with Retry-After.",
    )
    link_secret: SecretStr | None = Field(
        default=None,
        description="Key of the signed map links (a browser cannot send an API key). Unset: a "
        "random one per process, so links stop working when the API restarts; set it (≥ 32 "
        "characters) when several API processes serve the same links.",
    )
    link_ttl_s: int = Field(
        default=7 * 24 * 3600, gt=0, le=90 * 24 * 3600, description="How long a map link works."
    )

    @field_validator("link_secret")
    @classmethod
    def _long_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            raise ValueError("WARDPLAN_API_LINK_SECRET must have at least 32 characters")
        return value


class MapSettings(BaseSettings):
    """``WARDPLAN_MAP_*``: the plan map. No base tiles by default (offline networks)."""

    model_config = _config("WARDPLAN_MAP_")

    tiles: str | None = Field(
        default=None,
        description="Tile URL template added as a base layer, e.g. http://tiles.local/{z}/{x}/{y}.png",
    )
    tiles_attribution: str = Field(default="", description="Attribution shown for those tiles.")

    @field_validator("tiles")
    @classmethod
    def _template(cls, value: str | None) -> str | None:
        from gis.maps import tile_template_problem  # here: settings stay cheap to import

        if value is not None and (problem := tile_template_problem(value)):
            raise ValueError(problem)
        return value


class ProxySettings(BaseSettings):
    """``WARDPLAN_PROXY_*``: the reverse proxies in front of the API (``app.api.proxies``)."""

    model_config = _config("WARDPLAN_PROXY_")

    trusted: Annotated[list[IPvAnyNetwork], NoDecode] = Field(
        default_factory=list,
        description="Addresses or networks of the reverse proxies whose X-Forwarded-For is "
        "believed, comma-separated (e.g. 10.0.0.5,172.18.0.0/16). Empty (the default): the "
        "header is ignored and a client is its direct peer's address.",
    )

    @field_validator("trusted", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value


class Settings(BaseModel):
    """All settings, one attribute per concern."""

    model_config = ConfigDict(frozen=True)

    db: DatabaseSettings
    solver: SolverSettings
    api: ApiSettings
    jobs: JobSettings
    map: MapSettings = Field(default_factory=MapSettings)
    proxy: ProxySettings = Field(default_factory=ProxySettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Read the settings once (environment, then ``.env``, then defaults) and keep them.

    Tests that change the environment call ``get_settings.cache_clear()``.
    """
    return Settings(
        db=DatabaseSettings(),
        solver=SolverSettings(),
        api=ApiSettings(),
        jobs=JobSettings(),
        map=MapSettings(),
        proxy=ProxySettings(),
    )
