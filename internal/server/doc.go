// Package server assembles Sotto's server from its parts (room, signal, sfu,
// operator, metrics, tlsconf, static) and runs it. The root main package is
// only the entry point; the system tests (e2etest) start the server in
// their own process through the same few names:
//
//   - ParseConfig reads the flags and SOTTO_* variables into a Config and
//     refuses what is contradictory or unsafe (plain HTTP off loopback);
//   - Run serves a Config until its context ends, then shuts down;
//   - HealthcheckMain is `sotto healthcheck`, VersionMain `sotto version`
//     (ErrShowVersion is ParseConfig's answer to --version), Stamp what
//     the linker wrote into main;
//   - TCPConnsPerWebSocket is the per-address TCP cap's factor, which a
//     system test fills.
//
// One file a job: config.go, tls.go (transport mode and TLS), proxy.go
// (trusted proxy, forwarded headers), banner.go (start-up lines and QR),
// healthcheck.go, floodlistener.go and addrlimit.go (connections refused at
// accept), operator.go (operator-mode wiring), logging.go, routes.go
// (paths and security headers), version.go, run.go (wiring and shutdown).
// Each has its _test.go, and none needs a browser.
package server
