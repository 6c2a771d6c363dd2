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
    serve = commands.add_parser(
        "serve", help="run the agent (HTTP API, WebSocket events) on the embedded default"
    )
    serve.add_argument("--host", help="address to listen on (default: AGENT_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default: AGENT_PORT or 8080)")
    replay = commands.add_parser("replay", help="replay caller WAVs through the call pipeline (QA)")
    replay.add_argument(
        "target", nargs="?", help="a voice scenario file (default fixtures/scenarios/voice.yaml) or a WAV"
    )
    replay.add_argument("--scenario", action="append", default=[], help="only this scenario (repeatable)")
    replay.add_argument("--out", help="folder for the report and the recorded agent audio")
    replay.add_argument(
        "--realtime", action="store_true", help="pace audio in real time instead of a virtual clock"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    given = (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
    overrides = {k: v for k, v in given if v is not None}
    settings = load_settings(**overrides)
    configure_logging(settings.log_level, json=settings.log_json)
    log = get_logger("agent")
    if args.command == "serve":
        from agent.server.app import create_app

        log.info(
            "starting",
            host=settings.host,
            port=settings.port,
            brain=settings.brain,
            state_store=settings.state_backend,
            database=str(settings.database_path),
        )
        web.run_app(
            create_app(settings), host=settings.host, port=settings.port, print=None, shutdown_timeout=10
        )
    if args.command == "replay":
        from agent.qa.replay_cli import replay_main

        return replay_main(settings, args.target, args.scenario, args.out, args.realtime)
    return 0


if __name__ == "__main__":
    sys.exit(main())
