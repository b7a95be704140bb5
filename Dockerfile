# syntax=docker/dockerfile:1
#
# orderd image: both binaries, orderd (the daemon, the entrypoint) and
# producer (publishes generated orders; docker-compose.yml's producer service
# overrides the entrypoint to run it). Needs BuildKit (the default builder of
# current Docker and of docker compose) for RUN --mount and $BUILDPLATFORM.
#
#   docker build -t orderd:local .
#   docker run --rm orderd:local -h                    # orderd's settings
#   docker run --rm --entrypoint /usr/local/bin/producer orderd:local -h

# Build stage.
#
# go.mod says "go 1.26.8", and the official golang images set
# GOTOOLCHAIN=local, so an older Go in the image would refuse to build
# ("go.mod requires go >= 1.26.8") instead of fetching a newer toolchain.
# Hence an exact patch tag equal to go.mod's go line, not golang:1.26 (which
# moves) or an older patch. The official golang image publishes a -bookworm
# variant for every supported release (alongside -trixie and -alpine); bookworm
# matches the Debian 12 base of the distroless runtime image below. With
# CGO_ENABLED=0 the build distro does not affect the binaries, so switching to
# -trixie is harmless if a tag is ever missing. Bump GO_VERSION together with
# go.mod's go line.
ARG GO_VERSION=1.26.8

# --platform=$BUILDPLATFORM: compile natively and cross-compile through
# GOOS/GOARCH (pure Go, no cgo) instead of emulating the target architecture
# when building multi-platform images with buildx.
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src

# Modules first, in their own layer: it is rebuilt only when go.mod or go.sum
# change, not on every source edit.
COPY go.mod go.sum ./
RUN go mod download && go mod verify

COPY . .

# TARGETOS/TARGETARCH are set by BuildKit for the platform being built.
# The build cache mount speeds up rebuilds; it never ends up in an image.
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags="-s -w" -o /out/ ./cmd/orderd ./cmd/producer

# Runtime stage: distroless static, no shell, no package manager, runs as
# the unprivileged "nonroot" user (uid 65532). It carries CA certificates and
# tzdata, which is all statically linked Go binaries need. For production,
# pin it by digest (gcr.io/distroless/static-debian12:nonroot@sha256:...).
FROM gcr.io/distroless/static-debian12:nonroot

COPY --from=build /out/orderd /out/producer /usr/local/bin/

USER nonroot:nonroot

# HTTP (HTTP_ADDR, default :8081): GET /order/{order_uid}, the UI, /metrics,
# and the probes /livez, /readyz and /health.
EXPOSE 8081

# orderd probes itself, as the image has no shell and no curl or wget:
# `orderd -probe URL` GETs the URL and exits 0 on a 2xx, 1 otherwise, and
# does nothing else. It probes /livez (200 unless a worker is stuck), not
# /readyz or /health: an engine that acts on the status (Swarm replaces an
# unhealthy task) must not restart orderd while it warms its cache, or while
# Kafka or PostgreSQL are away, which no restart heals. docker-compose.yml
# overrides this with /readyz, whose status nothing restarts for; Kubernetes
# ignores HEALTHCHECK and uses the probes in deploy/kubernetes. The port is
# HTTP_ADDR's default: with another HTTP_ADDR, override the healthcheck too.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["/usr/local/bin/orderd", "-probe", "http://127.0.0.1:8081/livez"]

# Exec form, so orderd is PID 1 and receives SIGTERM itself on `docker stop`;
# /readyz then turns 503 while HTTP serves on for SHUTDOWN_GRACE (default
# 5s), and the pipeline drains within SHUTDOWN_TIMEOUT (default 30s). Give
# the container a stop timeout longer than both together (docker stop -t 45,
# compose stop_grace_period, Kubernetes terminationGracePeriodSeconds).
ENTRYPOINT ["/usr/local/bin/orderd"]
