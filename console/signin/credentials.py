"""What a local account proves itself with: a password, hashed by Argon2
(argon2-cffi's defaults, RFC 9106's recommended profile), and a time-based
one-time code (TOTP, RFC 6238) from an authenticator app."""
from __future__ import annotations

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

ISSUER = "apflow"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str) -> str:
    """What an authenticator app scans to hold the secret."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def current_code(secret: str) -> str:
    return pyotp.TOTP(secret).now()


def code_matches(secret: str | None, code: str) -> bool:
    """The code of this 30-second step, or the one either side (clocks drift)."""
    if not secret or not code.strip().isdigit():
        return False
    return pyotp.TOTP(secret).verify(code.strip(), valid_window=1)
