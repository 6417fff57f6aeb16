package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestParseConfigTransport(t *testing.T) {
	ok := []struct {
		args []string
		env  map[string]string
		mode transportMode
	}{
		{nil, nil, modeLoopbackHTTP},
		{[]string{"--addr", "localhost:8080"}, nil, modeLoopbackHTTP},
		{[]string{"--addr", "[::1]:8080"}, nil, modeLoopbackHTTP},
		{[]string{"--addr", ":443", "--self-signed"}, nil, modeSelfSigned},
		{nil, map[string]string{"SOTTO_ADDR": ":443", "SOTTO_SELF_SIGNED": "true"}, modeSelfSigned},
		{[]string{"--addr", ":443", "--acme-domain", "Talk.Example.com."}, nil, modeACME},
		{nil, map[string]string{"SOTTO_ADDR": ":443", "SOTTO_ACME_DOMAIN": "a.example.com,b.example.com", "SOTTO_ACME_CACHE": "/acme"}, modeACME},
		{[]string{"--addr", ":443", "--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, modeCertFiles},
		{nil, map[string]string{"SOTTO_ADDR": ":443", "SOTTO_TLS_CERT": "c.pem", "SOTTO_TLS_KEY": "k.pem"}, modeCertFiles},
		{[]string{"--addr", ":8080", "--behind-proxy", "--trusted-proxy", "10.0.0.0/8, 192.0.2.1"}, nil, modeProxy},
		{nil, map[string]string{"SOTTO_ADDR": ":8080", "SOTTO_BEHIND_PROXY": "1", "SOTTO_TRUSTED_PROXY": "::ffff:10.0.0.0/104"}, modeProxy},
		{[]string{"--self-signed"}, nil, modeSelfSigned}, // TLS on loopback is fine too
	}
	for _, tc := range ok {
		c, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err != nil {
			t.Errorf("%q %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.mode() != tc.mode {
			t.Errorf("%q %v: mode %d, want %d", tc.args, tc.env, c.mode(), tc.mode)
		}
	}
	c, _ := parseConfig([]string{"--addr", ":443", "--acme-domain", "Talk.Example.com."}, noEnv, io.Discard)
	if strings.Join(c.acmeDomains, ",") != "talk.example.com" {
		t.Errorf("domains %q", c.acmeDomains)
	}
	c, _ = parseConfig(nil, func(k string) string {
		return map[string]string{"SOTTO_ADDR": ":8080", "SOTTO_BEHIND_PROXY": "1", "SOTTO_TRUSTED_PROXY": "10.1.2.3, 2001:db8::/32, ::ffff:10.0.0.0/104"}[k]
	}, io.Discard)
	var got []string
	for _, p := range c.trustedProxies {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.1.2.3/32 2001:db8::/32 10.0.0.0/8" {
		t.Errorf("trusted proxies %q", got)
	}

	bad := []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--addr", ":8080"}, nil, "refusing to serve plain HTTP"},
		{[]string{"--addr", "0.0.0.0:8080"}, nil, "refusing to serve plain HTTP"},
		{[]string{"--addr", "192.0.2.7:8080"}, nil, "refusing to serve plain HTTP"},
		{[]string{"--addr", "myhost:8080"}, nil, "refusing to serve plain HTTP"},
		{nil, map[string]string{"SOTTO_ADDR": ":443"}, "refusing to serve plain HTTP"},
		{[]string{"--addr", "nonsense"}, nil, "--addr"},
		{[]string{"--tls-cert", "c.pem"}, nil, "go together"},
		{[]string{"--self-signed", "--acme-domain", "a.example.com"}, nil, "choose one"},
		{[]string{"--self-signed", "--tls-cert", "c", "--tls-key", "k"}, nil, "choose one"},
		{[]string{"--behind-proxy", "--self-signed", "--trusted-proxy", "10.0.0.1"}, nil, "terminates TLS"},
		{[]string{"--addr", ":80", "--behind-proxy"}, nil, "needs --trusted-proxy"},
		{[]string{"--trusted-proxy", "10.0.0.1"}, nil, "only with --behind-proxy"},
		{[]string{"--behind-proxy", "--trusted-proxy", "10.0.0.0/33"}, nil, "--trusted-proxy"},
		{[]string{"--acme-domain", "https://talk.example.com"}, nil, "not a domain"},
		{[]string{"--acme-domain", "localhost"}, nil, "not a domain"},
		{[]string{"--acme-domain", "192.0.2.1"}, nil, "IP address"},
		{[]string{"--acme-cache", "/acme"}, nil, "needs --acme-domain"},
		{[]string{"--acme-domain", "a.example.com", "--acme-directory", "http://ca.example/dir"}, nil, "https://"},
		{nil, map[string]string{"SOTTO_SELF_SIGNED": "yes please"}, "SOTTO_SELF_SIGNED"},
		{nil, map[string]string{"SOTTO_MAX_ROOMS": "ten"}, "SOTTO_MAX_ROOMS"},
		{nil, map[string]string{"SOTTO_TALK_LIMIT": "60"}, "SOTTO_TALK_LIMIT"},
	}
	for _, tc := range bad {
		_, err := parseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want one saying %q", tc.args, tc.env, err, tc.want)
		}
	}

	var help strings.Builder
	if _, err := parseConfig([]string{"--help"}, noEnv, &help); !errors.Is(err, flag.ErrHelp) {
		t.Fatal(err)
	}
	for _, f := range []string{"tls-cert", "SOTTO_TLS_CERT", "tls-key", "SOTTO_TLS_KEY", "acme-domain", "SOTTO_ACME_DOMAIN",
		"acme-cache", "SOTTO_ACME_CACHE", "acme-directory", "SOTTO_ACME_DIRECTORY", "self-signed", "SOTTO_SELF_SIGNED",
		"behind-proxy", "SOTTO_BEHIND_PROXY", "trusted-proxy", "SOTTO_TRUSTED_PROXY", "sotto healthcheck"} {
		if !strings.Contains(help.String(), f) {
			t.Errorf("--help does not mention %s", f)
		}
	}
}

// proxyRequest is a request from peer with the given forwarded headers.
func proxyRequest(peer, path string, hdr map[string]string) *http.Request {
	r := httptest.NewRequest("GET", "http://talk.example.com"+path, nil)
	r.RemoteAddr = peer
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	return r
}

func TestProxyClientIP(t *testing.T) {
	trust := proxyTrust{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:f::/48")}
	for _, tc := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.5:4000", "", "203.0.113.5"},                         // not through a proxy
		{"203.0.113.5:4000", "198.51.100.1", "203.0.113.5"},             // untrusted peer: its header is ignored
		{"10.0.0.2:4000", "198.51.100.1", "198.51.100.1"},               // the proxy's word
		{"10.0.0.2:4000", "6.6.6.6, 198.51.100.1", "198.51.100.1"},      // the client's own entry is left of the proxy's
		{"10.0.0.2:4000", "198.51.100.1, 10.9.9.9", "198.51.100.1"},     // two trusted proxies
		{"10.0.0.2:4000", "10.1.1.1, 10.9.9.9", "10.1.1.1"},             // all trusted: the leftmost
		{"10.0.0.2:4000", "garbage, 198.51.100.1", "198.51.100.1"},      // garbage left of the client is never read
		{"10.0.0.2:4000", "198.51.100.1, garbage", "10.0.0.2"},          // unreadable hop: the last readable one
		{"10.0.0.2:4000", "", "10.0.0.2"},                               // no header: the proxy itself
		{"[::ffff:10.0.0.2]:4000", "[2001:db8::1]:5555", "2001:db8::1"}, // mapped peer, hop with a port
		{"[2001:db8:f::1]:4000", "::ffff:198.51.100.1", "198.51.100.1"},
	} {
		r := proxyRequest(tc.peer, "/ws", map[string]string{"X-Forwarded-For": tc.xff})
		if got := trust.clientIP(r); got.String() != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
	r := proxyRequest("10.0.0.2:4000", "/ws", nil)
	r.Header.Add("X-Forwarded-For", "198.51.100.1")
	r.Header.Add("X-Forwarded-For", "198.51.100.2") // a second header line is a later hop
	if got := trust.clientIP(r); got.String() != "198.51.100.2" {
		t.Errorf("two header lines: %s", got)
	}
}

func TestProxyGuard(t *testing.T) {
	tr := &transport{mode: modeProxy, proxies: proxyTrust{netip.MustParsePrefix("10.0.0.0/8")}}
	h := tr.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "app") }))
	for _, tc := range []struct {
		name, peer, path string
		hdr              map[string]string
		code             int
		hsts             bool
		location         string
	}{
		{"trusted proxy, visitor on https", "10.0.0.2:1", "/", map[string]string{"X-Forwarded-Proto": "https"}, 200, true, ""},
		{"trusted proxy, visitor on http", "10.0.0.2:1", "/room?x=1", map[string]string{"X-Forwarded-Proto": "http"}, 308, false, "https://talk.example.com/room?x=1"},
		{"WebSocket over http", "10.0.0.2:1", "/ws", map[string]string{"X-Forwarded-Proto": "http"}, 403, false, ""},
		{"a chain that was http somewhere", "10.0.0.2:1", "/", map[string]string{"X-Forwarded-Proto": "https, http"}, 308, false, "https://talk.example.com/"},
		{"proxy sends no X-Forwarded-Proto", "10.0.0.2:1", "/", nil, 403, false, ""},
		{"direct from the network", "203.0.113.5:1", "/", map[string]string{"X-Forwarded-Proto": "https"}, 403, false, ""},
		{"direct, health probe", "203.0.113.5:1", "/readyz", nil, 200, false, ""},
		{"direct, liveness probe", "203.0.113.5:1", "/healthz", nil, 200, false, ""},
		{"loopback on this machine", "127.0.0.1:1", "/", nil, 200, false, ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, proxyRequest(tc.peer, tc.path, tc.hdr))
		if rec.Code != tc.code {
			t.Errorf("%s: HTTP %d, want %d (%s)", tc.name, rec.Code, tc.code, rec.Body)
		}
		if got := rec.Header().Get("Strict-Transport-Security") != ""; got != tc.hsts {
			t.Errorf("%s: HSTS %v, want %v", tc.name, got, tc.hsts)
		}
		if got := rec.Header().Get("Location"); got != tc.location {
			t.Errorf("%s: Location %q, want %q", tc.name, got, tc.location)
		}
	}
}

func TestTLSGuardSetsHSTSOnTLSOnly(t *testing.T) {
	h := (&transport{mode: modeSelfSigned}).guard(http.NotFoundHandler())
	r := httptest.NewRequest("GET", "https://x/", nil) // httptest sets r.TLS for https
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if got := rec.Header().Get("Strict-Transport-Security"); got != "max-age=63072000" {
		t.Errorf("HSTS %q", got)
	}
	rec = httptest.NewRecorder()
	(&transport{mode: modeLoopbackHTTP}).guard(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("GET", "http://x/", nil))
	if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS on plain loopback HTTP: %q", got)
	}
}

func TestHealthTarget(t *testing.T) {
	for _, tc := range []struct {
		args       []string
		url        string
		skipVerify bool
		serverName string
	}{
		{nil, "http://127.0.0.1:8080/readyz", false, ""},
		{[]string{"--addr", "localhost:9000"}, "http://127.0.0.1:9000/readyz", false, ""},
		{[]string{"--addr", ":443", "--self-signed"}, "https://127.0.0.1:443/readyz", true, ""},
		{[]string{"--addr", "[::]:443", "--acme-domain", "talk.example.com"}, "https://127.0.0.1:443/readyz", true, ""},
		{[]string{"--addr", "192.0.2.7:443", "--self-signed"}, "https://192.0.2.7:443/readyz", true, ""},
		{[]string{"--addr", "192.0.2.7:443", "--acme-domain", "talk.example.com"}, "https://192.0.2.7:443/readyz", false, "talk.example.com"},
		{[]string{"--addr", "192.0.2.7:443", "--tls-cert", "c", "--tls-key", "k"}, "https://192.0.2.7:443/readyz", false, ""},
		{[]string{"--addr", ":8080", "--behind-proxy", "--trusted-proxy", "10.0.0.1"}, "http://127.0.0.1:8080/readyz", false, ""},
	} {
		cfg, err := parseConfig(tc.args, noEnv, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		u, tc2, err := healthTarget(cfg)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if u != tc.url {
			t.Errorf("%q: %s, want %s", tc.args, u, tc.url)
		}
		if tc2 != nil && (tc2.InsecureSkipVerify != tc.skipVerify || tc2.ServerName != tc.serverName) {
			t.Errorf("%q: skip verify %v, server name %q", tc.args, tc2.InsecureSkipVerify, tc2.ServerName)
		}
	}
	cfg, _ := parseConfig([]string{"--addr", "127.0.0.1:0"}, noEnv, io.Discard)
	if _, _, err := healthTarget(cfg); err == nil {
		t.Error("port 0 accepted")
	}
}

// TestHealthcheckExitCodes runs `sotto healthcheck` (in process) against
// servers that answer 200, 503 and nothing, over HTTP and TLS.
func TestHealthcheckExitCodes(t *testing.T) {
	var status = http.StatusOK
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(status)
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(handler) // a certificate no client trusts
	defer tlsSrv.Close()
	addrOf := func(s *httptest.Server) string { return s.Listener.Addr().String() }

	check := func(name string, want int, wantOut string, args ...string) {
		t.Helper()
		var stdout, stderr bytes.Buffer
		if got := healthcheckMain(args, noEnv, &stdout, &stderr); got != want {
			t.Errorf("%s: exit %d, want %d (%s)", name, got, want, stderr.String())
		}
		if !strings.Contains(stdout.String()+stderr.String(), wantOut) {
			t.Errorf("%s: output %q lacks %q", name, stdout.String()+stderr.String(), wantOut)
		}
	}
	check("ready", 0, "ready", "--addr", addrOf(plain))
	check("ready over TLS (self-signed)", 0, "ready", "--addr", addrOf(tlsSrv), "--self-signed")
	check("ready over TLS (domain certificate, probed on loopback)", 0, "ready", "--addr", addrOf(tlsSrv), "--acme-domain", "talk.example.com")
	check("HTTP probe of a TLS port", 1, "400 Bad Request", "--addr", addrOf(tlsSrv))
	status = http.StatusServiceUnavailable
	check("shutting down", 1, "503 Service Unavailable", "--addr", addrOf(plain))
	check("shutting down, TLS", 1, "503", "--addr", addrOf(tlsSrv), "--self-signed")
	status = http.StatusOK

	// Nothing listening: a closed port.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	check("unreachable", 1, "refused", "--addr", dead)
	// A configuration the server would refuse is unhealthy too (Docker
	// reserves exit code 2).
	check("bad configuration", 1, "refusing to serve plain HTTP", "--addr", ":8080")
	check("help", 0, "", "--help")

	// A server that accepts but never answers is given up on in time.
	silent, _ := net.Listen("tcp", "127.0.0.1:0")
	defer silent.Close()
	cfg, _ := parseConfig([]string{"--addr", silent.Addr().String()}, noEnv, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := healthcheck(ctx, cfg); err == nil {
		t.Error("a silent server passed")
	}
}

func TestHTTPErrorLogHoldsNoAddress(t *testing.T) {
	var buf bytes.Buffer
	l := httpErrorLog(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	l.Printf("http: TLS handshake error from 203.0.113.5:50123: remote error: tls: unknown certificate")
	l.Printf("http: panic serving [2001:db8::1%%eth0]:443: boom")
	l.Printf("http: panic serving [::ffff:198.51.100.7]:8443: boom")
	out := buf.String()
	for _, addr := range []string{"203.0.113.5", "2001:db8", "198.51.100.7", "50123"} {
		if strings.Contains(out, addr) {
			t.Errorf("log holds %s:\n%s", addr, out)
		}
	}
	if !strings.Contains(out, `level=DEBUG msg="TLS handshake failed" reason="the client refused the certificate"`) ||
		!strings.Contains(out, `level=ERROR msg="http: panic serving a request (its value withheld)"`) || strings.Contains(out, "boom") {
		t.Errorf("log:\n%s", out)
	}
}
