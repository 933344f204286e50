"""Settings from the environment (APFLOW_*), with defaults that run on one
machine with nothing but Python: a local Temporal dev server, SQLite files
and an outbox folder under ./var."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from domain.attendance import AttendanceSettings
from domain.settings import PolicySettings


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="APFLOW_", env_nested_delimiter="__")

    var_dir: Path = Path("var")
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    task_queue: str = "apflow-placements"
    database_url: str | None = None  # SQLite under var_dir when unset
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Key for the payload codec (URL-safe base64, 32 bytes). A dev key is made
    # under var_dir on first use; production sets it from a secret store.
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
    # How long the API waits for Temporal to answer a write before saying its
    # outcome is unknown (503: retry with the same Idempotency-Key).
    api_wait_s: float = Field(30, gt=0)
    # The largest request body the API reads, and the largest document copy uploaded.
    max_request_bytes: int = 1_000_000
    max_upload_bytes: int = 5_000_000
    policy: PolicySettings = PolicySettings()
    attendance: AttendanceSettings = AttendanceSettings()

    @cached_property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.var_dir / 'apflow.db').resolve()}"

    @cached_property
    def codec_key(self) -> bytes:
        if self.payload_key:
            return self.payload_key.encode()
        from cryptography.fernet import Fernet

        path = self.var_dir / "payload.key"
        if not path.exists():
            self.var_dir.mkdir(parents=True, exist_ok=True)
            path.write_bytes(Fernet.generate_key())
            path.chmod(0o600)
        return path.read_bytes().strip()

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

    @cached_property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.api_host}:{self.api_port}").rstrip("/")
