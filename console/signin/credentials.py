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


# NCSC guidance: length rather than complexity rules; no upper limit a
# passphrase would meet (the request size limit bounds it).
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1000


def password_problem(password: str, email: str) -> str | None:
    """What is wrong with `password` as a new password for `email`, if anything."""
    if not password:
        return "Enter a new password"
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Password must be {MIN_PASSWORD_LENGTH} characters or more"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"Password must be {MAX_PASSWORD_LENGTH} characters or fewer"
    if password.strip().lower() == email.strip().lower():
        return "Password must not be your email address"
    return None
