"""The Dockerfile parsed as Docker reads it, and every healthcheck command of the image and compose run for real."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
import yaml
from aiohttp import web

from agent.config import Settings
from tests.integration.agent_processes import free_port
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration

INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT", "VOLUME", "USER",
    "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile() -> list[Instruction]:
    """Docker's reading: comments dropped, backslash continuations joined, one instruction per line."""
    logical: list[str] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or (not raw.strip() and not pending):
            continue
        pending += raw.rstrip().removesuffix("\\") + " "
        if not raw.rstrip().endswith("\\"):
            logical.append(pending.strip())
            pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    parsed = [Instruction(*line.split(None, 1)) for line in logical]
    return parsed


def final_stage() -> list[Instruction]:
    instructions = dockerfile()
    start = max(i for i, step in enumerate(instructions) if step.keyword == "FROM")
    return instructions[start:]


def test_every_line_is_an_instruction_and_every_base_image_an_exact_release() -> None:
    instructions = dockerfile()
    assert all(step.keyword in INSTRUCTIONS for step in instructions), instructions
    bases = [step.arguments.split()[0] for step in instructions if step.keyword == "FROM"]
    assert len(bases) == 2
    for base in bases:
        tag = base.split("@")[0].rpartition(":")[2]
        assert "@sha256:" in base or re.match(r"\d+\.\d+\.\d+-", tag), f"{base} is not an exact release"
    python = bases[-1]
    assert python.startswith("python:3.11."), "the image's Python is the one pyproject.toml requires"


def test_the_image_installs_from_the_lock_runs_unprivileged_and_in_production() -> None:
    stage = final_stage()
    runs = [step.arguments for step in stage if step.keyword == "RUN"]
    locked = next(i for i, run in enumerate(runs) if "--require-hashes -r requirements.lock" in run)
    agent = next(i for i, run in enumerate(runs) if "--no-deps ." in run)
    assert locked < agent, "dependencies come from the lock, then the agent without resolving anything"
    users = [step.arguments.strip() for step in stage if step.keyword == "USER"]
    assert users and users[-1] not in ("root", "0"), "the agent must not run as root"
    assert any("useradd" in run and users[-1] in run for run in runs)
    assert any("chown" in run and "/data" in run for run in runs), "the unprivileged user owns /data"
    env = " ".join(step.arguments for step in stage if step.keyword == "ENV")
    values = dict(re.findall(r"(\w+)=(\S+)", env))
    assert values["AGENT_ENVIRONMENT"] == "production"
    assert {name for name in values if name.startswith("AGENT_")} <= Settings.environment_names()
    command = json.loads(next(step.arguments for step in stage if step.keyword == "CMD"))
    assert command[:4] == ["python", "-m", "agent", "serve"]
    assert next(step.arguments for step in stage if step.keyword == "STOPSIGNAL") == "SIGTERM"


def image_healthcheck() -> list[str]:
    check = next(step.arguments for step in final_stage() if step.keyword == "HEALTHCHECK")
    options, _, command = check.partition(" CMD ")
    assert "--start-period" in options and "--interval" in options
    parsed: list[str] = json.loads(command)
    return parsed


def compose_healthcheck(service: str) -> list[str]:
    test: list[str] = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"][service]["healthcheck"][
        "test"
    ]
    assert test[0] == "CMD"
    return test[1:]


@asynccontextmanager
async def http_answering(status: int) -> AsyncIterator[int]:
    """A loopback HTTP server whose every path answers `status`: what a healthcheck probes."""

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status, text="probe")

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield port
    finally:
        await runner.cleanup()


async def exit_status(command: list[str], **env: str) -> int:
    process = await asyncio.create_subprocess_exec(
        *command,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", **env},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), 30)


def _with(command: list[str], old: str, new: str) -> list[str]:
    assert any(old in part for part in command), (old, command)
    return [part.replace(old, new) for part in command]


async def test_the_image_healthcheck_passes_on_200_and_fails_on_503_or_nothing() -> None:
    command = [sys.executable if part == "python" else part for part in image_healthcheck()]
    async with http_answering(200) as port:
        assert await exit_status(command, AGENT_PORT=str(port)) == 0
    async with http_answering(503) as port:  # /health while the database or Redis is down
        assert await exit_status(command, AGENT_PORT=str(port)) != 0
    assert await exit_status(command, AGENT_PORT=str(free_port())) != 0  # not listening yet


async def test_the_compose_agent_healthcheck_probes_the_agent_port() -> None:
    command = [sys.executable if part == "python" else part for part in compose_healthcheck("agent")]
    async with http_answering(200) as port:
        assert await exit_status(_with(command, ":8080/", f":{port}/")) == 0
    async with http_answering(503) as port:
        assert await exit_status(_with(command, ":8080/", f":{port}/")) != 0


async def test_the_livekit_healthchecks_tell_a_ready_server_from_a_busy_or_absent_one() -> None:
    if shutil.which("wget") is None:
        pytest.skip("wget is not installed")
    server = compose_healthcheck("livekit-server")
    sip = compose_healthcheck("livekit-sip")
    async with http_answering(200) as port:
        assert await exit_status(_with(server, ":7880/", f":{port}/")) == 0
        assert await exit_status(_with(sip, "/8082", f"/{port}")) == 0
    async with http_answering(406) as port:  # livekit-server: node stats not fresh ("Not Ready")
        assert await exit_status(_with(server, ":7880/", f":{port}/")) != 0
    async with http_answering(503) as port:  # livekit-sip: not taking calls
        assert await exit_status(_with(sip, "/8082", f"/{port}")) != 0
    assert await exit_status(_with(sip, "/8082", f"/{free_port()}")) != 0


async def test_the_redis_healthcheck_pings_redis(redis_url: str) -> None:
    if shutil.which("redis-cli") is None:
        pytest.skip("redis-cli is not installed")
    port = redis_url.rsplit(":", 1)[1].split("/")[0]
    command = _with(compose_healthcheck("redis"), "6379", port)
    assert await exit_status(command) == 0
    assert await exit_status(_with(compose_healthcheck("redis"), "6379", str(free_port()))) != 0


def test_the_dockerignore_keeps_secrets_out_and_lets_in_what_the_image_copies() -> None:
    import fnmatch

    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines() if line.strip()]

    def ignored(path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        return any(fnmatch.fnmatch(prefix, pattern) for pattern in patterns for prefix in prefixes)

    assert ignored(".env") and ignored(".env.production") and ignored(".git/config")
    assert ignored("data/dealership.db") and ignored("web_console/node_modules/livekit-client")
    copied = [
        source
        for step in dockerfile()
        if step.keyword == "COPY" and not step.arguments.startswith("--from")
        for source in step.arguments.split()[:-1]
    ]
    assert "requirements.lock" in copied
    for source in copied:
        assert (ROOT / source).exists() and not ignored(source), source
    assert not ignored("agent/assets/all-minilm-l6-v2/tokenizer.json")
