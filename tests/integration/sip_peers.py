"""Real SIP peers for the phone tests: baresip as a scripted caller or a human's phone, SIPp for edge cases."""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.audio.resample import resample
from agent.audio.wav import read_wav, write_wav

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


def in_loopback_namespace() -> bool:
    """True inside a network namespace whose only interface is lo (what scripts/test sets up)."""
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]  # per namespace, unlike /sys/class/net
    except OSError:
        return False
    return {line.split(":", 1)[0].strip() for line in lines} == {"lo"}


def peers_missing() -> list[str]:
    return [tool for tool in ("baresip", "sipp") if shutil.which(tool) is None]


def caller_audio(path: Path, timeline: list[tuple[float, str | None]], tail_s: float = 4.0) -> Path:
    """An 8 kHz caller WAV: each (silence_before_s, fixture wav or None) in order, then `tail_s` of silence.

    baresip's aufile hangs up at the end of the file, so the file's length is the call's length.
    """
    pieces: list[np.ndarray] = []
    for silence_s, wav in timeline:
        pieces.append(np.zeros(int(silence_s * 8000), np.int16))
        if wav is not None:
            samples, rate = read_wav(FIXTURES / wav)
            pieces.append(resample(samples, rate, 8000))
    pieces.append(np.zeros(int(tail_s * 8000), np.int16))
    write_wav(path, np.concatenate(pieces), 8000)
    return path


@dataclass
class Baresip:
    """One baresip process with its own config folder, console port and RTP range."""

    workdir: Path
    sip_port: int
    cons_port: int
    rtp_ports: tuple[int, int]
    user: str = "caller"
    wav: Path | None = None  # what this peer says (aufile); None: silence generator
    auto_answer: bool = False
    address: str = "127.0.0.1"  # where it sends from (127.0.0.2: a second peer, untrusted by the agent)
    auth: tuple[str, str] | None = None  # (user, password) it answers a digest challenge with
    process: subprocess.Popen[bytes] | None = None
    _log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log_path = self.workdir / "baresip.log"
        if self.wav is None:  # a silent phone (ausine cannot run at 8 kHz)
            self.wav = self.workdir / "silence.wav"
            write_wav(self.wav, np.zeros(8000 * 600, np.int16), 8000)
        source = f"aufile,{self.wav}"
        modules = ["aufile", "sndfile", "aubridge", "g711", "cons", "menu", "account"]
        lines = [
            f"sip_listen {self.address}:{self.sip_port}",
            f"net_interface {self.address}",
            "dns_server 127.0.0.1:53",
            "audio_player aubridge,sink",
            f"audio_source {source}",
            "audio_alert aubridge,alert",
            "ausrc_srate 8000",
            "auplay_srate 8000",
            "ausrc_channels 1",
            "auplay_channels 1",
            f"rtp_ports {self.rtp_ports[0]}-{self.rtp_ports[1]}",
            "module_path /usr/lib/baresip/modules",
            *[f"module {name}.so" for name in modules],
            f"cons_listen 127.0.0.1:{self.cons_port}",
            f"snd_path {self.workdir}",
        ]
        (self.workdir / "config").write_text("\n".join(lines) + "\n")
        answer = ";answermode=auto" if self.auto_answer else ""
        auth = f";auth_user={self.auth[0]};auth_pass={self.auth[1]}" if self.auth else ""
        account = f"<sip:{self.user}@{self.address}:{self.sip_port}>{auth};regint=0{answer}\n"
        (self.workdir / "accounts").write_text(account)

    def start(self, dial: str | None = None, seconds: int = 90) -> None:
        args = ["baresip", "-f", str(self.workdir), "-t", str(seconds)]
        if dial:
            args += ["-e", f"/dial {dial}"]
        with self._log_path.open("wb") as out:
            self.process = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=self.workdir
            )

    def command(self, text: str) -> None:
        """A console command (`/sndcode 12#`, `/hangup`). The console reads keystrokes: the newline runs it."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.sendto(text.encode() + b"\n", ("127.0.0.1", self.cons_port))

    async def wait(self, timeout_s: float) -> int | None:
        assert self.process is not None
        for _ in range(int(timeout_s * 10)):
            if self.process.poll() is not None:
                return self.process.returncode
            await asyncio.sleep(0.1)
        return None

    def calls_ended(self) -> int:
        """Calls this peer has seen end (either side hung up, or a transfer moved it away)."""
        return self.log.count("terminated (duration")

    async def wait_calls_ended(self, count: int, timeout_s: float) -> None:
        await wait_until(
            lambda: self.calls_ended() >= count, timeout_s, f"{count} call(s) to end at {self.user}"
        )

    def stop(self) -> None:
        """Quit baresip so it closes its calls and finalises its WAV dumps (libsndfile writes a dump's
        length when the call ends: a killed peer leaves a recording that reads as empty); kill it if it
        does not go within a few seconds."""
        if self.process is None or self.process.poll() is not None:
            return
        self.command("/quit")
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    @property
    def log(self) -> str:
        return (
            self._log_path.read_text(errors="replace").replace("\r", "\n") if self._log_path.exists() else ""
        )

    def received_audio(self) -> tuple[np.ndarray, int]:
        """Everything this peer heard (sndfile's decoded dump), concatenated over its calls."""
        dumps = sorted(self.workdir.glob("dump-*-dec.wav"))
        if not dumps:
            return np.zeros(0, np.int16), 8000
        parts = [read_wav(path) for path in dumps]
        return np.concatenate([samples for samples, _ in parts]), parts[0][1]


async def wait_until(predicate: object, timeout_s: float, what: str) -> None:
    """Poll a zero-argument callable until it returns true; fail with `what` on timeout."""
    assert callable(predicate)
    for _ in range(int(timeout_s * 10)):
        if predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def sipp(args: list[str], cwd: Path, timeout_s: float = 30) -> subprocess.CompletedProcess[str]:
    """Run SIPp to completion (bounded), tracing messages to `cwd/messages.log`."""
    command = ["sipp", *args, "-trace_msg", "-message_file", str(cwd / "messages.log"), "-nostdin"]
    return subprocess.run(
        ["timeout", str(int(timeout_s)), *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
