"""The aiohttp server: JSON API, WebSocket fan-out, LiveKit tokens, health and metrics."""
