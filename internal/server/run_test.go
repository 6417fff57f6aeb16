package server

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto/internal/syncbuf"
	"sotto/internal/testutil"
)

// runStartTimeout bounds how long Run may take to print its banner: it
// listens and opens the UDP socket, nothing slower.
const runStartTimeout = 10 * time.Second

// Run on loopback: it prints where the app, voice and metrics are, serves
// health, readiness and the app with the security headers, carries the
// build stamp in sotto_build_info, and on cancel returns nil with every
// goroutine it started gone.
func TestRunServesAndShutsDown(t *testing.T) {
	before := testutil.StableGoroutines()
	cfg, err := ParseConfig([]string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Stamp = Stamp{Revision: "feedface", Date: "2026-01-02T03:04:05Z"}
	cfg.LogOut = io.Discard
	var out syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, &out) }()

	appRE := regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+/) in a browser`)
	metricsRE := regexp.MustCompile(`Metrics at (http://\S+/metrics)`)
	testutil.WaitFor(t, runStartTimeout, "the banner", func() bool {
		return appRE.MatchString(out.String()) && metricsRE.MatchString(out.String())
	})
	if !strings.Contains(out.String(), "Voice on UDP 127.0.0.1:") {
		t.Errorf("no voice line:\n%s", out.String())
	}
	app := appRE.FindStringSubmatch(out.String())[1]
	for _, path := range []string{"healthz", "readyz", ""} {
		res, err := http.Get(app + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("/%s: %d, CSP %q", path, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
	}
	if rooms := testutil.Metric(t, metricsRE.FindStringSubmatch(out.String())[1], "sotto_rooms"); rooms != "0" {
		t.Errorf("sotto_rooms %s", rooms)
	}
	res, err := http.Get(metricsRE.FindStringSubmatch(out.String())[1])
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `revision="feedface"`) {
		t.Errorf("sotto_build_info lacks the stamped revision:\n%s", body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(runStartTimeout):
		t.Fatal("Run did not return after cancel")
	}
	if err := testutil.WaitGoroutines(before, runStartTimeout); err != nil {
		t.Error(err)
	}
}

// A certificate file that cannot be read stops the start before anything
// listens, with the flag named.
func TestRunRefusesBadCertificateFiles(t *testing.T) {
	cfg, err := ParseConfig([]string{"--addr", "127.0.0.1:0", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"}, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.LogOut = io.Discard
	var out strings.Builder
	err = Run(context.Background(), cfg, &out)
	if err == nil || !strings.Contains(err.Error(), "--tls-cert") {
		t.Fatalf("Run: %v, want an error naming --tls-cert", err)
	}
	if out.Len() != 0 {
		t.Errorf("printed before failing: %q", out.String())
	}
}
