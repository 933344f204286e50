"""A PostgreSQL connection is bounded by libpq itself against a server that
goes silent (a network partition: no reset, no answer), read here off the
socket the kernel will act on; a URL's own setting wins over the default."""
from __future__ import annotations

import socket

from sqlalchemy.engine import make_url

from store.db import SERVER_SILENCE, make_engine


def socket_options(engine) -> dict[str, int]:
    with engine.connect() as conn:
        fd = conn.connection.dbapi_connection.pgconn.socket
        s = socket.socket(fileno=socket.dup(fd))
        try:
            return {
                "tcp_user_timeout": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
                "keepalives": s.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE),
                "keepalives_idle": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
                "keepalives_interval": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
                "keepalives_count": s.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
            }
        finally:
            s.close()


def test_a_connection_gives_up_on_a_silent_server_within_half_a_minute(postgres_url):
    engine = make_engine(postgres_url)
    try:
        assert socket_options(engine) == SERVER_SILENCE
    finally:
        engine.dispose()
    idle, every, probes = (SERVER_SILENCE[k] for k in ("keepalives_idle", "keepalives_interval", "keepalives_count"))
    assert SERVER_SILENCE["tcp_user_timeout"] <= 30_000 and idle + every * probes <= 30


def test_a_urls_own_setting_wins(postgres_url):
    url = make_url(postgres_url).update_query_dict({"tcp_user_timeout": "2000", "keepalives_idle": "3"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        assert socket_options(engine) == {**SERVER_SILENCE, "tcp_user_timeout": 2000, "keepalives_idle": 3}
    finally:
        engine.dispose()
