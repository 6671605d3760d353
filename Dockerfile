# The worker image: what scripts/bootstrap installs, minus the test bed. The same image runs
# livekit-server and livekit-sip (built from their Go modules, as bootstrap builds them) and
# the dashboard, so docker-compose.yml needs nothing from another registry but Debian's,
# PyPI's and the Go module proxy's packages.
ARG LIVEKIT_SERVER_VERSION=v1.13.5
ARG LIVEKIT_SIP_VERSION=v1.8.0

FROM golang:1.26-bookworm AS livekit-build
ARG LIVEKIT_SERVER_VERSION
ARG LIVEKIT_SIP_VERSION
# livekit-sip links Opus and SoX's resampler through cgo
RUN apt-get update && apt-get install -y --no-install-recommends \
        libopus-dev libopusfile-dev libsoxr-dev pkg-config \
    && rm -rf /var/lib/apt/lists/*
# go.mod of livekit-server carries replace directives, so install from inside the module
RUN go mod download github.com/livekit/livekit-server@${LIVEKIT_SERVER_VERSION} \
    && cd "$(go env GOMODCACHE)/github.com/livekit/livekit-server@${LIVEKIT_SERVER_VERSION}" \
    && GOFLAGS=-mod=readonly GOBIN=/out go install ./cmd/server \
    && mv /out/server /out/livekit-server
RUN go mod download github.com/livekit/sip@${LIVEKIT_SIP_VERSION} \
    && cd "$(go env GOMODCACHE)/github.com/livekit/sip@${LIVEKIT_SIP_VERSION}" \
    && GOFLAGS=-mod=readonly GOBIN=/out go install ./cmd/livekit-sip

# the console's browser client for listen, take-over and test calls, from npm (as bootstrap)
FROM node:22-bookworm-slim AS web-vendor
ARG LIVEKIT_CLIENT_VERSION=2.23.0
RUN npm install --no-save --no-audit --no-fund --prefix /web-vendor \
        "livekit-client@${LIVEKIT_CLIENT_VERSION}"

FROM python:3.11-slim-bookworm
# espeak-ng renders the pre-recorded lines; Opus/opusfile/SoX resampler for livekit-sip
RUN apt-get update && apt-get install -y --no-install-recommends \
        espeak-ng sox libopus0 libopusfile0 libsoxr0 ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY --from=livekit-build /out/livekit-server /out/livekit-sip /usr/local/bin/
COPY --from=web-vendor /web-vendor/node_modules/livekit-client/dist /app/web-vendor/node_modules/livekit-client/dist
WORKDIR /app
COPY pyproject.toml README.md ./
COPY agent agent
COPY audio audio
COPY tools tools
COPY state state
COPY sip sip
COPY dashboard dashboard
COPY playbooks playbooks
COPY benchmarks benchmarks
COPY devstack devstack
COPY realtime_simulator realtime_simulator
COPY simulated_caller simulated_caller
COPY twilio_simulator twilio_simulator
COPY testbed testbed
COPY recording recording
COPY evals evals
RUN pip install --no-cache-dir . \
    && python -c "from livekit.plugins import silero; silero.VAD.load()" \
    && useradd --system --uid 10001 --home-dir /app intake
USER intake
ENV INTAKE_ENV=production INTAKE_WORKER_HTTP_PORT=8081 PYTHONUNBUFFERED=1 \
    INTAKE_WEB_VENDOR_DIR=/app/web-vendor
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s \
    CMD python -c "import urllib.request,os; urllib.request.urlopen('http://127.0.0.1:' + os.environ['INTAKE_WORKER_HTTP_PORT'] + '/healthz', timeout=2)"
# SIGTERM drains: no new calls, live calls finish within INTAKE_DRAIN_TIMEOUT_SECONDS
STOPSIGNAL SIGTERM
CMD ["intake", "start"]
