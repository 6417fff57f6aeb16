package server

import (
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

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
		c, err := ParseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err != nil {
			t.Errorf("%q %v: %v", tc.args, tc.env, err)
			continue
		}
		if c.mode() != tc.mode {
			t.Errorf("%q %v: mode %d, want %d", tc.args, tc.env, c.mode(), tc.mode)
		}
	}
	c, _ := ParseConfig([]string{"--addr", ":443", "--acme-domain", "Talk.Example.com."}, noEnv, io.Discard)
	if strings.Join(c.acmeDomains, ",") != "talk.example.com" {
		t.Errorf("domains %q", c.acmeDomains)
	}
	c, _ = ParseConfig(nil, func(k string) string {
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
		_, err := ParseConfig(tc.args, func(k string) string { return tc.env[k] }, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %v: error %v, want one saying %q", tc.args, tc.env, err, tc.want)
		}
	}

	var help strings.Builder
	if _, err := ParseConfig([]string{"--help"}, noEnv, &help); !errors.Is(err, flag.ErrHelp) {
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
