package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestParseConfigDefaultsAndEnv(t *testing.T) {
	c, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:8080" || c.metricsAddr != "" || c.talkLimit != 60*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
	env := map[string]string{"SOTTO_ADDR": "127.0.0.1:9", "SOTTO_TALK_LIMIT": "30s", "SOTTO_ALLOW_ORIGIN": "https://a.example, https://b.example/"}
	c, err = parseConfig([]string{"--addr", "127.0.0.1:10"}, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.addr != "127.0.0.1:10" {
		t.Errorf("the flag must win over the environment, got %q", c.addr)
	}
	if c.talkLimit != 30*time.Second {
		t.Errorf("SOTTO_TALK_LIMIT ignored: %v", c.talkLimit)
	}
	if strings.Join(c.allowOrigins, " ") != "https://a.example https://b.example" {
		t.Errorf("origins %q", c.allowOrigins)
	}
}

func TestParseConfigRejectsNonsense(t *testing.T) {
	for _, args := range [][]string{
		{"--talk-limit", "1ms"},
		{"--max-members", "1"},
		{"--log-level", "loud"},
		{"--allow-origin", "example.com"},
		{"stray"},
		{"--no-such-flag"},
	} {
		if _, err := parseConfig(args, func(string) string { return "" }, io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	var help strings.Builder
	if _, err := parseConfig([]string{"--help"}, func(string) string { return "" }, &help); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("--help: %v", err)
	}
	for _, want := range []string{"SOTTO_ADDR", "--metrics-addr", "SOTTO_TALK_LIMIT"} {
		if !strings.Contains(help.String(), strings.TrimPrefix(want, "--")) {
			t.Errorf("--help does not mention %s", want)
		}
	}
}

// TestBinaryLifecycle builds the real binary, runs it, and checks what an
// operator relies on: the printed URL, health and readiness, metrics, security
// headers, and that SIGTERM closes WebSockets with 1001 and exits 0.
func TestBinaryLifecycle(t *testing.T) {
	bin := startBinary(t)
	cmd, appAddr, metricsAddr := bin.cmd, bin.appAddr, bin.metricsAddr

	get := func(url string) (*http.Response, string) {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	if res, _ := get("http://" + appAddr + "/healthz"); res.StatusCode != 200 {
		t.Fatalf("/healthz %d", res.StatusCode)
	}
	if res, _ := get("http://" + appAddr + "/readyz"); res.StatusCode != 200 {
		t.Fatalf("/readyz %d", res.StatusCode)
	}
	res, body := get("http://" + appAddr + "/")
	if res.StatusCode != 200 || !strings.Contains(body, "<title>Sotto") {
		t.Fatalf("app page: %d %q", res.StatusCode, body)
	}
	for _, h := range []string{"Content-Security-Policy", "Referrer-Policy", "Permissions-Policy", "X-Content-Type-Options"} {
		if res.Header.Get(h) == "" {
			t.Errorf("response lacks %s", h)
		}
	}
	if _, body := get("http://" + metricsAddr + "/metrics"); !strings.Contains(body, "sotto_rooms 0") || !strings.Contains(body, "sotto_members 0") {
		t.Fatalf("metrics: %s", body)
	}

	// A WebSocket client connected when SIGTERM arrives must be told 1001.
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+appAddr+"/ws", http.Header{"Sec-WebSocket-Protocol": {"sotto.v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := ws.ReadMessage()
		if err == nil {
			continue
		}
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Fatalf("WebSocket ended with %v, want close 1001", err)
		}
		break
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	case <-ctx.Done():
		t.Fatal("the binary did not exit after SIGTERM")
	}
}

func TestReadyzFlipsWhileShuttingDown(t *testing.T) {
	var shuttingDown atomic.Bool
	h := routes(http.NotFoundHandler(), &shuttingDown)
	check := func(want int) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		if rec.Code != want {
			t.Fatalf("/readyz = %d, want %d", rec.Code, want)
		}
	}
	check(200)
	shuttingDown.Store(true)
	check(503)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
	if rec.Code != 200 {
		t.Fatalf("/healthz must stay 200 while draining, got %d", rec.Code)
	}
}

var (
	buildOnce sync.Once
	builtPath string
	buildErr  error
)

// runningBinary is the real sotto binary, running on loopback ports.
type runningBinary struct {
	cmd                  *exec.Cmd
	appAddr, metricsAddr string
}

// startBinary builds the binary once per test run, starts it on free
// loopback ports with metrics on, and kills it when the test ends.
func startBinary(t testing.TB, args ...string) *runningBinary {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sotto-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtPath = filepath.Join(dir, "sotto")
		build := exec.Command("go", "build", "-o", builtPath, ".")
		build.Stderr = os.Stderr
		buildErr = build.Run()
	})
	if buildErr != nil {
		t.Fatalf("build: %v", buildErr)
	}
	cmd := exec.Command(builtPath, append([]string{"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })

	// The binary prints where it listens; read both addresses.
	lines := bufio.NewScanner(stdout)
	urlRE := regexp.MustCompile(`http://([0-9.:]+)/`)
	b := &runningBinary{cmd: cmd}
	for (b.appAddr == "" || b.metricsAddr == "") && lines.Scan() {
		line := lines.Text()
		if m := urlRE.FindStringSubmatch(line); m != nil {
			if strings.Contains(line, "Metrics") {
				b.metricsAddr = m[1]
			} else {
				b.appAddr = m[1]
			}
		}
	}
	if b.appAddr == "" || b.metricsAddr == "" {
		t.Fatal("the binary did not print its URLs")
	}
	go io.Copy(io.Discard, stdout)
	return b
}

// metric reads one unlabelled metric from the binary's /metrics.
func (b *runningBinary) metric(t testing.TB, name string) string {
	t.Helper()
	res, err := http.Get("http://" + b.metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	t.Fatalf("metric %s missing", name)
	return ""
}
