# Sotto in one container: a static binary on distroless, as a non-root user,
# with nothing writable needed. README.md (Deploy) has the commands.
#
# e2etest/docker_test.go's TestDockerImageBinary reads this file: it builds with the
# `go build` line below exactly as written, runs the binary as the USER below
# with the ENV below, and runs the HEALTHCHECK command. Keep each on one line.

# Build stage. go.mod asks for Go 1.26.8; an older 1.26 image fetches it.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git, so Go cannot stamp the revision itself: the
# builder passes it in (README, Deploy), and `sotto version` and the
# sotto_build_info metric show it.
ARG REVISION=unknown
ARG BUILD_DATE=unknown
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.buildRevision=${REVISION} -X main.buildDate=${BUILD_DATE}" -o /out/sotto .
# An empty directory owned by the runtime user, so that a volume mounted at
# /acme (for --acme-cache) is writable by it. Nothing else is.
RUN mkdir /out/acme

# Runtime: no shell, no package manager; CA certificates and tzdata only.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sotto /sotto
COPY --from=build --chown=65532:65532 /out/acme /acme
# distroless's "nonroot" user.
USER 65532:65532
# One TCP port carries HTTPS and ICE-TCP, one UDP port carries voice: 443/tcp
# and 443/udp are the whole service. Docker lets a non-root process bind
# ports below 1024 inside its own network namespace.
ENV SOTTO_ADDR=:443 SOTTO_UDP_PORT=443
EXPOSE 443/tcp 443/udp
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/sotto","healthcheck"]
ENTRYPOINT ["/sotto"]
