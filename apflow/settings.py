"""Settings from the environment (APFLOW_*), with defaults that run on one
machine with nothing but Python: a local Temporal dev server, SQLite files
and an outbox folder under ./var.

This is the one place the environment is read: the worker, the API and the
activities are handed a `Settings` (or the parts they need) by whoever
builds them, and the file readers (`apflow.calendars`, `apflow.directory`,
`apflow.attendance_codes`) are given the path to read.
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from apflow.directory import school_contacts
from documents import DeliverySettings
from domain.attendance import AttendanceSettings
from domain.directory import SchoolContacts
from domain.models import School
from domain.settings import PolicySettings

REPOSITORY = Path(__file__).resolve().parent.parent

if TYPE_CHECKING:
    from temporalio.service import TLSConfig


class _MailVariables(EnvSettingsSource):
    """`mail` from APFLOW_MAIL_MODE, APFLOW_MAIL_SMTP_HOST, …: one underscore,
    the names deployments already set, rather than APFLOW_MAIL__MODE."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(_MailEnvironment, env_prefix="APFLOW_MAIL_")

    def __call__(self) -> dict[str, Any]:
        found = super().__call__()
        return {"mail": found} if found else {}


class _MailEnvironment(BaseSettings, DeliverySettings):
    """DeliverySettings' fields, for `_MailVariables` to look up."""


class SignInSettings(BaseModel):
    """How people sign in and how long it lasts (APFLOW_SIGNIN__*)."""

    # A session ends after this long unused, and at this age whatever happens.
    session_idle_minutes: int = Field(30, ge=1)
    session_lifetime_hours: int = Field(10, ge=1)
    # The session cookie is `Secure` (browsers keep it for https and for localhost).
    cookie_secure: bool = True
    api_token_lifetime_days: int = Field(90, ge=1)
    password_reset_minutes: int = Field(60, ge=5)
    # Failed sign-ins allowed for one account (or from one address) in the window.
    max_failures: int = Field(5, ge=1)
    failure_window_minutes: int = Field(15, ge=1)
    # Identity asserted by a sign-in proxy in X-User/X-Role/X-School is
    # believed only with this secret in X-Proxy-Secret; unset, it is refused.
    trusted_proxy_secret: str | None = None
    # The trust's OpenID provider (Microsoft Entra ID, Google, ...): its issuer
    # URL (discovery at /.well-known/openid-configuration) and this client.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = None
    oidc_label: str = "Sign in with your trust account"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APFLOW_", env_nested_delimiter="__")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _MailVariables(settings_cls), dotenv_settings, file_secret_settings

    # Where this runs. Outside development apflow refuses to serve with a
    # secret missing, made for development or copied from an example, and
    # with the embedded register, the outbox or Temporal without mutual TLS
    # unless each is allowed below (`refusals`).
    environment: Literal["development", "production"] = "development"
    allow_embedded_register: bool = False
    allow_outbox_mail: bool = False
    allow_plain_temporal: bool = False
    var_dir: Path = Path("var")
    temporal_address: str = "127.0.0.1:7233"
    # Mutual TLS to Temporal's frontend, for every connection apflow makes:
    # the CA that signed the frontend's certificate, and this process's own
    # certificate and key (PEM files; `apflow certs make` makes them all).
    # The server name is the one in the frontend's certificate, when it is
    # not the address's host.
    temporal_tls_ca_file: Path | None = None
    temporal_tls_cert_file: Path | None = None
    temporal_tls_key_file: Path | None = None
    temporal_tls_server_name: str | None = None
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    task_queue: str = "apflow-placements"
    database_url: str | None = None  # SQLite under var_dir when unset
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Key for the payload codec (URL-safe base64, 32 bytes). A dev key is made
    # under var_dir on first use; production sets it from a secret store.
    # Several, comma-separated, rotate it: the last encrypts new payloads,
    # every one still decrypts old ones.
    payload_key: str | None = None
    # Signs the links in requests to providers. A dev secret is made under
    # var_dir on first use; production sets it. Several, comma-separated,
    # rotate it: the last signs new links, every one still verifies old links.
    link_secret: str | None = None
    # Where providers and staff reach the API: the start of every link in a
    # letter (http://api_host:api_port when unset).
    public_url: str | None = None
    # Activities one worker runs at once; its thread pool has as many threads.
    worker_activity_slots: int = Field(16, ge=1)
    # Worker processes `apflow up` starts beside the API, each its own process
    # (and GIL) polling the one task queue.
    worker_processes: int = Field(1, ge=1)
    # Open placements a worker keeps in memory (the SDK's default): one evicted
    # from the cache replays its whole history at its next event.
    worker_cache_size: int = Field(1000, ge=0)
    # How long a placement's next task waits for the worker that holds it in
    # memory before any worker may take it (replaying its history): after a
    # worker dies, its placements move on this much sooner than the SDK's 10 s.
    worker_sticky_wait_s: float = Field(3.0, gt=0, le=60)
    # On its first start with the embedded register (no database_url) and no
    # accounts, `apflow up` fills it with the demo's invented people and
    # placements, and prints how they sign in. Never with a real database.
    demo_on_first_start: bool = True
    # How much `apflow up` logs (the API in its process, the workers in theirs).
    log_level: str = "WARNING"
    # How long the API waits for Temporal to answer a write before saying its
    # outcome is unknown (503: retry with the same Idempotency-Key).
    api_wait_s: float = Field(30, gt=0)
    # The largest request body the API reads, and the largest document copy uploaded.
    max_request_bytes: int = 1_000_000
    max_upload_bytes: int = 5_000_000
    # Monitoring and the Temporal Web UI (README, "Metrics" and "Reading
    # histories in the Temporal Web UI"). The API's /metrics answers only
    # `Authorization: Bearer <metrics_token>`; unset, it is off and refused.
    metrics_token: str | None = Field(None, min_length=16)
    # Each worker serves the Temporal SDK's metrics and apflow's activity
    # counts at http://<host>:<port>/metrics; 0 is off. `apflow up` gives its
    # i-th worker port + i, so several on one machine do not collide.
    worker_metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(0, ge=0, le=65535)
    # The one site whose pages may call the codec endpoint with a session:
    # the Temporal Web UI's origin (the dev server's UI when unset).
    temporal_ui_origin: str | None = Field(None, pattern=r"^https?://[A-Za-z0-9.\-\[\]:]+$")
    policy: PolicySettings = PolicySettings()
    attendance: AttendanceSettings = AttendanceSettings()
    # The trust's files, edited by the trust: each school's term dates
    # (<URN>.toml, else default.toml), who signs and receives letters, and
    # the register codes.
    calendars_dir: Path = REPOSITORY / "calendars"
    directory_file: Path = REPOSITORY / "directory" / "directory.toml"
    # Off, a placement proposed is started without its school's directory
    # entry and so never sends a letter, even once this is on again: only to
    # measure the engine alone (`bench.lifecycle --letters off`).
    letters: bool = True
    attendance_codes: Path = REPOSITORY / "attendance" / "codes.toml"
    # The census's reasons for placement and AP setting types, edited by the trust.
    census_codes: Path = REPOSITORY / "census" / "codes.toml"
    # The trust's own versions of letter templates, searched before the package's.
    templates_dir: Path | None = None
    # The mail relay or the outbox (APFLOW_MAIL_*); the outbox is under
    # var_dir unless APFLOW_MAIL_OUTBOX_DIR says otherwise.
    mail: DeliverySettings = DeliverySettings()
    signin: SignInSettings = SignInSettings()

    @field_validator("temporal_tls_ca_file", "temporal_tls_cert_file", "temporal_tls_key_file",
                     "temporal_tls_server_name", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # An env file's `NAME=` means none, not the current folder.
        return None if value == "" else value

    @model_validator(mode="after")
    def _client_certificate_whole(self) -> Settings:
        if (self.temporal_tls_cert_file is None) != (self.temporal_tls_key_file is None):
            raise ValueError("APFLOW_TEMPORAL_TLS_CERT_FILE and APFLOW_TEMPORAL_TLS_KEY_FILE go together: set both or neither")
        return self

    @model_validator(mode="after")
    def _outbox_under_var_dir(self) -> Settings:
        if "outbox_dir" not in self.mail.model_fields_set:
            self.mail = self.mail.model_copy(update={"outbox_dir": self.var_dir / "outbox"})
        return self

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'apflow.db').resolve()}"

    @cached_property
    def codec_keys(self) -> list[bytes]:
        if self.payload_key:
            return [k.strip().encode() for k in self.payload_key.split(",") if k.strip()]
        from cryptography.fernet import Fernet

        path = self.var_dir / "payload.key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        return [path.read_bytes().strip()]

    @cached_property
    def link_secrets(self) -> list[str]:
        if self.link_secret:
            return [k.strip() for k in self.link_secret.split(",") if k.strip()]
        import secrets

        path = self.var_dir / "link.secret"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return [path.read_text().strip()]

    def letters_from(self, school: School) -> SchoolContacts | None:
        """The directory entry a new placement at `school` carries and sends
        its letters from (re-read: the trust edits the file); None with letters off."""
        return school_contacts(school, self.directory_file) if self.letters else None

    @cached_property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")

    @cached_property
    def ui_origin(self) -> str:
        """The Temporal Web UI's origin, as a browser sends it in `Origin`."""
        host = self.temporal_address.rsplit(":", 1)[0]
        return (self.temporal_ui_origin or f"http://{host}:{self.temporal_ui_port}").rstrip("/").lower()

    @property
    def temporal_tls(self) -> TLSConfig | bool:
        """The TLS every Temporal connection uses: False (plain) unless a CA
        or a client certificate is named; a file that cannot be read is an
        error naming its variable."""
        from temporalio.service import TLSConfig

        files = {"CA": self.temporal_tls_ca_file, "CERT": self.temporal_tls_cert_file, "KEY": self.temporal_tls_key_file}
        if not any(files.values()) and self.temporal_tls_server_name is None:
            return False
        pem = {name: _read(f"APFLOW_TEMPORAL_TLS_{name}_FILE", path) for name, path in files.items()}
        return TLSConfig(server_root_ca_cert=pem["CA"], client_cert=pem["CERT"], client_private_key=pem["KEY"],
                         domain=self.temporal_tls_server_name)

    def refusals(self) -> list[str]:
        """Why this process must not serve as configured: nothing in
        development; elsewhere each secret missing, made for development,
        copied from an example or too short, and each development stand-in
        (the embedded register, the outbox, Temporal without mutual TLS) not
        explicitly allowed, each naming its variable."""
        if self.environment == "development":
            return []
        found = [
            *_weak_secrets("APFLOW_PAYLOAD_KEY", self.payload_key, self.var_dir / "payload.key", fernet=True),
            # The sign-in's cookies and forms' tokens are signed with keys
            # derived from it too (console/signin/keys.py): it is the session secret.
            *_weak_secrets("APFLOW_LINK_SECRET", self.link_secret, self.var_dir / "link.secret"),
        ]
        if self.signin.trusted_proxy_secret is not None:
            found += _weak_secrets("APFLOW_SIGNIN__TRUSTED_PROXY_SECRET", self.signin.trusted_proxy_secret, None)
        if self.db_url.startswith("sqlite") and not self.allow_embedded_register:
            found.append("APFLOW_DATABASE_URL is not set (or is SQLite): the embedded register is for development; "
                         "set it to the register's PostgreSQL, or APFLOW_ALLOW_EMBEDDED_REGISTER=true")
        elif _placeholder(_password(self.db_url)):
            found.append("APFLOW_DATABASE_URL holds the example password from deploy/env.example")
        if self.mail.mode == "outbox" and not self.allow_outbox_mail:
            found.append("APFLOW_MAIL_MODE is outbox: letters would stay in a folder; set it to smtp with the relay's "
                         "APFLOW_MAIL_SMTP_*, or APFLOW_ALLOW_OUTBOX_MAIL=true")
        if (self.temporal_tls_cert_file is None or self.temporal_tls_ca_file is None) and not self.allow_plain_temporal:
            found.append("APFLOW_TEMPORAL_TLS_CA_FILE, APFLOW_TEMPORAL_TLS_CERT_FILE and APFLOW_TEMPORAL_TLS_KEY_FILE are "
                         "needed: Temporal's frontend takes only clients with a certificate of the trust's CA "
                         "(`apflow certs make`), or APFLOW_ALLOW_PLAIN_TEMPORAL=true")
        return found


# What deploy/env.example holds in place of every secret: never a real one.
PLACEHOLDER = "change-me"
# Shorter than this, a secret can be guessed (32 random URL-safe characters are 192 bits).
MIN_SECRET_CHARS = 32


def _placeholder(value: str | None) -> bool:
    return value is not None and PLACEHOLDER in value.lower()


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).password
    except Exception:  # noqa: BLE001 - a malformed URL fails where it is used, with its own message
        return None


def _weak_secrets(variable: str, value: str | None, dev_file: Path | None, fernet: bool = False) -> list[str]:
    """What is wrong with a secret (several, comma-separated, when rotating)."""
    if not value or not value.strip(","):
        made = f" (apflow made one in {dev_file} for development)" if dev_file is not None and dev_file.exists() else ""
        return [f"{variable} is not set{made}: set it from the trust's secret store"]
    dev = dev_file.read_text().strip() if dev_file is not None and dev_file.exists() else None
    found = []
    for n, secret in enumerate((s.strip() for s in value.split(",") if s.strip()), start=1):
        which = f"{variable} (key {n})" if "," in value else variable
        if _placeholder(secret):
            found.append(f"{which} is the placeholder from deploy/env.example: make a real one")
        elif secret == dev:
            found.append(f"{which} is the development one apflow made in {dev_file}: make a new one for production")
        elif fernet and not _is_fernet_key(secret):
            found.append(f"{which} is not a Fernet key (32 bytes in URL-safe base64): make one with "
                         "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`")
        elif len(secret) < MIN_SECRET_CHARS:
            found.append(f"{which} is too short ({len(secret)} characters; at least {MIN_SECRET_CHARS}): make one with "
                         "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
    return found


def _is_fernet_key(value: str) -> bool:
    from cryptography.fernet import Fernet

    try:
        Fernet(value.encode())
    except ValueError:
        return False
    return True


def _read(variable: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as e:
        raise SystemExit(f"{variable}: cannot read {path}: {e.strerror}") from None


def refuse_unless_safe(settings: Settings) -> None:
    """Stops a serving command (the API, a worker, `apflow up`) before it
    starts when `settings.refusals()` finds anything, saying all of it."""
    found = settings.refusals()
    if found:
        raise SystemExit(f"apflow will not start in {settings.environment} (APFLOW_ENVIRONMENT):\n"
                         + "\n".join(f"  - {why}" for why in found))


def environment_for_child(**variables: str) -> dict[str, str]:
    """The environment for another apflow process this one starts with
    settings of its own (a benchmark's `apflow up`): this process's
    environment less its APFLOW_* variables, with `variables` instead."""
    import os

    return {**{k: v for k, v in os.environ.items() if not k.startswith("APFLOW_")}, **variables}
