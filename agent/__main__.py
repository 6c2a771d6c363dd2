"""Command line: `python -m agent serve [--host H] [--port P]` (the composition root of the CLI)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agent.config import Settings, load_settings
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
    livekit = commands.add_parser("livekit", help="LiveKit SIP path administration")
    livekit_commands = livekit.add_subparsers(dest="livekit_command", required=True)
    livekit_commands.add_parser(
        "provision",
        help="create or update the inbound SIP trunk, the dispatch rule (room per caller) and, with"
        " AGENT_LIVEKIT_SIP_OUTBOUND_ADDRESS, the outbound trunk for callbacks, from settings",
    )
    return parser


def _livekit_main(settings: Settings, command: str) -> int:
    """`python -m agent livekit provision`: idempotent; prints what it created or updated."""
    import asyncio

    from livekit import api

    from telephony.livekit.sip_admin import LiveKitUnreachable, open_livekit_api, provision

    async def run() -> int:
        async with open_livekit_api(settings.livekit) as client:
            done = await provision(settings.livekit, client)
        print(
            f"inbound trunk {done.trunk_action}: {done.trunk_id} ({settings.livekit.livekit_sip_trunk_name})"
        )
        print(
            f"dispatch rule {done.rule_action}: {done.rule_id} ({settings.livekit.livekit_sip_dispatch_rule_name})"
        )
        if done.outbound_action is not None:
            name = settings.livekit.livekit_sip_outbound_trunk_name
            print(f"outbound trunk {done.outbound_action}: {done.outbound_trunk_id} ({name})")
        return 0

    try:
        return asyncio.run(run())
    except LiveKitUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
    except api.TwirpError as exc:
        print(f"error: LiveKit refused the request ({exc.code}): {exc.message}", file=sys.stderr)
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    given = (("host", getattr(args, "host", None)), ("port", getattr(args, "port", None)))
    overrides = {k: v for k, v in given if v is not None}
    settings = load_settings(**overrides)
    configure_logging(settings.server.log_level, json=settings.server.log_json)
    log = get_logger("agent")
    if args.command == "serve":
        from agent.server.app import create_app

        log.info(
            "starting",
            host=settings.server.host,
            port=settings.server.port,
            brain=settings.dialog.brain,
            state_store=settings.store.state_backend,
            database=str(settings.store.database_path),
        )
        import asyncio

        from agent.server.drain import serve

        # SIGTERM drains (no new calls, the calls in progress finish) before the process exits 0
        asyncio.run(serve(create_app(settings), settings.server.host, settings.server.port))
    if args.command == "replay":
        from agent.qa.replay_cli import replay_main

        return replay_main(settings, args.target, args.scenario, args.out, args.realtime)
    if args.command == "livekit":
        return _livekit_main(settings, args.livekit_command)
    return 0


if __name__ == "__main__":
    sys.exit(main())
