"""Signing in: local accounts (Argon2 password and a TOTP second factor) and
the trust's OpenID provider, both ending in a server-side session."""
