"""The `apflow` command: `up` runs the whole service, `demo` fills it,
`worker` runs a worker alone."""
from __future__ import annotations

import argparse
import asyncio

from .settings import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="apflow", description="Alternative-provision placements as durable workflows.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("up", help="start the Temporal dev server, the worker and the API; Ctrl-C stops all three")
    demo = commands.add_parser("demo", help="create invented placements in different states through the API")
    demo.add_argument("--api", help="the API's address (default: from the settings)")
    commands.add_parser("worker", help="run the worker alone, against APFLOW_TEMPORAL_ADDRESS")
    commands.add_parser("api", help="serve the API alone, against APFLOW_TEMPORAL_ADDRESS and APFLOW_DATABASE_URL")
    args = parser.parse_args(argv)
    settings = Settings()

    if args.command == "up":
        from .launcher import run_up

        run_up(settings)
    elif args.command == "demo":
        from .demo import run_demo

        run_demo(args.api or f"http://{settings.api_host}:{settings.api_port}", settings.calendars_dir)
    elif args.command == "worker":
        import worker

        asyncio.run(worker.main(settings))
    elif args.command == "api":
        import uvicorn

        from console.api import create_app

        uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)


if __name__ == "__main__":
    main()
