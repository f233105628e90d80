# syntax=docker/dockerfile:1
# ffrtmp-master: the farm's master (job API, scheduler, bbolt store). It links no C, so the
# image is one static binary on distroless: no shell, no package manager, a non-root user.
#
#   docker build -t ffrtmp-master .
#   docker run -d -p 8080:8080 -v ffrtmp-master:/data -e MASTER_API_KEY=K ffrtmp-master
#   docker run -d -p 8080:8080 -v ffrtmp-master:/data -v ffrtmp-backups:/backups \
#     -e MASTER_API_KEY=K ffrtmp-master --backup-dir /backups
#
# The database is /data/master.db (FFRTMP_MASTER_DB below); every flag can be given after the
# image name or as FFRTMP_MASTER_<FLAG>. The workers' image is Dockerfile.cuda;
# deploy/compose.yaml runs both with Prometheus and Grafana (doc/operations.md, Containers).

ARG GO_IMAGE=golang:1.26.8
ARG BASE_IMAGE=gcr.io/distroless/static-debian12:nonroot

FROM ${GO_IMAGE} AS build
ARG VERSION=dev
ARG COMMIT=
ENV CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
WORKDIR /src
# Modules first, from the module files alone, so source edits do not download them again.
COPY go.mod go.sum ./
COPY api/go.* api/
RUN go mod download
COPY . .
RUN go build -trimpath \
      -ldflags "-s -w -X github.com/ffrtmp/ffrtmp/internal/version.Version=${VERSION} -X github.com/ffrtmp/ffrtmp/internal/version.Commit=${COMMIT}" \
      -o /out/ffrtmp-master ./cmd/ffrtmp-master \
 && /out/ffrtmp-master --help >/dev/null \
 && mkdir -p /out/data /out/backups

FROM ${BASE_IMAGE} AS runtime
COPY --from=build /out/ffrtmp-master /usr/local/bin/ffrtmp-master
# Owned by distroless's nonroot user (65532), so a fresh named volume is writable.
COPY --from=build --chown=65532:65532 /out/data /data
COPY --from=build --chown=65532:65532 /out/backups /backups
USER 65532:65532
WORKDIR /data
ENV FFRTMP_MASTER_DB=/data/master.db
VOLUME ["/data"]
# API, metrics, RTMP ingest.
EXPOSE 8080 9090 1935
# No shell or curl on distroless: the binary checks itself. A master serving TLS needs
# --url https://127.0.0.1:8080/healthz and --ca (or --insecure-skip-verify for its own
# self-signed certificate): override HEALTHCHECK, or the healthcheck in compose.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["/usr/local/bin/ffrtmp-master", "healthcheck", "--url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/ffrtmp-master"]
