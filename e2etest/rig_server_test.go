package e2etest

// The rig for tests of the server in this process: internal/server's
// ParseConfig and Run on loopback ports, its printed addresses and its log
// read from locked buffers, every goroutine it started checked gone at the
// end, and Go clients (sotto/client) connected to it.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/client"
	"sotto/internal/server"
	"sotto/internal/syncbuf"
	"sotto/internal/testutil"
)

// mediaServer is the real server, started with server.Run on loopback ports.
type mediaServer struct {
	ws      string // ws://127.0.0.1:port/ws
	metrics string // http://127.0.0.1:port/metrics
	stop    func() // shuts the server down and waits for Run to return
}

// startServer runs the server until the test ends, then shuts it down and
// checks that every goroutine the test started (server and clients) is gone.
// Call it first in a test, so its cleanup runs after the clients' Close.
func startServer(t *testing.T, args ...string) *mediaServer {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServer with environment variables (SOTTO_SECRET).
func startServerEnv(t *testing.T, env map[string]string, args ...string) *mediaServer {
	t.Helper()
	return startServerConfig(t, env, nil, args...)
}

// startServerConfig is startServerEnv with mod, if not nil, applied to the
// parsed configuration (fields no flag sets, such as ReadTimeout).
func startServerConfig(t *testing.T, env map[string]string, mod func(*server.Config), args ...string) *mediaServer {
	t.Helper()
	before := testutil.StableGoroutines()
	args = append([]string{
		"--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn",
		"--max-conns-per-ip", "1000", "--knocks-per-ip", "1000", "--talk-limit", "10m",
	}, args...)
	cfg, err := server.ParseConfig(args, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		mod(&cfg)
	}
	out, done, stop := runServer(t, before, cfg)

	appRE := regexp.MustCompile(`Open http://([0-9.:]+)/`)
	metricsRE := regexp.MustCompile(`Metrics at (http://[0-9.:]+/metrics)`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		text := out.String()
		app, met := appRE.FindStringSubmatch(text), metricsRE.FindStringSubmatch(text)
		if app != nil && met != nil {
			return &mediaServer{ws: "ws://" + app[1] + "/ws", metrics: met[1], stop: stop}
		}
		select {
		case err := <-done:
			t.Fatalf("the server stopped at once: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server printed no URLs: %q", text)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// runServer runs the server with cfg until the test ends (or stop), then
// checks that every goroutine started since before is gone. out is what it
// prints; done gets Run's result if it returns by itself.
func runServer(t *testing.T, before int, cfg server.Config) (out *syncbuf.Buffer, done <-chan error, stop func()) {
	t.Helper()
	out = &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- server.Run(ctx, cfg, out) }()
	var stopOnce sync.Once
	stop = func() {
		stopOnce.Do(func() {
			cancel()
			select {
			case err := <-result:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("the server did not stop")
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if err := testutil.WaitGoroutines(before, 10*time.Second); err != nil {
			t.Errorf("after the server stopped: %v", err)
		}
	})
	return out, result, stop
}

// member connects a client to the room of secret and waits for its media.
// It is closed when the test ends.
func (s *mediaServer) member(t *testing.T, secret []byte, name string, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	c, err := s.connect(secret, name, mod...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (s *mediaServer) connect(secret []byte, name string, mod ...func(*client.Config)) (*client.Client, error) {
	cfg := client.Config{URL: s.ws, Secret: secret, Name: name, Record: true}
	for _, f := range mod {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return connectClient(ctx, cfg)
}

// members connects n clients at once.
func (s *mediaServer) members(t *testing.T, secret []byte, prefix string, n int, mod ...func(*client.Config)) []*client.Client {
	t.Helper()
	cs := make([]*client.Client, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { cs[i], errs[i] = s.connect(secret, fmt.Sprintf("%s%d", prefix, i), mod...) })
	}
	wg.Wait()
	for i, c := range cs {
		if c != nil {
			t.Cleanup(func() { c.Close() })
		}
		if errs[i] != nil {
			t.Fatalf("%s%d: %v", prefix, i, errs[i])
		}
	}
	return cs
}

// gauge reads one of the server's metrics.
func (s *mediaServer) gauge(t *testing.T, name string) string {
	t.Helper()
	return testutil.Metric(t, s.metrics, name)
}

// connectMember is a member of the room of secret on the server at ws,
// with its media connected; it fails the test otherwise.
func connectMember(ctx context.Context, t testing.TB, ws string, secret []byte, name string) *client.Client {
	t.Helper()
	c, err := connectClient(ctx, client.Config{URL: ws, Secret: secret, Name: name})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// connectClient connects a member as cfg says and waits for its media; on
// failure nothing is left open.
func connectClient(ctx context.Context, cfg client.Config) (*client.Client, error) {
	c, err := client.Connect(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := c.WaitConnected(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// appAddr is the server's host:port.
func (s *mediaServer) appAddr() string {
	return strings.TrimSuffix(strings.TrimPrefix(s.ws, "ws://"), "/ws")
}

// getFrom asks for /healthz from the loopback address from, on a fresh
// connection, and reports the error if it is not answered 200 in time.
func getFrom(from, addr string, timeout time.Duration) error {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	hc := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true, DialContext: d.DialContext}}
	res, err := hc.Get("http://" + addr + "/healthz")
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		return fmt.Errorf("status %d", res.StatusCode)
	}
	return nil
}

// startLogged runs the server with the log at debug level into a buffer
// until the test ends, and returns the buffer and the TCP and UDP addresses
// it serves on.
func startLogged(t *testing.T, args ...string) (logs *syncbuf.Buffer, tcpAddr, udpAddr string) {
	t.Helper()
	before := testutil.StableGoroutines()
	args = append([]string{"--addr", "127.0.0.1:0", "--log-level", "debug",
		"--max-conns-per-ip", "1000", "--knocks-per-ip", "1000"}, args...)
	cfg, err := server.ParseConfig(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	logs = &syncbuf.Buffer{}
	cfg.LogOut = logs
	out, done, _ := runServer(t, before, cfg)
	voiceRE := regexp.MustCompile(`Voice on UDP (\S+) and TCP (\S+)\n`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := voiceRE.FindStringSubmatch(out.String()); m != nil {
			return logs, m[2], strings.TrimSuffix(strings.Split(m[1], ",")[0], ",")
		}
		select {
		case err := <-done:
			t.Fatalf("the server stopped at once: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server printed no addresses: %q", out.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
