"""Fixtures for integration tests: no model hub, and a running OpenAI-compatible LLM server for the LLM brain."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 120.0
MODEL_FILES = {
    "1.5b": "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    "0.5b": "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(base_url: str, proc: subprocess.Popen[bytes] | None, log: Path | None) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:] if log else ""
            pytest.fail(f"scripts/llm-server exited with {proc.returncode}:\n{tail}")
        try:
            if httpx.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"LLM server at {base_url} not ready after {STARTUP_TIMEOUT_S:.0f} s")


@pytest.fixture(scope="session")
def llm_base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A running OpenAI-compatible server: AGENT_TEST_LLM_URL, or scripts/llm-server on a free port."""
    external = os.environ.get("AGENT_TEST_LLM_URL")
    if external:
        _wait_ready(external.rstrip("/"), None, None)
        yield external.rstrip("/")
        return
    size = os.environ.get("AGENT_TEST_LLM_MODEL", "1.5b")
    cache = Path(os.environ.get("AGENT_MODEL_CACHE", str(Path.home() / ".cache" / "dealership-agent")))
    gguf = cache / MODEL_FILES.get(size, size)
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (run scripts/install-llm)")
    if not gguf.is_file():
        pytest.skip(f"model {gguf} is not assembled (run scripts/install-llm --model {size})")
    port = _free_port()
    log = tmp_path_factory.mktemp("llm-server") / "server.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [str(ROOT / "scripts" / "llm-server"), "--model", str(gguf)],
            env={**os.environ, "PORT": str(port), "HOST": "127.0.0.1"},
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_ready(base_url, proc, log)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session", autouse=True)
def offline() -> Iterator[None]:
    """Any attempt to reach a model hub fails instead of downloading."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield
