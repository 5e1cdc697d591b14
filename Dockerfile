# openclaw gateway: the kernel, the Telegram channel and the built-in tools.
#   docker compose -f docker-compose.gateway.yml up -d
FROM python:3.12-slim

# ffmpeg: voice notes (decode incoming audio, encode spoken replies)
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY openclaw ./openclaw
COPY plugins/openclaw-channel-telegram ./plugins/openclaw-channel-telegram
COPY plugins/openclaw-tools-builtin ./plugins/openclaw-tools-builtin
RUN pip install --no-cache-dir . ./plugins/openclaw-channel-telegram ./plugins/openclaw-tools-builtin

RUN useradd --create-home --uid 1000 openclaw \
    && mkdir -p /data /workspace \
    && chown openclaw:openclaw /data /workspace
USER openclaw

# The config is mounted read-only; sessions.db and pairing.json live in the /data volume.
ENV OPENCLAW_HOME=/data \
    OPENCLAW_CONFIG=/config/openclaw.json \
    PYTHONUNBUFFERED=1
EXPOSE 3100
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3100/health', timeout=4)"
# Listen on every interface inside the container; compose publishes the port on localhost only.
CMD ["openclaw", "gateway", "--host", "0.0.0.0", "--port", "3100"]
