// Sotto serves private push-to-talk voice rooms: the web app, embedded in this
// binary, and the WebSocket signaling that rooms need. Rooms live in memory only.
//
// This file is the entry point only: it picks the subcommand (`sotto`,
// `sotto healthcheck`, `sotto version`) and hands over to internal/server,
// which assembles the server, one file a job (config, tls, proxy, banner,
// healthcheck, the flood and address-limit listeners, operator wiring,
// logging, routes, run and shutdown). Each other job has its package: room/
// (registry and floor), signal/ (WebSocket protocol), sfu/ (media
// forwarding), operator/ (tokens and API), metrics/, tlsconf/ (certificates),
// termqr/ (the LAN address as a QR code), static/ (the app). The tests of the
// whole, the binary and the app in real browsers, are in e2etest/.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"sotto/internal/server"
)

// Set at link time by the Dockerfile and `make build` (-X
// main.buildRevision=... -X main.buildDate=...); empty in a plain `go build`,
// where Go's build info has them.
var (
	buildRevision string
	buildDate     string
)

func main() {
	stamp := server.Stamp{Revision: buildRevision, Date: buildDate}
	if len(os.Args) > 1 && os.Args[1] == "healthcheck" {
		os.Exit(server.HealthcheckMain(os.Args[2:], os.Getenv, os.Stdout, os.Stderr))
	}
	if len(os.Args) > 1 && os.Args[1] == "version" {
		os.Exit(server.VersionMain(os.Stdout, stamp))
	}
	cfg, err := server.ParseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if errors.Is(err, server.ErrShowVersion) {
		os.Exit(server.VersionMain(os.Stdout, stamp))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sotto:", err)
		os.Exit(2)
	}
	cfg.Stamp = stamp
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := server.Run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "sotto:", err)
		os.Exit(1)
	}
}
