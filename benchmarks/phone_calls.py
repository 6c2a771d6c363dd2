"""Phone-leg figures over real SIP on loopback: INVITE to 200 OK, answer to greeting, voice-to-voice per turn.

Usage: python -m benchmarks.phone_calls [--invites N] [--greetings N] [--scenario NAME ...] [--gap S]
Runs the agent in-process with its embedded SIP endpoint, inside a loopback-only network namespace (it
re-executes itself under `unshare --net` when it is not in one). SIPp measures INVITE -> 200 OK; baresip
callers play the voice fixtures over G.711 and record what they hear, so voice-to-voice is measured where a
caller would measure it: from the true end of their speech to the first agent audio on their line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from aiohttp import web

from agent.audio.resample import resample
from agent.audio.wav import read_wav, write_wav
from agent.config import Settings
from agent.log import configure_logging
from agent.qa.voice_replay import VOICE_FILE
from agent.server.app import create_app
from agent.server.keys import CALL_LOG, SIP_ENDPOINT
from benchmarks.brain_turns import percentile
from tests.integration.sip_peers import FIXTURES, Baresip, in_loopback_namespace, sipp

PORT = 5070
FRAME = 160  # 20 ms at 8 kHz
AUDIBLE_RMS = 300.0
STAGES = ("endpoint_wait_ms", "stt_ms", "brain_ms", "tts_first_audio_ms", "voice_to_voice_ms")

INVITE_SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="invite to 200">
  <send retrans="500">
    <![CDATA[
INVITE sip:agent@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:agent@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:bench@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=bench 1 1 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send>
    <![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]>
  </send>
  <!-- baresip re-INVITEs once media is up, to settle on one codec: answer it like any phone would -->
  <recv request="INVITE" timeout="1500" ontimeout="bye"/>
  <send>
    <![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:bench@[local_ip]:[local_port]>
Content-Type: application/sdp
Content-Length: [len]

v=0
o=bench 1 2 IN IP4 [local_ip]
s=-
c=IN IP4 [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=rtpmap:101 telephone-event/8000
]]>
  </send>
  <recv request="ACK"/>
  <label id="bye"/>
  <send retrans="500">
    <![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:bench@[local_ip]:[local_port]>;tag=[pid]SIPpTag[call_number]
To: <sip:agent@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]>
  </send>
  <recv response="200"/>
</scenario>
"""


def frame_rms(samples: np.ndarray) -> np.ndarray:
    frames = samples[: samples.size // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    rms: np.ndarray = np.sqrt((frames**2).mean(axis=1))
    return rms


def first_audible_frame(samples: np.ndarray, start_frame: int = 0) -> int | None:
    loud = np.flatnonzero(frame_rms(samples)[start_frame:] > AUDIBLE_RMS)
    return int(loud[0]) + start_frame if loud.size else None


def spoken_end(samples: np.ndarray) -> int:
    """Samples up to the end of the speech in a fixture (its trailing silence is not speech)."""
    loud = np.flatnonzero(frame_rms(samples) > AUDIBLE_RMS)
    return (int(loud[-1]) + 1) * FRAME if loud.size else 0


async def invite_to_ok(work: Path, calls: int) -> list[float]:
    scenario = work / "invite.xml"
    scenario.write_text(INVITE_SCENARIO)
    result = await asyncio.to_thread(
        sipp,
        [
            f"127.0.0.1:{PORT}",
            "-sf",
            str(scenario),
            "-m",
            str(calls),
            "-l",
            "1",
            "-r",
            "2",
            "-i",
            "127.0.0.1",
            "-p",
            "5096",
            "-trace_rtt",
            "-rtt_freq",
            "1",
        ],
        work,
        60 + calls * 2,
    )
    if result.returncode != 0:
        print(f"SIPp exited {result.returncode}: {result.stderr[-400:]}")
    return invite_to_ok_from_trace((work / "messages.log").read_text())


def invite_to_ok_from_trace(trace: str) -> list[float]:
    """INVITE sent -> 200 OK received per Call-ID, in ms, from SIPp's -trace_msg log (microsecond stamps)."""
    sent: dict[str, datetime] = {}
    answered: dict[str, float] = {}
    for block in trace.split("-----------------------------------------------")[1:]:
        lines = [line.strip() for line in block.strip().splitlines() if line.strip()]
        if len(lines) < 3:
            continue
        try:
            stamp = datetime.strptime(lines[0], "%Y-%m-%d %H:%M:%S.%f")
        except ValueError:  # SIPp's own notes ("Unexpected UDP message received") carry no stamp
            continue
        call_id = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("call-id:")), "")
        cseq = next((ln for ln in lines if ln.lower().startswith("cseq:")), "")
        if "message sent" in lines[1] and lines[2].startswith("INVITE ") and call_id not in sent:
            sent[call_id] = stamp
        elif (
            "received" in lines[1]
            and lines[2].startswith("SIP/2.0 200")
            and cseq.endswith("INVITE")
            and call_id in sent
            and call_id not in answered
        ):
            answered[call_id] = (stamp - sent[call_id]).total_seconds() * 1000
    return list(answered.values())


async def call_with(
    work: Path, name: str, wav: Path, seconds: int, caller_id: str = "anonymous", slot: int = 0
) -> Baresip:
    """One baresip call; the caller id is withheld unless the scenario has one (a known number would
    skip the phone question, and the fixture caller would then read its number to the wrong one).
    Callers on different `slot`s use different ports, so several can be on the line at once."""
    rtp = 30000 + 20 * slot
    caller = Baresip(work / name, 5080 + 2 * slot, 5580 + slot, (rtp, rtp + 10), user=caller_id, wav=wav)
    caller.start(dial=f"sip:+15125550100@127.0.0.1:{PORT}", seconds=seconds + 30)
    try:
        await caller.wait_calls_ended(1, seconds + 20)
    except AssertionError:
        print(caller.log[-1500:])
        raise
    finally:
        caller.stop()
    return caller


async def greeting_delays(work: Path, calls: int) -> list[float]:
    delays = []
    wav = work / "quiet.wav"
    write_wav(wav, np.zeros(8000 * 7, np.int16), 8000)
    for index in range(calls):
        caller = await call_with(work, f"greet{index}", wav, 7)
        dumps = sorted((work / f"greet{index}").glob("dump-*-dec.wav"))
        heard, _ = read_wav(dumps[0])
        first = first_audible_frame(heard)
        if first is not None:
            delays.append(first * 20.0)
        del caller
    return delays


async def scenario_turns(
    work: Path,
    scenario: dict[str, Any],
    gap_s: float,
    slot: int = 0,
    folder_name: str | None = None,
) -> list[float]:
    """Voice-to-voice of each turn of one scenario, measured on the caller's side of the line."""
    pieces: list[np.ndarray] = [np.zeros(int(8000 * 7.5), np.int16)]  # the greeting plays first
    speech_ends: list[int] = []
    for turn in scenario["turns"]:
        samples, rate = read_wav(FIXTURES / turn["wav"])
        audio = resample(samples, rate, 8000)
        offset = sum(piece.size for piece in pieces)
        speech_ends.append(offset + spoken_end(audio))
        pieces += [audio, np.zeros(int(8000 * gap_s), np.int16)]
    name = folder_name or scenario["name"]
    wav = work / f"{name}.wav"
    write_wav(wav, np.concatenate(pieces), 8000)
    seconds = int(sum(p.size for p in pieces) / 8000) + 2
    phone = str(scenario.get("caller_phone") or "anonymous").replace(" ", "")
    await call_with(work, name, wav, seconds, caller_id=phone, slot=slot)
    folder = work / name
    heard, _ = read_wav(sorted(folder.glob("dump-*-dec.wav"))[0])
    sent, _ = read_wav(sorted(folder.glob("dump-*-enc.wav"))[0])
    lag = max(0, sent.size - heard.size)  # the receive dump starts when the agent's first packet lands
    results = []
    for end in speech_ends:
        end_frame = max(0, (end - lag) // FRAME)
        talking = frame_rms(heard)[max(0, end_frame - 10) : end_frame]
        if talking.size and (talking > AUDIBLE_RMS).any():
            continue  # the agent was still talking when the caller stopped: not a clean turn to time
        onset = first_audible_frame(heard, end_frame)
        if onset is not None:
            results.append((onset - end_frame) * 20.0)
    return results


def summary(label: str, values: list[float]) -> None:
    if not values:
        print(f"{label:<34} no samples")
        return
    print(
        f"{label:<34} n={len(values):<3} p50 {percentile(values, 0.5):6.0f} ms   "
        f"p95 {percentile(values, 0.95):6.0f} ms   min {min(values):5.0f}   max {max(values):6.0f}"
    )


def bench_settings(work: Path, **overrides: Any) -> Settings:
    """The agent the phone benchmarks call: embedded SIP on PORT, its files under `work`, quiet logs."""
    base: dict[str, Any] = {
        "database_path": work / "bench.db",
        "recordings_path": work / "recordings",
        "sip_port": PORT,
        "rtp_port_min": 21000,
        "rtp_port_max": 21100,
        "escalation_min_s": 3.0,
        "escalation_max_s": 4.0,
        "log_level": "error",
    }
    return Settings(**(base | overrides))


async def bench(args: argparse.Namespace) -> None:
    scenarios = [
        s
        for s in yaml.safe_load(VOICE_FILE.read_text())
        if (not args.scenario or s["name"] in args.scenario)
        and not any("barge_in_after_s" in t for t in s["turns"])
    ]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app = create_app(bench_settings(work))
        runner = web.AppRunner(app)
        await runner.setup()
        endpoint: Any = app[SIP_ENDPOINT]
        try:
            invites = await invite_to_ok(work, args.invites)
            greetings = await greeting_delays(work, args.greetings)
            turns: dict[str, list[float]] = {}
            for scenario in scenarios:
                turns[scenario["name"]] = await scenario_turns(work, scenario, args.gap)
                print(f"{scenario['name']:<40} {[round(v) for v in turns[scenario['name']]]}", flush=True)
            records = await app[CALL_LOG].recent(limit=1000)
        finally:
            await runner.cleanup()
    print(f"\nembedded SIP endpoint, G.711 over loopback; {endpoint.answered} calls answered")
    summary("INVITE -> 200 OK", invites)
    summary("answer -> first greeting audio", greetings)
    phone = [v for s in scenarios if s.get("band") == "phone" for v in turns[s["name"]]]
    summary("voice-to-voice, all scenarios", [v for values in turns.values() for v in values])
    summary("voice-to-voice, phone-band fixtures", phone)
    agent_turns = [turn for record in records for turn in record.turns if turn.get("caller_text")]
    print("\nthe same calls as the agent saw them (its turn records, keyed turns excluded):")
    for stage in STAGES:
        summary(f"  {stage}", [float(turn[stage]) for turn in agent_turns])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invites", type=int, default=20)
    parser.add_argument("--greetings", type=int, default=5)
    parser.add_argument("--scenario", action="append", default=[])
    parser.add_argument("--gap", type=float, default=16.0, help="silence after each caller turn (s)")
    args = parser.parse_args()
    enter_loopback_namespace("benchmarks.phone_calls")
    asyncio.run(bench(args))


def enter_loopback_namespace(module: str) -> None:
    """Re-execute `python -m module` with the same arguments inside a loopback-only network namespace unless
    already in one (no SIP or RTP packet leaves the machine), then set up offline models and quiet logs."""
    if not in_loopback_namespace():
        if os.geteuid() != 0:
            sys.exit("run as root (or inside a loopback-only network namespace)")
        script = 'ip link set lo up && exec "$@"'
        command = [sys.executable, "-m", module, *sys.argv[1:]]
        os.execvp("unshare", ["unshare", "--net", "sh", "-c", script, "sh", *command])
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    configure_logging("error")


if __name__ == "__main__":
    main()
