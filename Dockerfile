# The dealership agent: HTTP API, web console and the LiveKit webhook on port 8080 (README "Operations").
# Base images are pinned to exact releases; Python packages come from requirements.lock with their hashes.

# The console's LiveKit browser SDK comes from npm at build time (never from a CDN at run time).
FROM node:20.19.5-bookworm-slim AS console-sdk
WORKDIR /console
COPY web_console/package.json web_console/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11.14-slim-bookworm

# espeak-ng is the last-resort voice; libgomp1 is needed by onnxruntime and faster-whisper.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libgomp1 \
    && rm -rf /var/lib/apt/lists/*

# The agent runs as an unprivileged user that owns only /data (the database, recordings).
RUN groupadd --system --gid 10001 agent \
    && useradd --system --uid 10001 --gid agent --create-home --home-dir /home/agent --shell /usr/sbin/nologin agent \
    && mkdir -p /data \
    && chown agent:agent /data

WORKDIR /app
# Every dependency pinned and checked against its sha256 (scripts/lock refreshes the file), then the agent.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY telephony ./telephony
RUN pip install --no-cache-dir --no-deps . && rm -rf build
COPY fixtures/dealership.yaml ./fixtures/dealership.yaml
COPY web_console ./web_console
COPY --from=console-sdk /console/node_modules ./web_console/node_modules

# An installed package has no project folder: say where the seed data and the writable data live.
# Production mode: no LiveKit dev keys, an operator token required, operator endpoints behind the Host allow-list.
ENV AGENT_ENVIRONMENT=production \
    AGENT_SEED_PATH=/app/fixtures/dealership.yaml \
    AGENT_CONSOLE_PATH=/app/web_console \
    AGENT_DATABASE_PATH=/data/dealership.db \
    AGENT_RECORDINGS_PATH=/data/recordings \
    HF_HUB_OFFLINE=1 \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080
USER agent

# Healthy once the database and the state store answer (GET /health is 503 while either is down).
HEALTHCHECK --interval=15s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('AGENT_PORT', '8080') + '/health', timeout=4).status != 200)"]

# SIGTERM starts the drain (AGENT_DRAIN_TIMEOUT_S); compose's stop_grace_period leaves it the time it needs.
STOPSIGNAL SIGTERM
CMD ["python", "-m", "agent", "serve", "--host", "0.0.0.0"]
