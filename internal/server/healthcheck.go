package server

// `sotto healthcheck`: probes a server configured by the same flags and
// environment (the container image has no shell or curl).

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"sotto/tlsconf"
)

// HealthcheckMain is `sotto healthcheck [flags]`: exit 0 if the server the
// same flags and environment describe answers /readyz with 200, else 1
// (Docker reserves 2, so a bad configuration is 1 too).
func HealthcheckMain(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := ParseConfig(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "sotto healthcheck:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), healthcheckTimeout)
	defer cancel()
	if err := healthcheck(ctx, cfg); err != nil {
		fmt.Fprintln(stderr, "sotto healthcheck:", err)
		return 1
	}
	fmt.Fprintln(stdout, "ready")
	return 0
}

// healthcheck GETs /readyz from the server cfg describes.
func healthcheck(ctx context.Context, cfg Config) error {
	target, tc, err := healthTarget(cfg)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{
			TLSClientConfig:   tc,
			Proxy:             nil, // never through an HTTP_PROXY from the environment
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, io.LimitReader(res.Body, healthcheckBodyLimit))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", target, res.Status)
	}
	return nil
}

// healthTarget is the /readyz URL of the server cfg describes, dialed on
// loopback when it listens on every interface, and the TLS configuration to
// reach it with. Certificate checks are skipped on loopback (nothing
// crosses a network, and the certificate may be for a domain or made at the
// server's start) and for --self-signed anywhere (another process made the
// certificate); the probe sends nothing and believes only a status code.
func healthTarget(cfg Config) (string, *tls.Config, error) {
	host, port, err := net.SplitHostPort(cfg.addr)
	if err != nil {
		return "", nil, fmt.Errorf("--addr: %w", err)
	}
	if port == "" || port == "0" {
		return "", nil, fmt.Errorf("--addr %q has no fixed port to probe", cfg.addr)
	}
	// Every interface, or "localhost" (a name would be sent as the TLS
	// server name, which an ACME server refuses): the IPv4 loopback.
	if a, err := netip.ParseAddr(host); host == "" || strings.EqualFold(host, "localhost") || (err == nil && a.IsUnspecified()) {
		host = "127.0.0.1"
	}
	hostport := net.JoinHostPort(host, port)
	mode := cfg.mode()
	if !mode.tls() {
		return "http://" + hostport + "/readyz", nil, nil
	}
	tc := tlsconf.Base()
	switch {
	case isLoopbackHost(host) || mode == modeSelfSigned:
		tc.InsecureSkipVerify = true
	case mode == modeACME:
		tc.ServerName = cfg.acmeDomains[0]
	}
	return "https://" + hostport + "/readyz", tc, nil
}
