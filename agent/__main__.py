"""Command line: `python -m agent serve [--host H] [--port P]` (the composition root of the CLI)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from aiohttp import web

from agent.config import load_settings
from agent.log import configure_logging, get_logger


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m agent", description="The dealership phone agent.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the agent (HTTP API, WebSocket events) on the embedded default")
    serve.add_argument("--host", help="address to listen on (default: AGENT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: AGENT_PORT or 8080)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, json=settings.log_json)
    log = get_logger("agent")
    if args.command == "serve":
        from agent.server.app import create_app

        log.info("starting", host=settings.host, port=settings.port, brain=settings.brain,
                 state_store=settings.state_backend, database=str(settings.database_path))
        web.run_app(
            create_app(settings), host=settings.host, port=settings.port, print=None, shutdown_timeout=10
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
