"""The `apflow` command: `up` runs the whole service, `demo` fills it,
`worker` runs a worker alone, `users` and `tokens` keep the accounts, `ops`
lists stuck placements and fixes them."""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from . import ops_cli, users_cli
from .settings import Settings


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
    users_cli.add_parsers(commands)
    ops_cli.add_parsers(commands)
    args = parser.parse_args(argv)
    settings = Settings()
    keep_private(settings)

    if args.command == "up":
        from .launcher import run_up

        run_up(settings)
    elif args.command == "demo":
        from .demo import run_demo

        run_demo(args.api or f"http://{settings.api_host}:{settings.api_port}", settings)
    elif args.command in ("users", "tokens"):
        sys.exit(users_cli.run(args, settings))
    elif args.command == "ops":
        sys.exit(ops_cli.run(args, settings))
    elif args.command == "worker":
        import worker

        logging.basicConfig(level=settings.log_level)
        if args.metrics_port is not None:  # several workers on one machine each need a port
            settings = Settings(worker_metrics_port=args.metrics_port)
        asyncio.run(worker.main(settings, ready_fd=args.ready_fd, stop_with_parent=args.stop_with_parent))
    elif args.command == "api":
        import uvicorn

        from console.api import create_app

        uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)


if __name__ == "__main__":
    main()
