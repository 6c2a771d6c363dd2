"""The one frozen Settings object, grouped in sections: the only module of ours that reads the environment.

Every setting keeps its `AGENT_*` variable name; a section's field names are those variable names without the
prefix (`AGENT_SIP_PORT` is `settings.sip.sip_port`), so a name in a log, a compose file or the README is the
name in the code. Each part of the agent is handed only its own section.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# extra="ignore": the .env next to compose.yaml also holds compose's own variables (LIVEKIT_API_KEY, ...).
_SECTION_CONFIG = SettingsConfigDict(
    env_prefix="AGENT_", env_file=".env", env_file_encoding="utf-8", frozen=True, extra="ignore"
)


class Section(BaseSettings):
    """A group of settings read from `AGENT_<FIELD NAME>` variables and an optional `.env` file."""

    model_config = _SECTION_CONFIG


class ServerSettings(Section):
    """The HTTP server, its limits and who may use the operator endpoints."""

    environment: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_json: bool = True
    console_path: Path = PROJECT_ROOT / "web_console"  # the web console's static files (and its npm SDK)
    # Operators: the calls list, transcripts and recordings (required outside development)
    operator_token: SecretStr | None = None
    max_message_chars: int = Field(default=2000, gt=0)
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    cors_origins: tuple[str, ...] = ()
    # Every API route and WebSocket, per client (a token bucket; static files and /health get ten times this)
    rate_limit_per_s: float = Field(default=5.0, gt=0)
    rate_limit_burst: int = Field(default=30, gt=0)
    rate_limit_clients: int = Field(default=10_000, ge=1)  # buckets kept; the least recently seen goes first
    # Proxies (addresses or CIDRs) whose X-Forwarded-For names the client; from any other peer it is ignored
    trusted_proxies: tuple[str, ...] = ()
    operator_token_failures_per_min: int = Field(default=10, ge=1)  # wrong tokens per client, then 429
    operator_link_ttl_s: int = Field(default=900, ge=10, le=86400)  # signed recording and stream links
    max_websockets_per_client: int = Field(default=8, ge=1)
    ws_heartbeat_s: float = Field(default=20.0, gt=0)
    ws_max_message_bytes: int = Field(default=16 * 1024, gt=0)
    # Host names (no port) operators reach the agent by: the calls API and the operator WebSocket refuse any
    # other Host or Origin (DNS rebinding). Loopback names are always on it; "*" turns the check off.
    allowed_hosts: tuple[str, ...] = ()
    # On SIGTERM: no new calls, and calls in progress get this long to finish (compose's stop_grace_period
    # must be longer).
    drain_timeout_s: float = Field(default=20.0, ge=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, proxies: tuple[str, ...]) -> tuple[str, ...]:
        for proxy in proxies:
            ipaddress.ip_network(proxy.strip(), strict=False)  # "10.0.0.5", "10.0.0.0/8" or "::1"
        return proxies


class StoreSettings(Section):
    """The bookings database, the dealership's time zone and the conversation state store."""

    database_path: Path = PROJECT_ROOT / "data" / "dealership.db"
    # postgresql://user:password@host:5432/dbname: the bookings live in PostgreSQL (shared by many agent
    # processes and hosts) instead of the SQLite file at database_path
    database_url: SecretStr | None = None
    seed_path: Path = PROJECT_ROOT / "fixtures" / "dealership.yaml"
    timezone: str = "America/Chicago"
    state_backend: Literal["memory", "redis"] = "memory"
    redis_url: str = "redis://127.0.0.1:6379/0"
    session_ttl_s: int = Field(default=1800, gt=0)
    max_sessions: int = Field(default=10_000, ge=1)  # the memory backend forgets the least recently used


class DialogSettings(Section):
    """Which brain understands the caller, and how to reach the LLM when it is that one."""

    brain: Literal["offline", "llm"] = "offline"
    llm_base_url: str = "http://127.0.0.1:8765/v1"
    llm_model: str = "local"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_timeout_s: float = Field(default=30.0, gt=0)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)


class EscalationSettings(Section):
    """The simulated check for a free human."""

    escalation_min_s: float = Field(default=5.0, ge=0)
    escalation_max_s: float = Field(default=25.0, ge=0)
    escalation_seed: int | None = None
    human_available_probability: float = Field(default=0.6, ge=0, le=1)
    human_agents: tuple[str, ...] = ("Sarah", "Marcus", "Priya")

    @model_validator(mode="after")
    def _check_range(self) -> EscalationSettings:
        if self.escalation_max_s < self.escalation_min_s:
            raise ValueError("escalation_max_s must be >= escalation_min_s")
        return self


class SttSettings(Section):
    """Speech to text: the Whisper model and how it is run."""

    stt_model: Literal["tiny.en", "base.en"] = "tiny.en"
    stt_threads: int = Field(default=1, ge=1, le=16)  # per decode: tiny.en is as fast on one thread as on two
    stt_workers: int = Field(default=2, ge=1, le=16)  # decodes at once, shared by every call of the process
    # Whisper's encoder sees the utterance plus this much padding instead of a fixed 30 s (4x faster here);
    # 0 keeps the classic 30 s window.
    stt_window_margin_s: float = Field(default=7.0, ge=0.0, le=30.0)
    # While a caller speaks, their words so far go to the console this often (0: only final transcripts).
    interim_transcript_every_s: float = Field(default=1.0, ge=0.0, le=10.0)
    # The second opinion (agent/calls/second_opinion.py): a turn with a phone number in it, a name the fast model
    # was unsure of, or a turn the dialog did not understand, is decoded by this more accurate model; "off": never.
    stt_number_model: Literal["base.en", "off"] = "base.en"


class TtsSettings(Section):
    """Text to speech: the engines in fallback order and their files."""

    # hibari (Kokoro af_heart distilled), kokoro (kokoro-onnx with the files below), piper (the optional GPL
    # extra), espeak (espeak-ng, the last resort).
    tts_engines: tuple[Literal["hibari", "kokoro", "piper", "espeak"], ...] = ("hibari", "piper", "espeak")
    kokoro_model_path: Path | None = None
    kokoro_voices_path: Path | None = None
    kokoro_voice: str = "af_heart"
    piper_voice_path: Path | None = None


class VoiceSettings(Section):
    """How a call listens: voice activity, end of turn, barge-in, echo cancellation and noise suppression."""

    vad_aggressiveness: int = Field(default=2, ge=0, le=3)
    vad_energy_threshold: float = Field(default=0.012, ge=0, lt=1)
    vad_start_frames: int = Field(default=3, ge=1)
    vad_stop_frames: int = Field(default=6, ge=1)
    end_of_turn_silence_s: float = Field(default=0.45, gt=0)
    patient_end_of_turn_silence_s: float = Field(default=1.3, gt=0)
    barge_in_min_s: float = Field(default=0.35, gt=0)
    # A caller who speaks again this soon after the end of their turn's speech is going on with it: the two are
    # answered as one utterance (0 turns joining off).
    continuation_window_s: float = Field(default=1.5, ge=0, le=5)
    # WebRTC audio processing (livekit's AudioProcessingModule) on the caller's audio: cancels the agent's
    # own voice coming back from speakerphones, and steady background noise.
    echo_cancellation: bool = False
    noise_suppression: bool = False
    # A turn whose answer is not ready this long after the caller stopped gets a short "One moment." first
    # (an LLM brain on a CPU); None: 1.2 s with the LLM brain, off with the offline one (0 turns it off).
    thinking_ack_after_s: float | None = Field(default=None, ge=0)
    # The answer to a turn that sounds finished is worked out and synthesised while the end-of-turn silence runs,
    # and said the moment the turn is taken (dropped unsaid if the caller goes on). Off: worked out after it.
    prepare_answers: bool = True


class CallSettings(Section):
    """What every call gets, whatever its transport: recording, transfers to humans, hold music."""

    # Recording: every call's audio (stereo WAV: caller left, agent right) and a row in the calls table
    record_calls: bool = True
    recordings_path: Path = PROJECT_ROOT / "data" / "recordings"
    # Transfers: the SIP address of each human; a transfer goes only to targets on the allow-list
    human_sip_uris: dict[str, str] = Field(default_factory=dict)
    transfer_allow_list: tuple[str, ...] = ()  # exact SIP URIs, or "@host" / "@host:port" for a whole host
    hold_music_after_s: float = Field(default=6.0, gt=0)
    # Every call ends politely after this long (the agent says so and hangs up)
    max_call_s: float = Field(default=1800.0, gt=0)
    # Said before the greeting on every call when set ("This call is recorded for quality.")
    recording_notice: str = Field(default="", max_length=500)
    # Recordings older than this are deleted and their calls rows' recording path cleared (0: kept forever)
    recording_retention_days: int = Field(default=90, ge=0)


class SipSettings(Section):
    """The embedded SIP endpoint (single machine, no LiveKit): G.711 over UDP and TCP."""

    sip_enabled: bool = True
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=1, le=65535)
    sip_user: str = "agent"
    rtp_port_min: int = Field(default=10000, ge=1024, le=65535)
    rtp_port_max: int = Field(default=10999, ge=1024, le=65535)
    # Call N+1 is refused with 503 and Retry-After. 12: measured on 2 cores at a caller-line p95 of 1.2 s (README).
    max_calls: int = Field(default=12, ge=1)
    busy_retry_after_s: int = Field(default=30, ge=1)
    media_timeout_s: float = Field(default=15.0, gt=0)  # end a call whose RTP stopped this long ago
    # The receive jitter buffer: every millisecond it holds is a millisecond later the agent hears the caller
    # stop. baresip's own default (fixed, 100 ms) is sized for a person listening; adaptive from 20 ms held
    # 20 ms on every corpus call over loopback and grows only with the jitter it measures (README: SIP figures)
    sip_jitter_buffer: Literal["off", "fixed", "adaptive"] = "adaptive"
    sip_jitter_buffer_min_ms: int = Field(default=20, ge=0, le=1000)
    sip_jitter_buffer_max_ms: int = Field(default=200, ge=20, le=2000)
    sip_answer_delay_s: float = Field(default=0.0, ge=0, le=30)  # ring this long before answering
    # New INVITEs one source address may send (a second, and in a burst); more are answered 503 at once
    sip_invites_per_source_per_s: float = Field(default=2.0, gt=0)
    sip_invite_burst_per_source: int = Field(default=10, ge=1)
    # Calls at once from one source address (0: only max_calls): set it below max_calls when callers reach
    # the endpoint directly, so one source cannot hold every line; leave 0 behind a single trunk
    sip_max_calls_per_source: int = Field(default=0, ge=0)
    # Who may call. Peers (addresses or CIDRs: the trunk's signalling IPs) whose P-Asserted-Identity or
    # Remote-Party-ID is believed; anyone else's caller id is the From user part, an unverified claim
    sip_trusted_peers: tuple[str, ...] = ()
    # Other peers: None allows them in development or on a loopback AGENT_SIP_HOST and refuses them (403) in
    # production on a network address
    sip_allow_untrusted: bool | None = None
    # Set: other peers must answer a digest challenge (401); one that does is believed like a trusted peer
    sip_auth_username: str = ""
    sip_auth_password: SecretStr = SecretStr("")
    sip_auth_nonce_ttl_s: float = Field(default=300.0, gt=0, le=3600)

    @field_validator("sip_trusted_peers")
    @classmethod
    def _check_peers(cls, peers: tuple[str, ...]) -> tuple[str, ...]:
        for peer in peers:
            ipaddress.ip_network(peer.strip(), strict=False)
        return peers

    @model_validator(mode="after")
    def _check_ports(self) -> SipSettings:
        if self.rtp_port_max <= self.rtp_port_min:
            raise ValueError("rtp_port_max must be above rtp_port_min")
        if self.sip_jitter_buffer_max_ms <= self.sip_jitter_buffer_min_ms:
            raise ValueError("sip_jitter_buffer_max_ms must be above sip_jitter_buffer_min_ms")
        if bool(self.sip_auth_username) != bool(self.sip_auth_password.get_secret_value()):
            raise ValueError("set both AGENT_SIP_AUTH_USERNAME and AGENT_SIP_AUTH_PASSWORD, or neither")
        return self


class WebRtcSettings(Section):
    """Browser calls over WebRTC (aiortc, embedded): POST /api/voice/webrtc answers the browser's SDP offer."""

    webrtc_enabled: bool = True
    max_browser_calls: int = Field(default=4, ge=1)  # offer N+1 is answered 503
    max_browser_calls_per_client: int = Field(default=2, ge=1)  # lines one client may hold (429 past it)
    max_browser_calls_per_session: int = Field(default=1, ge=1)
    webrtc_host_addresses: tuple[str, ...] = ()  # host ICE candidates (empty: every interface but loopback)
    webrtc_ice_servers: tuple[str, ...] = ()  # STUN/TURN URLs (empty: host candidates only)
    # A browser call ends (ended_by "timeout") when its browser has not connected, or has sent nothing at
    # all (audio, RTCP reports, DTLS) for this long: it vanished without hanging up (a muted one sends RTCP).
    webrtc_peer_timeout_s: float = Field(default=15.0, gt=0)


class LiveKitSettings(Section):
    """LiveKit: tokens for browser rooms, and the production SIP path (livekit-sip bridges calls into rooms)."""

    livekit_url: str = "ws://127.0.0.1:7880"
    livekit_api_key: str = "devkey"
    livekit_api_secret: SecretStr = SecretStr("devsecret-devsecret-devsecret-0123")
    voice_token_ttl_s: int = Field(default=600, gt=0, le=86400)
    # A verified webhook (POST /livekit/webhook) tells the agent a SIP caller joined a room with the prefix.
    livekit_enabled: bool = False
    livekit_room_prefix: str = Field(default="call-", min_length=1)
    livekit_agent_identity: str = "agent"  # the agent joins room R as "<identity>-R"
    livekit_join_timeout_s: float = Field(default=10.0, gt=0)  # wait this long for the caller's audio
    # `python -m agent livekit provision`: the inbound trunk and the dispatch rule (one room per caller)
    livekit_sip_trunk_name: str = "dealership-inbound"
    livekit_sip_dispatch_rule_name: str = "dealership-calls"
    livekit_sip_numbers: tuple[str, ...] = ()  # the dealership's numbers, E.164 ("+15551230000")
    livekit_sip_allowed_addresses: tuple[str, ...] = ()  # the trunk provider's signalling IPs / CIDRs
    livekit_sip_auth_username: str = ""  # digest auth the provider must answer (empty: none)
    livekit_sip_auth_password: SecretStr = SecretStr("")
    livekit_outbound_trunk_id: str = ""  # for callbacks; empty: the trunk named below, found by `provision`
    # The outbound trunk `livekit provision` creates for callbacks (empty address: none is provisioned)
    livekit_sip_outbound_trunk_name: str = "dealership-outbound"
    livekit_sip_outbound_address: str = ""  # the provider's SIP host for outbound calls ("sip.example.net")
    livekit_sip_outbound_auth_username: str = ""
    livekit_sip_outbound_auth_password: SecretStr = SecretStr("")
    # Calls through LiveKit at once in this process; one more hears a short busy message (and is offered a
    # callback) instead of waiting.
    livekit_max_calls: int = Field(default=12, ge=1)
    # A room is claimed in Redis (SET NX) by the process that runs its call, for this long, renewed while the
    # call lasts: a webhook LiveKit retries to another process is not handled twice.
    livekit_room_claim_ttl_s: int = Field(default=30, ge=5)
    # Callbacks from the callbacks table are dialled through the outbound trunk when due.
    livekit_callbacks_enabled: bool = True
    livekit_callback_poll_s: float = Field(default=30.0, gt=0)
    livekit_callback_retry_after_s: int = Field(default=900, ge=1)
    livekit_callback_attempts: int = Field(default=3, ge=1)
    livekit_busy_callback_after_s: int = Field(default=900, ge=0)  # when the busy caller is called back


class Settings(BaseModel):
    """Everything configurable, in sections; built once from the environment (and `.env`).

    `Settings(sip_port=5070, brain="llm")` takes the flat names too (the CLI and tests use them): each goes
    to the section that holds it. `_env_file=None` ignores the `.env` file.
    """

    model_config = ConfigDict(frozen=True)
    SECTIONS: ClassVar[dict[str, type[Section]]] = {
        "server": ServerSettings,
        "store": StoreSettings,
        "dialog": DialogSettings,
        "escalation": EscalationSettings,
        "stt": SttSettings,
        "tts": TtsSettings,
        "voice": VoiceSettings,
        "calls": CallSettings,
        "sip": SipSettings,
        "webrtc": WebRtcSettings,
        "livekit": LiveKitSettings,
    }

    server: ServerSettings = Field(default_factory=ServerSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    dialog: DialogSettings = Field(default_factory=DialogSettings)
    escalation: EscalationSettings = Field(default_factory=EscalationSettings)
    stt: SttSettings = Field(default_factory=SttSettings)
    tts: TtsSettings = Field(default_factory=TtsSettings)
    voice: VoiceSettings = Field(default_factory=VoiceSettings)
    calls: CallSettings = Field(default_factory=CallSettings)
    sip: SipSettings = Field(default_factory=SipSettings)
    webrtc: WebRtcSettings = Field(default_factory=WebRtcSettings)
    livekit: LiveKitSettings = Field(default_factory=LiveKitSettings)

    @model_validator(mode="before")
    @classmethod
    def _sections_from_flat_names(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        flat = dict(values)
        env_file = flat.pop("_env_file", ".env")
        built: dict[str, Any] = {}
        for name, section in cls.SECTIONS.items():
            given = flat.pop(name, None)
            if isinstance(given, Section):
                built[name] = given
                continue
            mine = {field: flat.pop(field) for field in section.model_fields if field in flat}
            built[name] = section(_env_file=env_file, **mine)
        if flat:
            raise ValueError(f"unknown settings: {', '.join(sorted(flat))}")
        return built

    @classmethod
    def section_of(cls, flat_name: str) -> str:
        """The section that holds a flat setting name (`sip_port` -> `sip`)."""
        for name, section in cls.SECTIONS.items():
            if flat_name in section.model_fields:
                return name
        raise KeyError(flat_name)

    @classmethod
    def environment_names(cls) -> set[str]:
        """Every `AGENT_*` variable a setting is read from."""
        return {
            f"AGENT_{field}".upper() for section in cls.SECTIONS.values() for field in section.model_fields
        }

    def replace(self, **flat: Any) -> Settings:
        """A copy with some settings changed, by flat name (validated like the environment's values)."""
        changed: dict[str, dict[str, Any]] = {}
        for field, value in flat.items():
            changed.setdefault(self.section_of(field), {})[field] = value
        sections = {
            name: type(getattr(self, name)).model_validate(getattr(self, name).model_dump() | updates)
            for name, updates in changed.items()
        }
        return self.model_copy(update=sections)


def load_settings(**overrides: object) -> Settings:
    """Build the settings from the environment, with explicit overrides (for the CLI and tests)."""
    return Settings(**overrides)
