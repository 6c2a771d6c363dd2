"""Production mode and the operator door: unsafe settings stop the start, foreign hosts and remote clients are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from agent.server.app import create_app
from agent.server.production import UnsafeProductionSettings
from tests.integration.agent_harness import agent_settings, running_agent
from tests.integration.agent_processes import free_port
from tests.integration.conftest import ROOT

pytestmark = pytest.mark.integration

TOKEN = "operator-token-for-tests-0123456789"
DEV_KEYS = {"livekit_api_key": "devkey", "livekit_api_secret": "devsecret-devsecret-devsecret-0123"}


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"operator_token": TOKEN, **DEV_KEYS}, "AGENT_LIVEKIT_API_KEY"),
        ({"operator_token": TOKEN, "livekit_api_secret": "devsecret-devsecret-devsecret-0123"}, "LiveKit"),
        ({"operator_token": TOKEN, "livekit_api_secret": "short"}, "AGENT_LIVEKIT_API_SECRET"),
        ({}, "AGENT_OPERATOR_TOKEN"),
        ({"operator_token": "  "}, "AGENT_OPERATOR_TOKEN"),
    ],
)
def test_production_refuses_the_dev_keys_and_a_missing_operator_token(
    tmp_path: Path, overrides: dict[str, str], named: str
) -> None:
    settings = agent_settings(tmp_path, environment="production", **overrides)
    with pytest.raises(UnsafeProductionSettings) as refused:
        create_app(settings)
    message = str(refused.value)
    assert named in message and "\n" not in message
    assert message.startswith("refusing to start in production: ")


def test_development_and_safe_production_settings_start(tmp_path: Path) -> None:
    create_app(agent_settings(tmp_path, **DEV_KEYS))  # the embedded default keeps its dev pair
    create_app(agent_settings(tmp_path, environment="production", operator_token=TOKEN))


def test_the_served_agent_exits_with_one_line_saying_why(tmp_path: Path) -> None:
    """What a container's log shows: status 1 and one line, no traceback, before any port is opened."""
    environment = {
        **os.environ,
        "AGENT_ENVIRONMENT": "production",
        "AGENT_DATABASE_PATH": str(tmp_path / "dealership.db"),
        "AGENT_SIP_ENABLED": "false",
        "AGENT_WEBRTC_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
    }
    for name in ("AGENT_OPERATOR_TOKEN", "AGENT_LIVEKIT_API_KEY", "AGENT_LIVEKIT_API_SECRET"):
        environment.pop(name, None)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "agent", "serve", "--port", str(free_port())],
            cwd=tmp_path,  # no .env from the checkout
            env={**environment, "PYTHONPATH": str(ROOT)},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the agent started in production with the dev keys and no operator token")
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("refusing to start in production: ")
    assert "AGENT_OPERATOR_TOKEN" in lines[-1] and "AGENT_LIVEKIT_API_KEY" in lines[-1]
    assert "Traceback" not in done.stderr


async def test_without_a_token_only_loopback_clients_reach_the_operator_endpoints(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path)) as agent:
        assert (await agent.http.get("/api/calls")).status == 200  # the developer on this machine
        forwarded = {"X-Forwarded-For": "203.0.113.9"}  # a client a proxy on this machine forwarded
        refused = await agent.http.get("/api/calls", headers=forwarded)
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "operator_token_not_set"
        assert (await agent.http.get("/api/calls/x/recording", headers=forwarded)).status == 403
        with pytest.raises(aiohttp.WSServerHandshakeError) as ws_refused:
            await agent.http.ws_connect("/ws/operator", headers=forwarded)
        assert ws_refused.value.status == 403


async def test_a_token_once_set_is_needed_from_loopback_too(tmp_path: Path) -> None:
    async with running_agent(agent_settings(tmp_path, operator_token=TOKEN)) as agent:
        assert (await agent.http.get("/api/calls")).status == 401
        right = {"Authorization": f"Bearer {TOKEN}"}
        assert (await agent.http.get("/api/calls", headers=right)).status == 200
        remote = {**right, "X-Forwarded-For": "203.0.113.9"}  # a remote operator with the token
        assert (await agent.http.get("/api/calls", headers=remote)).status == 200


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_dns_rebinding_a_foreign_host_or_origin_is_refused(tmp_path: Path, environment: str) -> None:
    """A page on evil.example whose name now points at this machine: its requests carry its own host name."""
    settings = agent_settings(tmp_path, environment=environment, operator_token=TOKEN)
    async with running_agent(settings) as agent:
        token = {"Authorization": f"Bearer {TOKEN}"}
        port = agent.http.server.port
        rebound = {**token, "Host": f"evil.example:{port}"}
        refused = await agent.http.get("/api/calls", headers=rebound)
        assert refused.status == 403
        assert (await refused.json())["error"]["code"] == "host_not_allowed"
        cross_origin = {**token, "Origin": f"http://evil.example:{port}"}
        assert (await agent.http.get("/api/calls", headers=cross_origin)).status == 403
        for headers in (
            {"Host": f"evil.example:{port}", "Origin": f"http://evil.example:{port}"},
            {"Origin": f"http://evil.example:{port}"},
        ):
            with pytest.raises(aiohttp.WSServerHandshakeError) as ws_refused:
                await agent.http.ws_connect("/ws/operator", headers={**token, **headers})
            assert ws_refused.value.status == 403
        own = {**token, "Host": f"localhost:{port}", "Origin": f"http://localhost:{port}"}
        assert (await agent.http.get("/api/calls", headers=own)).status == 200
        ws = await agent.http.ws_connect("/ws/operator", headers={**token, "Host": f"127.0.0.1:{port}"})
        assert (await ws.receive_json())["type"] == "snapshot"
        await ws.close()


async def test_the_host_allow_list_names_the_dealerships_own_host(tmp_path: Path) -> None:
    settings = agent_settings(tmp_path, operator_token=TOKEN, allowed_hosts=("agent.riverside.example",))
    async with running_agent(settings) as agent:
        headers = {"Authorization": f"Bearer {TOKEN}", "Host": "agent.riverside.example"}
        assert (await agent.http.get("/api/calls", headers=headers)).status == 200
        headers["Host"] = "agent.riverside.example.evil.example"
        assert (await agent.http.get("/api/calls", headers=headers)).status == 403
