"""The `apflow` command: `up` runs the whole service, `demo` fills it,
`worker` runs a worker alone, `users` and `tokens` keep the accounts, `ops`
lists stuck placements and fixes them."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from pathlib import Path

from pydantic import ValidationError

from . import calendar_cli, ops_cli, users_cli
from .settings import Settings, refuse_unless_safe

# The commands that serve: each refuses to start outside development with a
# secret or stand-in that is not fit for it (`Settings.refusals`).
SERVING = {"up", "worker", "api"}


def keep_private(settings: Settings) -> None:
    """The register, keys, letters and the dev server's state are children's
    data: what the service writes is readable by its own user only."""
    os.umask(0o077)
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.var_dir.chmod(0o700)
    for path in settings.var_dir.rglob("*"):
        path.chmod(0o700 if path.is_dir() else 0o600)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="apflow", description="Alternative-provision placements as durable workflows.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the Temporal dev server, the worker and the API; Ctrl-C stops all three")
    demo = commands.add_parser("demo", help="create invented placements in different states through the API")
    demo.add_argument("--api", help="the API's address (default: from the settings)")
    worker_cmd = commands.add_parser(
        "worker", help="run a worker alone, against APFLOW_TEMPORAL_ADDRESS (several may share the task queue)")
    worker_cmd.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)  # `apflow up` hears it is polling
    worker_cmd.add_argument("--stop-with-parent", action="store_true", help=argparse.SUPPRESS)
    worker_cmd.add_argument("--metrics-port", type=int, metavar="PORT",
                            help="serve this worker's metrics on PORT (default APFLOW_WORKER_METRICS_PORT; 0: off)")
    commands.add_parser("api", help="serve the API alone, against APFLOW_TEMPORAL_ADDRESS and APFLOW_DATABASE_URL")
    commands.add_parser("check", help="whether Temporal (over this process's TLS) and the register answer: "
                                      "exit 0 when both do (a container's health check)")
    certs = commands.add_parser("certs", help="certificates for Temporal's mutual TLS")
    certs_make = certs.add_subparsers(dest="certs_command", required=True).add_parser(
        "make", help="a CA, the Temporal frontend's server certificate and the clients' certificates, in DIR")
    certs_make.add_argument("dir", type=Path)
    certs_make.add_argument("--server-name", action="append", dest="server_names", metavar="NAME",
                            help="a name (or IP address) the frontend is reached by; repeatable "
                                 "(default: temporal, localhost, 127.0.0.1)")
    users_cli.add_parsers(commands)
    calendar_cli.add_parsers(commands)
    ops_cli.add_parsers(commands)
    args = parser.parse_args(argv)
    if args.command == "certs":  # needs no settings, and may run anywhere
        from . import certs as certificates

        made = certificates.make(args.dir, tuple(args.server_names) if args.server_names else certificates.SERVER_NAMES)
        print("\n".join(str(p) for p in made))
        print(f"Keep {args.dir / 'ca.key'} offline: whoever holds it can let anyone into Temporal.")
        return
    try:
        settings = Settings()
    except ValidationError as e:
        from domain.models import problems

        raise SystemExit("apflow's settings are not valid:\n" + "\n".join(
            f"  - {problem}" for problem in problems(e.errors(), whole="settings"))) from None
    if args.command in SERVING:
        refuse_unless_safe(settings)
    keep_private(settings)

    if args.command == "up":
        from .launcher import run_up

        run_up(settings)
    elif args.command == "demo":
        from .demo import run_demo

        run_demo(args.api or f"http://{settings.api_host}:{settings.api_port}", settings)
    elif args.command in ("users", "tokens", "calendar"):
        sys.exit(users_cli.run(args, settings))
    elif args.command == "ops":
        exit_at_once(ops_cli.run(args, settings))
    elif args.command == "worker":
        import worker

        logging.basicConfig(level=settings.log_level)
        if args.metrics_port is not None:  # several workers on one machine each need a port
            settings = Settings(worker_metrics_port=args.metrics_port)
        asyncio.run(worker.main(settings, ready_fd=args.ready_fd, stop_with_parent=args.stop_with_parent))
    elif args.command == "api":
        logging.basicConfig(level=settings.log_level)
        asyncio.run(serve_api(settings))
    elif args.command == "check":
        exit_at_once(asyncio.run(check(settings)))


def exit_at_once(code: int) -> None:
    """Ends a short command that used a Temporal client without the
    interpreter's teardown, during which the client's own threads can abort
    the process (temporalio/sdk-python#300): its output is flushed first, and
    nothing else is left to close."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


CHECK_WAIT_S = 10


async def check(settings: Settings) -> int:
    """0 when Temporal and the register both answer this process as
    configured, else 1; one line for each, naming no secret."""
    from sqlalchemy import text

    from store.db import make_engine

    from .temporal import connect

    ok = True
    try:
        client = await asyncio.wait_for(connect(settings), CHECK_WAIT_S)
        await asyncio.wait_for(client.service_client.check_health(), CHECK_WAIT_S)
        print(f"Temporal at {settings.temporal_address}: ok" + (" (mutual TLS)" if settings.temporal_tls else ""))
    except Exception as e:  # noqa: BLE001 - reported, and the exit code says it
        ok = False
        print(f"Temporal at {settings.temporal_address}: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}")
    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        print("register: ok")
    except Exception as e:  # noqa: BLE001
        ok = False
        print(f"register: {type(e).__name__}")
    finally:
        engine.dispose()
    return 0 if ok else 1


async def serve_api(settings: Settings) -> None:
    """The API alone, once its database and Temporal answer: it may start
    before either (each is waited for with backoff, saying what it waits for)."""
    import uvicorn

    from console.api import create_app, server_config
    from store.db import make_engine, migrate_when_up

    from .temporal import connect_when_up

    engine = make_engine(settings.db_url)
    await migrate_when_up(engine)
    client = await connect_when_up(settings)
    app = create_app(settings, client=client, engine=engine)
    await uvicorn.Server(server_config(app, host=settings.api_host, port=settings.api_port)).serve()
    engine.dispose()


if __name__ == "__main__":
    main()
