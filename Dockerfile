# The dealership agent: HTTP API, web console and the LiveKit webhook on port 8080.

# The console's LiveKit browser SDK comes from npm at build time (never from a CDN at run time).
FROM node:20-slim AS console-sdk
WORKDIR /console
COPY web_console/package.json web_console/package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM python:3.11-slim

# espeak-ng is the last-resort voice; libgomp1 is needed by onnxruntime and faster-whisper.
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng libgomp1 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent ./agent
COPY telephony ./telephony
RUN pip install --no-cache-dir .
COPY fixtures/dealership.yaml ./fixtures/dealership.yaml
COPY web_console ./web_console
COPY --from=console-sdk /console/node_modules ./web_console/node_modules

# An installed package has no project folder: say where the seed data and the writable data live.
ENV AGENT_SEED_PATH=/app/fixtures/dealership.yaml \
    AGENT_CONSOLE_PATH=/app/web_console \
    AGENT_DATABASE_PATH=/data/dealership.db \
    AGENT_RECORDINGS_PATH=/data/recordings \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080

CMD ["python", "-m", "agent", "serve", "--host", "0.0.0.0"]
