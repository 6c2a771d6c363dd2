"""Every voice fixture through the real pipeline: VAD, Whisper, the dialog, hibari TTS; judged by end state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from agent.config import Settings
from agent.qa.voice_replay import VOICE_FILE, replay_scenario
from agent.runtime import Voice, open_voice

pytestmark = pytest.mark.integration

SCENARIOS: list[dict[str, Any]] = yaml.safe_load(VOICE_FILE.read_text()) if VOICE_FILE.exists() else []
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "voice-replay"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def voice() -> AsyncIterator[Voice]:
    defaults = Settings()
    loaded = await open_voice(defaults.stt, defaults.tts)
    yield loaded
    await loaded.aclose()


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s["name"] for s in SCENARIOS])
async def test_voice_scenario(scenario: dict[str, Any], voice: Voice, tmp_path: Path) -> None:
    settings = Settings(
        database_path=tmp_path / "replay.db",
        # The availability check sleeps in wall-clock time while the replay runs on media time, which goes as
        # fast as the CPU allows: a check that takes any real time can land after the caller's next turn on a
        # quick machine. Near zero, it lands while the escalation reply is still being synthesised.
        escalation_min_s=0.0,
        escalation_max_s=0.02,
        escalation_seed=3,
        log_level="warning",
    )
    result = await replay_scenario(scenario, settings, voice, out_dir=ARTIFACTS)
    heard = "\n".join(
        f"  caller: {t.caller_text!r}\n  agent ({t.agent}): {t.agent_text!r}" for t in result.turns
    )
    assert result.passed, "\n".join(result.failures) + "\n" + heard
    assert Path(result.agent_wav).stat().st_size > 10_000
