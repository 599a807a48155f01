"""Settings for gmc: one class, environment variables prefixed GMC_."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: The development secret; production refuses to start with it.
DEFAULT_SECRET_KEY = "gmc-development-secret-key-do-not-use-in-production"
MIN_SECRET_KEY_LENGTH = 32
#: The development key of research pseudonyms; production refuses it (each deployment sets its own).
DEFAULT_RESEARCH_KEY = "gmc-development-research-key-do-not-use-in-production"
#: The development key of the audit trail's HMAC; production refuses to start with it.
DEFAULT_AUDIT_KEY = "gmc-development-audit-key-do-not-use-in-production"

_REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigurationError(RuntimeError):
    """A setting is missing or unsafe; the message names the environment variable."""


def _default_refdata() -> Path | None:
    """Finds ../shared/refdata beside the working directory or the source checkout (None: use data_dir/refdata)."""
    for base in (Path.cwd(), _REPO_ROOT):
        candidate = (base / ".." / "shared" / "refdata").resolve()
        if candidate.is_dir():
            return candidate
    return None


class Settings(BaseSettings):
    """Runtime configuration, read from GMC_* environment variables (and a .env file)."""

    model_config = SettingsConfigDict(env_prefix="GMC_", env_file=".env", extra="ignore")

    #: development, test or production; production enforces safe secrets and secure cookies.
    environment: str = "development"
    #: SQLAlchemy URL; SQLite under ./var by default, postgresql+psycopg://... for PostgreSQL.
    database_url: str = ""
    #: How long a SQLite writer waits for the one write lock before its request gets 503 "busy, try again".
    sqlite_busy_seconds: float = Field(default=30, gt=0)
    #: How long a request waits in the queue for a database session (as many at once as the pool has connections)
    #: before it gets 503 "busy, try again".
    db_queue_seconds: float = Field(default=60, gt=0)
    #: Host names the server answers to (comma-separated; "*" = any, refused in production): a request with
    #: another Host header gets 400 before anything reads it.
    allowed_hosts: str = "*"
    #: Cohort allele counts below this are shown as suppressed (small counts could single out a person).
    cohort_min_count: int = Field(default=5, ge=1)
    #: The largest request body a route takes, unless it names a larger limit (413 past it).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    #: The largest file an import route takes (participant, sample and HPO CSVs, PED, HL7, FHIR).
    max_import_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    #: Import files larger than this run as background jobs (202 with a job to follow) instead of in the request.
    import_job_bytes: int = Field(default=256 * 1024, ge=0)
    #: Background jobs run at once per server process (each is one import transaction).
    job_workers: int = Field(default=1, ge=1, le=8)
    #: Where gmc keeps its own files (variant store, uploads, caches).
    data_dir: Path = Path("var")
    #: Reference data directory (transcripts, ClinVar, HPO, panels, cancer knowledge): ../shared/refdata when it
    #: exists beside the checkout, else data_dir/refdata, where `gmc refdata fetch` installs it.
    refdata: Path | None = Field(default_factory=_default_refdata)
    #: Folder holding benchmarks/ with the demo's genomes, tumours and phenopackets (default: GMC_REFDATA's parent,
    #: which is ../shared beside this project's checkouts); without it the demo loads no genomes and says so.
    demo_data: Path | None = None
    #: Signs session cookies and CSRF tokens.
    secret_key: str = DEFAULT_SECRET_KEY
    #: Keys the audit trail's HMAC chain; kept outside the database (GMC_AUDIT_KEY, 32+ characters in production).
    audit_key: str = DEFAULT_AUDIT_KEY
    #: Earlier audit keys (comma-separated) still accepted when verifying events written before a key change.
    audit_old_keys: str = ""
    #: Append-only file of audit chain checkpoints (default: <data_dir>/audit/checkpoints.jsonl).
    audit_checkpoint_file: Path | None = None
    #: Also send each checkpoint to syslog: "/dev/log", "udp://host:514" or "tcp://host:514" ("" = off).
    audit_syslog: str = ""
    #: Send cookies only over HTTPS (defaults to on in production).
    cookie_secure: bool | None = None
    #: Web session lifetime in minutes.
    session_minutes: int = 8 * 60
    #: Failed sign-ins in a row that are free per account name and per client address; the first one after them
    #: makes the next attempt wait GMC_LOGIN_FIRST_DELAY_SECONDS, each further one twice as long, up to
    #: GMC_LOGIN_MAX_DELAY_SECONDS. Failures are forgotten GMC_LOGIN_FAILURE_WINDOW_MINUTES after the last one
    #: (an account's also at a successful sign-in).
    login_free_failures: int = Field(default=5, ge=1)
    login_address_free_failures: int = Field(default=20, ge=1)
    login_first_delay_seconds: int = Field(default=1, ge=1)
    login_max_delay_seconds: int = Field(default=900, ge=1)
    login_failure_window_minutes: int = Field(default=60, ge=1)
    #: The longest an API token may live; tokens asked for longer are refused, older ones stop at this age.
    token_max_days: int = Field(default=90, ge=1)
    #: Lifetime of the token the OAuth2 password endpoint (/api/auth/token) hands out.
    api_login_token_hours: int = Field(default=12, ge=1)
    #: Variant store query engine: duckdb (a centre) or spark (national scale).
    variant_engine: str = "duckdb"
    #: Where the Spark engine's jobs run: local[n] (in this process), spark://host:port (a standalone cluster),
    #: yarn or k8s://https://host:port. Ignored when GMC_SPARK_REMOTE is set.
    spark_master: str = "local[2]"
    #: A Spark Connect server (sc://host:15002) to send the Spark engine's queries to instead ("" = use
    #: GMC_SPARK_MASTER).
    spark_remote: str = ""
    #: Extra Spark settings for the sessions gmc opens, "key=value,..." (e.g. spark.executor.memory=4g).
    spark_conf: str = ""
    #: Root of the variant stores (one folder per build) as a path or a URI both Spark and Arrow read
    #: (file://, s3a://, gs://, hdfs://); default data_dir/variant_store. Ingest writes need a local path.
    store_uri: str = ""
    #: GRCh38 genome FASTA (faidx-indexed, plain or bgzipped) for HGVS and codon-level annotation; by default the
    #: one in GMC_REFDATA/grch38/sequence. "none" turns sequence off (descriptions that need it are withheld).
    reference_fasta: Path | None = None
    #: The same for GRCh37 (default: a FASTA in GMC_REFDATA/grch37/sequence, when there is one).
    reference_fasta_grch37: Path | None = None
    #: The HPO release scored against: "package" (the release hpo3 ships) or a date whose files are in
    #: GMC_REFDATA/hpo/hpo_<release>_{hp.obo,phenotype.hpoa,genes_to_phenotype.txt}[.gz].
    hpo_release: str = "package"
    #: Compact a variant store once this many datasets sit outside its segments (0: only by `gmc variants compact`).
    compact_after: int = 50
    #: Seconds a variant store keeps the files a compaction or merge replaced, for readers holding the previous
    #: manifest; removed by a later writer (ingest, compact, merge) after that (0: removed at once).
    store_retention_seconds: float = Field(default=3600, ge=0)
    #: Merge a variant store's segments once this many adjacent ones are within this factor of each other in bytes.
    store_merge_fanout: int = Field(default=10, ge=2)
    #: Optional population frequency sites files (VCF or Parquet), comma-separated.
    frequency_files: str = ""
    #: Callable territory per sequencing assay for TMB, NAME=megabases comma-separated (e.g. TSO500=1.33,WES=35.8).
    tmb_assays: str = ""
    #: In-silico score sites VCFs for ACMG PP3/BP4, "kind:path,..." with kind revel, cadd or spliceai.
    score_files: str = ""
    #: Named folders web requests may name input files in: NAME=PATH[@CENTRE], comma-separated (a folder bound
    #: to a centre serves only its staff). Requests name files as <folder>:<path> or upload them (gmc.files).
    import_folders: str = ""
    #: Log level for the JSON logs.
    log_level: str = "INFO"
    #: Key of the keyed-HMAC research ids (research, family, sample): set per deployment, kept out of the database.
    research_key: str = DEFAULT_RESEARCH_KEY
    #: GA4GH Beacon v2: the finest answer given (boolean or count; counts of 1-9 are always suppressed).
    beacon_granularity: Literal["count", "boolean"] = "count"
    #: Who may query the Beacon: registered (signed-in users with beacon access) or public (anyone, boolean only).
    beacon_security: Literal["registered", "public"] = "registered"
    #: The Beacon's id in a Beacon network (a reversed domain name).
    beacon_id: str = "org.gmc.beacon"

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        """Derives the default database URL and cookie policy from the other settings."""
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'gmc.db').resolve()}"
        if self.refdata is None:
            self.refdata = self.data_dir / "refdata"
        if self.cookie_secure is None:
            self.cookie_secure = self.is_production
        if self.audit_checkpoint_file is None:
            self.audit_checkpoint_file = self.data_dir / "audit" / "checkpoints.jsonl"
        return self

    @property
    def is_production(self) -> bool:
        """True when running as a production service."""
        return self.environment.lower() in {"production", "prod"}

    def check_production_safety(self) -> None:
        """Refuses to run in production with a default or short secret key."""
        if not self.is_production:
            return
        if self.secret_key == DEFAULT_SECRET_KEY or len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                "GMC_SECRET_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production"
            )
        if self.audit_key == DEFAULT_AUDIT_KEY or len(self.audit_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                "GMC_AUDIT_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production (and kept: the audit chain is verified with it)"
            )
        if "*" in self.allowed_host_list():
            raise ConfigurationError("GMC_ALLOWED_HOSTS must name the server's host names in production (not *)")
        if self.audit_key == self.secret_key:
            raise ConfigurationError("GMC_AUDIT_KEY must differ from GMC_SECRET_KEY")
        if self.research_key == DEFAULT_RESEARCH_KEY or len(self.research_key) < MIN_SECRET_KEY_LENGTH:
            raise ConfigurationError(
                "GMC_RESEARCH_KEY must be set to a random value of at least "
                f"{MIN_SECRET_KEY_LENGTH} characters in production (research ids are keyed by it)"
            )
        if self.research_key == self.secret_key:
            raise ConfigurationError("GMC_RESEARCH_KEY must differ from GMC_SECRET_KEY")

    def genome_fasta(self, build: str) -> Path | None:
        """The genome FASTA of a build: GMC_REFERENCE_FASTA(_GRCH37), else the indexed FASTA in
        GMC_REFDATA/<build>/sequence; None when there is none or the setting is "none"."""
        configured = self.reference_fasta_grch37 if build == "GRCh37" else self.reference_fasta
        if configured is not None:
            return None if str(configured).lower() == "none" else Path(configured)
        if self.refdata is None:
            return None
        folder = Path(self.refdata) / build.lower() / "sequence"
        found = sorted(p for pattern in ("*.fa", "*.fa.gz", "*.fasta", "*.fasta.gz", "*.fna.gz")
                       for p in folder.glob(pattern) if Path(f"{p}.fai").is_file())
        return found[0] if found else None

    def demo_file(self, *parts: str) -> Path:
        """A path inside the demo data (GMC_DEMO_DATA, default GMC_REFDATA's parent); it may not exist."""
        base = self.demo_data if self.demo_data is not None else Path(self.refdata or self.data_dir).parent
        return Path(base).joinpath(*parts)

    def allowed_host_list(self) -> list[str]:
        """GMC_ALLOWED_HOSTS as a list."""
        return [h.strip() for h in self.allowed_hosts.split(",") if h.strip()] or ["*"]

    def refdata_dir(self) -> Path:
        """The reference-data directory, or an error naming GMC_REFDATA and the command that installs it."""
        if self.refdata is None or not Path(self.refdata).is_dir():
            from gmc.refdata.errors import MissingReferenceData

            raise MissingReferenceData.no_folder(self.refdata)
        return Path(self.refdata)

    def refdata_path(self, *parts: str) -> Path:
        """A file inside the reference-data directory; when missing, an error naming its set and how to fetch it."""
        from gmc.refdata.errors import MissingReferenceData

        if self.refdata is None:
            raise MissingReferenceData.no_folder(None)
        path = Path(self.refdata).joinpath(*parts)
        if not path.exists():
            raise MissingReferenceData.for_path(Path(self.refdata), "/".join(parts))
        return path


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()


def reset_settings_cache() -> None:
    """Forgets cached settings so a changed environment is read again (tests, CLI)."""
    get_settings.cache_clear()
