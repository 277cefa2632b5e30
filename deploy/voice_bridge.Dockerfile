# The voice bridge as a container, for ECS/Fargate or any host:
#   docker build -f deploy/voice_bridge.Dockerfile -t oratio-voice .
#   docker run -p 8090:8090 -e ORATIO_STORE=dynamodb -e ORATIO_BLOBS=s3 ... oratio-voice
# Configuration is ORATIO_* environment variables only (docs/aws.md); no secret is baked into the image.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    ORATIO_DATA_DIR=/tmp/oratio

# espeak-ng: the local cascade's text-to-speech fallback. Debian's version follows the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends espeak-ng \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 oratio

WORKDIR /app
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY oratio ./oratio
COPY oratio_app ./oratio_app
COPY dashboard ./dashboard
COPY creator_agent ./creator_agent
COPY agentcore_apps ./agentcore_apps
COPY mcp_server ./mcp_server
COPY voice_bridge ./voice_bridge
COPY deploy ./deploy
# This checkout itself; its dependencies are bounded in pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir '.[voice]'

USER 10001

EXPOSE 8090
CMD ["python", "-m", "oratio_app", "serve-door", "voice", "--host", "0.0.0.0", "--port", "8090"]
