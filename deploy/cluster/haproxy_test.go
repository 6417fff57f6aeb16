// Package cluster holds the files that run Sotto as several nodes behind
// HAProxy (docs/cluster.md). Its tests check haproxy.cfg with the real
// haproxy: that it is valid, that nothing in it can log a URL, and how it
// routes, with tiny stub nodes standing in for Sotto.
package cluster

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// TestHAProxyConfigValid: haproxy accepts the file, with TLS and without.
func TestHAProxyConfigValid(t *testing.T) {
	dir := t.TempDir()
	mapPath := filepath.Join(dir, "nameplates.map")
	writeMap(t, mapPath)
	env := testutil.NewHAProxyEnv(t, dir, mapPath, [3]string{"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"})
	testutil.CheckHAProxyConfig(t, "haproxy.cfg", env)
	env.Cert, _ = testutil.SelfSignedPEM(t, dir, "sotto.test")
	testutil.CheckHAProxyConfig(t, "haproxy.cfg", env)
}

// writeMap writes the nameplate map for the three test nodes with the real
// generator.
func writeMap(t *testing.T, path string) {
	testutil.WriteNameplateMap(t, path, "n0=1", "n1=2", "n2=3")
}

// urlLogging lists what in a HAProxy config could write a request's URL
// (and so a room id or nameplate) anywhere: any log target (HAProxy's
// default formats hold the request line), any log format, a capture, or a
// log-format variable that expands to the URL, path or query.
var urlLogging = []*regexp.Regexp{
	regexp.MustCompile(`^log(\s|$)`),
	regexp.MustCompile(`^(log-format|log-format-sd|error-log-format|log-tag|unique-id-format)\b`),
	regexp.MustCompile(`^option\s+(httplog|httpslog|tcplog|log-health-checks|log-separate-errors|dontlog-normal)\b`),
	regexp.MustCompile(`^(capture|declare\s+capture)\b`),
	regexp.MustCompile(`^(http-request|http-response|tcp-request)\s+(capture|set-log-level)\b`),
	regexp.MustCompile(`%\{[^}]*\}?(r|HU|HQ|HP|HPO|HM|HV)\b|%(r|HU|HQ|HP|HPO)\b`),
	regexp.MustCompile(`\b(url|path|query|pathq|urlp|url_param)\b[^\n]*\b(log|capture)\b`),
}

// loggingLines returns the lines of cfg (comments dropped) that could log
// a URL.
func loggingLines(cfg string) []string {
	var bad []string
	sc := bufio.NewScanner(strings.NewReader(cfg))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "#"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		for _, re := range urlLogging {
			if re.MatchString(line) {
				bad = append(bad, line)
				break
			}
		}
	}
	return bad
}

// TestHAProxyLogsNoURL: nothing in haproxy.cfg logs, so nothing it logs can
// hold r or np. The check itself is shown to catch each way of logging.
func TestHAProxyLogsNoURL(t *testing.T) {
	cfg, err := os.ReadFile("haproxy.cfg")
	if err != nil {
		t.Fatal(err)
	}
	if bad := loggingLines(string(cfg)); len(bad) > 0 {
		t.Errorf("haproxy.cfg has lines that could log a URL: %q", bad)
	}
	if !strings.Contains(string(cfg), "stick on urlp(r)") {
		t.Fatal("haproxy.cfg does not read r: this test reads the wrong file")
	}
	for _, line := range []string{
		"log stdout format raw local0",
		"    log global",
		"log 127.0.0.1:514 local0",
		"option httplog",
		"option tcplog",
		`log-format "%ci %r"`,
		`log-format "%HU"`,
		`error-log-format "%ci"`,
		"capture request header Referer len 64",
		"http-request capture url len 100",
		"declare capture request len 64",
		`unique-id-format %{+X}o\ %ci:%cp_%HQ`,
	} {
		if len(loggingLines(line)) == 0 {
			t.Errorf("the check misses %q", line)
		}
	}
}

// stubNode stands in for a Sotto node: /readyz answers 200 while it is up,
// and every request is answered with the node's name in X-Stub-Node.
type stubNode struct {
	name string
	addr string
	srv  *http.Server
}

func startStub(t *testing.T, name, addr string) *stubNode {
	t.Helper()
	var l net.Listener
	var err error
	// A node coming back takes the port it had: retry while the kernel
	// still holds it.
	for range 50 {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	n := &stubNode{name: name, addr: l.Addr().String()}
	n.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Stub-Node", name)
		io.WriteString(w, name)
	})}
	go n.srv.Serve(l)
	t.Cleanup(func() { n.srv.Close() })
	return n
}

// kill drops the node at once, as SIGKILL does: listener and connections.
func (n *stubNode) kill() { n.srv.Close() }

// get asks haproxy for path and returns the status and the node that
// answered ("" when haproxy answered itself).
func get(t *testing.T, h *testutil.HAProxy, c *http.Client, path string) (int, string) {
	t.Helper()
	res, err := c.Get(h.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode, res.Header.Get("X-Stub-Node")
}

// roomIDs returns n random room ids as the app writes them: 16 bytes,
// unpadded base64url.
func roomIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = randomRoomID()
	}
	return ids
}
