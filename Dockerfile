# The edge's image: static binaries on an empty base, run as a non-root
# user, the data directory a volume. The base images are build arguments,
# so a machine without a registry can build it from images it made itself
# (make docker-test imports the host's Go toolchain as BUILD_IMAGE).
#
#   docker build --build-arg BUILD_IMAGE=golang:1.26 -t edge .
#
# The build context must hold the module's dependencies in vendor/
# (go mod vendor): the build needs no network.
ARG BUILD_IMAGE=golang:1.26
ARG RUN_IMAGE=scratch

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY . .
# Exec form throughout: a toolchain-only base image has no shell.
ENV CGO_ENABLED=0 GOFLAGS=-mod=vendor GOCACHE=/tmp/gocache GOPATH=/tmp/gopath GOTOOLCHAIN=local
RUN ["go", "build", "-trimpath", "-ldflags=-s -w", "-o", "/out/", "./cmd/edge", "./cmd/origin", "./cmd/edgectl", "./cmd/loadtest"]

FROM ${RUN_IMAGE}
COPY --from=build /out/ /
# The CAs HTTPS origins (R2, S3), ACME CAs and rediss:// are checked against.
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
# An empty directory the non-root user owns: the data volume's mount point.
COPY --from=build --chown=65532:65532 /src/docker/empty /data
USER 65532:65532
WORKDIR /
VOLUME ["/data"]
# 8080 HTTP, 8443 HTTPS, 9000 the embedded S3 API, 8081 admin (bound to
# all addresses here: the container's loopback is not the host's).
EXPOSE 8080 8443 9000 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s CMD ["/edge", "healthcheck"]
ENTRYPOINT ["/edge"]
CMD ["-admin", ":8081", "-data", "/data"]
