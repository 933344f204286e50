"""Keys for what sign-in signs or seals in a browser's cookies, derived from
the service's link secrets (`Settings.link_secrets`, newest last), one per
purpose: a signature made for one use is worthless for another, and rotating
the link secret rotates these too."""
from __future__ import annotations

import base64
import hashlib
import hmac

from apflow.settings import Settings


def derived(settings: Settings, purpose: str) -> list[bytes]:
    """32-byte keys for `purpose`, oldest first, the newest last (it signs)."""
    return [hmac.new(secret.encode(), f"apflow sign-in: {purpose}".encode(), hashlib.sha256).digest()
            for secret in settings.link_secrets]


def fernet_keys(settings: Settings, purpose: str) -> list[bytes]:
    """The same keys as Fernet wants them (URL-safe base64), newest first."""
    return [base64.urlsafe_b64encode(k) for k in reversed(derived(settings, purpose))]
