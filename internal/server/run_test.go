package server

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"slices"
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
	r := startRun(t, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn")
	if !strings.Contains(r.out.String(), "Voice on UDP 127.0.0.1:") {
		t.Errorf("no voice line:\n%s", r.out.String())
	}
	for _, path := range []string{"healthz", "readyz", ""} {
		res, err := http.Get(r.app + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("/%s: %d, CSP %q", path, res.StatusCode, res.Header.Get("Content-Security-Policy"))
		}
	}
	if rooms := testutil.Metric(t, r.metrics, "sotto_rooms"); rooms != "0" {
		t.Errorf("sotto_rooms %s", rooms)
	}
	res, err := http.Get(r.metrics)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `revision="feedface"`) {
		t.Errorf("sotto_build_info lacks the stamped revision:\n%s", body)
	}

	r.stop(t)
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

// running is a Run started by startRun.
type running struct {
	out     syncbuf.Buffer
	app     string // http://127.0.0.1:port/
	metrics string // http://127.0.0.1:port/metrics, if --metrics-addr was given
	cancel  context.CancelFunc
	done    chan error
}

// startRun parses args, stamps the build, runs the server and waits for its
// banner (and the metrics line, with --metrics-addr). Cleanup stops it if
// the test has not.
func startRun(t *testing.T, args ...string) *running {
	t.Helper()
	cfg, err := ParseConfig(args, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Stamp = Stamp{Revision: "feedface", Date: "2026-01-02T03:04:05Z"}
	cfg.LogOut = io.Discard
	r := &running{done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- Run(ctx, cfg, &r.out) }()
	t.Cleanup(func() {
		cancel()
		<-r.done
	})

	appRE := regexp.MustCompile(`Open (http://127\.0\.0\.1:\d+/) in a browser`)
	metricsRE := regexp.MustCompile(`Metrics at (http://\S+/metrics)`)
	wantMetrics := slices.Contains(args, "--metrics-addr")
	testutil.WaitFor(t, runStartTimeout, "the banner", func() bool {
		return appRE.MatchString(r.out.String()) && (!wantMetrics || metricsRE.MatchString(r.out.String()))
	})
	r.app = appRE.FindStringSubmatch(r.out.String())[1]
	if m := metricsRE.FindStringSubmatch(r.out.String()); m != nil {
		r.metrics = m[1]
	}
	return r
}

// stop cancels the run and checks that it returns nil in time.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		r.done <- err // for the cleanup
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(runStartTimeout):
		t.Fatal("Run did not return after cancel")
	}
}
