"""`python -m agent replay` as QA runs it: a scenario file with text turns, a report, and the exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _replay(tmp_path: Path, expect: dict[str, object]) -> tuple[int, str, list[dict[str, object]]]:
    scenario = [
        {
            "name": "hours_by_text",
            "band": "phone",
            "turns": [{"text": "What are your service department hours?"}],
            "expect": expect,
        }
    ]
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "agent", "replay", str(path), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "AGENT_LOG_LEVEL": "warning"},
    )
    report = json.loads((out / "report.json").read_text()) if (out / "report.json").exists() else []
    return run.returncode, run.stdout + run.stderr, report


def test_replay_passes_and_writes_a_report(tmp_path: Path) -> None:
    code, output, report = _replay(tmp_path, {"agents": ["faq"], "reply_has": [["7:30 in the morning"]]})
    assert code == 0, output
    assert "[1/1] hours_by_text" in output and "1 passed, 0 failed" in output
    assert report[0]["passed"] is True
    assert (tmp_path / "out" / "hours_by_text.agent.wav").stat().st_size > 10_000
    assert "riverside" in str(report[0]["heard_back"]).lower()


def test_replay_fails_with_a_clear_reason(tmp_path: Path) -> None:
    code, output, report = _replay(tmp_path, {"agents": ["booking"]})
    assert code == 1
    assert "FAIL  hours_by_text" in output and "expected ['booking']" in output
    assert report[0]["passed"] is False
