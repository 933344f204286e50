"""A PostgreSQL connection is bounded by libpq itself against a server that
goes silent (a network partition: no reset, no answer), read here off the
socket the kernel will act on; a URL's own setting wins over the default.
Connections are kept for as many readers as a process has at once."""
from __future__ import annotations

import socket
import threading

from sqlalchemy import event, text
from sqlalchemy.engine import make_url

from store.db import POOL_SIZE, SERVER_SILENCE, make_engine


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


def test_as_many_readers_at_once_as_the_pool_keeps_open_no_new_connection(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    opened = []
    event.listen(engine, "connect", lambda *_: opened.append(1))
    together = threading.Barrier(POOL_SIZE)

    def read():
        with engine.connect() as conn:
            together.wait(timeout=10)  # every reader holds a connection at once
            conn.execute(text("SELECT 1"))

    for round_ in range(2):
        readers = [threading.Thread(target=read) for _ in range(POOL_SIZE)]
        for t in readers:
            t.start()
        for t in readers:
            t.join()
        if round_ == 0:
            assert len(opened) == POOL_SIZE
    assert len(opened) == POOL_SIZE  # the second round's readers found theirs open
    engine.dispose()
