package server

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

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
		cfg, err := ParseConfig(tc.args, noEnv, io.Discard)
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
	cfg, _ := ParseConfig([]string{"--addr", "127.0.0.1:0"}, noEnv, io.Discard)
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
		if got := HealthcheckMain(args, noEnv, &stdout, &stderr); got != want {
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
	cfg, _ := ParseConfig([]string{"--addr", silent.Addr().String()}, noEnv, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := healthcheck(ctx, cfg); err == nil {
		t.Error("a silent server passed")
	}
}
