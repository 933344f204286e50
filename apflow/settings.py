"""Settings from the environment (APFLOW_*), with defaults that run on one
machine with nothing but Python: a local Temporal dev server, SQLite files
and an outbox folder under ./var."""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

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
    policy: PolicySettings = PolicySettings()

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
