"""Production mode: the settings the agent refuses to start with when AGENT_ENVIRONMENT=production."""

from __future__ import annotations

from agent.config import LiveKitSettings, Settings

# The development key pair in agent/config.py: anyone who knows it could mint tokens and forge webhooks.
DEV_LIVEKIT_KEY: str = LiveKitSettings.model_fields["livekit_api_key"].default
DEV_LIVEKIT_SECRET: str = LiveKitSettings.model_fields["livekit_api_secret"].default.get_secret_value()
MIN_SECRET_CHARS = 32  # what livekit-server asks of an API secret
MIN_OPERATOR_TOKEN_CHARS = 16


class UnsafeProductionSettings(SystemExit):
    """Raised by the app factory; uncaught, it ends the process with its one-line reason and status 1."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("refusing to start in production: " + "; ".join(problems))


def production_problems(settings: Settings) -> list[str]:
    """What makes these settings unsafe for production (empty in development, or when all is well)."""
    if settings.server.environment != "production":
        return []
    problems: list[str] = []
    livekit = settings.livekit
    secret = livekit.livekit_api_secret.get_secret_value()
    if livekit.livekit_api_key == DEV_LIVEKIT_KEY or secret == DEV_LIVEKIT_SECRET:
        problems.append(
            "the LiveKit development key or secret is set "
            "(set AGENT_LIVEKIT_API_KEY and AGENT_LIVEKIT_API_SECRET to your own pair)"
        )
    elif len(secret) < MIN_SECRET_CHARS:
        problems.append(f"AGENT_LIVEKIT_API_SECRET is shorter than {MIN_SECRET_CHARS} characters")
    token = settings.server.operator_token.get_secret_value() if settings.server.operator_token else ""
    if not token.strip():
        problems.append("AGENT_OPERATOR_TOKEN is not set (operators need it for calls and recordings)")
    elif len(token) < MIN_OPERATOR_TOKEN_CHARS:
        problems.append(f"AGENT_OPERATOR_TOKEN is shorter than {MIN_OPERATOR_TOKEN_CHARS} characters")
    return problems


def check_production(settings: Settings) -> None:
    """Refuse unsafe production settings before anything opens (raises UnsafeProductionSettings)."""
    problems = production_problems(settings)
    if problems:
        raise UnsafeProductionSettings(problems)
