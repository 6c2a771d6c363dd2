"""Run the dialog scenario suite against a running agent over HTTP, judging replies and database rows."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

SCENARIO_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "scenarios" / "conversations.yaml"


@dataclass
class ScenarioResult:
    name: str
    failures: list[str] = field(default_factory=list)
    turn_ms: list[float] = field(default_factory=list)
    transcript: list[tuple[str, str]] = field(default_factory=list)
    understood_by: list[str] = field(default_factory=list)
    client_ms: list[float] = field(default_factory=list)  # request to answer, as the HTTP client saw it
    llm_turns: list[bool] = field(default_factory=list)  # the model understood a value or wrote the reply

    @property
    def passed(self) -> bool:
        return not self.failures


def load_scenarios(path: Path = SCENARIO_FILE) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return loaded


def appointment_rows(database: Path) -> list[dict[str, Any]]:
    """Every appointment with its customer, service and car, read straight from the SQLite file; the name and
    e-mail are the booking's own when it was made for someone other than the customer on file."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute(
            """SELECT a.appointment_type AS type, a.scheduled_date AS date, a.scheduled_time AS time,
                      a.status, COALESCE(a.contact_name, c.name) AS name, c.phone,
                      COALESCE(a.contact_email, c.email) AS email, s.name AS service, i.stock_number,
                      c.name AS customer_name, c.email AS customer_email
               FROM appointments a JOIN customers c ON c.id = a.customer_id
               LEFT JOIN service_types s ON s.id = a.service_type_id
               LEFT JOIN inventory i ON i.id = a.inventory_id ORDER BY a.id"""
        ).fetchall()
    return [dict(row) for row in rows]


async def _wait_notification(ws: aiohttp.ClientWebSocketResponse, timeout_s: float) -> dict[str, Any] | None:
    try:
        async with asyncio.timeout(timeout_s):
            async for message in ws:
                event: dict[str, Any] = json.loads(message.data)
                if event.get("type") == "notification":
                    return event
    except TimeoutError:
        return None
    return None


def check_turn(turn: dict[str, Any], body: dict[str, Any], result: ScenarioResult, index: int) -> None:
    reply = str(body.get("reply", ""))
    where = f"turn {index + 1} ({turn['say'][:40]!r})"
    if "agent" in turn and body.get("agent") != turn["agent"]:
        result.failures.append(f"{where}: answered by {body.get('agent')!r}, expected {turn['agent']!r}")
    missing = [p for p in turn.get("reply_has", []) if str(p).lower() not in reply.lower()]
    if missing:
        result.failures.append(f"{where}: reply lacks {missing}: {reply!r}")
    present = [p for p in turn.get("reply_lacks", []) if str(p).lower() in reply.lower()]
    if present:
        result.failures.append(f"{where}: reply must not say {present}: {reply!r}")
    any_of = turn.get("reply_has_any")
    if any_of and not any(str(p).lower() in reply.lower() for p in any_of):
        result.failures.append(f"{where}: reply has none of {any_of}: {reply!r}")
    if "ended" in turn and bool(body.get("ended")) != bool(turn["ended"]):
        result.failures.append(f"{where}: ended={body.get('ended')}, expected {turn['ended']}")


def check_appointments(scenario: dict[str, Any], rows: list[dict[str, Any]], result: ScenarioResult) -> None:
    expected: list[dict[str, Any]] = scenario.get("appointments", [])
    if len(rows) != len(expected):
        result.failures.append(f"expected {len(expected)} appointment rows, found {len(rows)}: {rows}")
        return
    for want, row in zip(expected, rows, strict=True):
        wrong = {k: (row.get(k), v) for k, v in want.items() if str(row.get(k)) != str(v)}
        if wrong:
            result.failures.append(f"appointment row differs (found, expected): {wrong}")


async def run_scenario(
    http: aiohttp.ClientSession,
    base_url: str,
    scenario: dict[str, Any],
    *,
    notification_timeout_s: float = 30.0,
) -> ScenarioResult:
    """Play one scenario's caller turns through POST /api/chat and check every reply."""
    result = ScenarioResult(scenario["name"])
    body = {"phone": scenario["caller_phone"]} if scenario.get("caller_phone") else {}
    async with http.post(f"{base_url}/api/sessions", json=body) as response:
        if response.status != 201:
            result.failures.append(f"session creation answered {response.status}")
            return result
        session_id = (await response.json())["session_id"]
    async with http.ws_connect(f"{base_url}/ws/{session_id}") as ws:
        for index, turn in enumerate(scenario["turns"]):
            payload = {"session_id": session_id, "message": turn["say"]}
            sent = time.perf_counter()
            async with http.post(f"{base_url}/api/chat", json=payload) as response:
                answer: dict[str, Any] = await response.json()
                if response.status != 200:
                    result.failures.append(f"turn {index + 1}: HTTP {response.status}: {answer}")
                    return result
            result.client_ms.append((time.perf_counter() - sent) * 1000)
            found_by = answer.get("slots_found_by") or {}
            result.llm_turns.append(
                answer.get("understood_by") == "llm"
                or answer.get("reply_by") == "llm"
                or "llm" in found_by.values()
            )
            result.turn_ms.append(float(answer.get("processing_ms", 0.0)))
            result.transcript.append((turn["say"], str(answer.get("reply", ""))))
            result.understood_by.append(str(answer.get("understood_by", "")))
            check_turn(turn, answer, result, index)
            if turn.get("wait_notification"):
                event = await _wait_notification(ws, notification_timeout_s)
                if event is None:
                    result.failures.append(
                        f"turn {index + 1}: no notification within {notification_timeout_s} s"
                    )
    return result
