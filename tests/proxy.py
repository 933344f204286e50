"""Most tests act as a member of staff without signing in: the suite runs the
API in trusted-proxy mode, as a trust behind its own sign-in proxy would, and
every request carries the proxy's secret. The sign-in tests
(`tests/api/test_identity.py`) prove that without it headers are refused."""
from __future__ import annotations

PROXY_SECRET = "test-only-proxy-secret"
SECRET_HEADER = {"X-Proxy-Secret": PROXY_SECRET}


def as_staff(user: str, role: str, school: str | None = None) -> dict[str, str]:
    """The headers the trust's proxy sends for this person."""
    h = {"X-User": user, "X-Role": role, **SECRET_HEADER}
    if school is not None:
        h["X-School"] = school
    return h
