package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"sotto/client"
	"sotto/e2ee"
	"sotto/internal/server"
	"sotto/internal/testutil"
	sig "sotto/signal"
)

// A request that announces a body and never sends it is closed once
// Config.ReadTimeout has passed since it began, whether the handler reads the body
// (the operator API) or not (net/http then reads it to reuse the
// connection); one whose headers never end, after Config.ReadHeaderTimeout. A
// WebSocket, whose connection the server took over from
// net/http, is not touched by that deadline.
func TestRequestBodyThatNeverComes(t *testing.T) {
	const bound = time.Second
	secret := strings.Repeat("k", 32)
	s := startServerConfig(t, map[string]string{"SOTTO_SECRET": secret},
		func(c *server.Config) { c.ReadHeaderTimeout, c.ReadTimeout = bound, bound })
	addr := s.appAddr()

	ws, _, err := (&websocket.Dialer{Subprotocols: []string{sig.Subprotocol}, HandshakeTimeout: 5 * time.Second}).Dial(s.ws, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()

	for _, c := range []struct{ name, req string }{
		{"headers that never end (slowloris)", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-a: "},
		{"a body the handler ignores", "GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nsome"},
		{"a body the operator API reads", "PUT /api/v1/rooms/AAAAAAAAAAAAAAAAAAAAAA/users/u1/role HTTP/1.1\r\nHost: x\r\n" +
			"Authorization: Bearer " + secret + "\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"},
	} {
		conn := testutil.DialFrom(t, "127.0.0.1", addr)
		start := time.Now()
		io.WriteString(conn, c.req)
		conn.SetReadDeadline(time.Now().Add(bound + 4*time.Second))
		_, err := io.Copy(io.Discard, conn) // the answer, if any, then EOF
		if err != nil {
			t.Fatalf("%s: the connection was still open after %v: %v", c.name, time.Since(start).Round(time.Millisecond), err)
		}
		if d := time.Since(start); d < bound/2 {
			t.Errorf("%s: closed after %v, before the bound of %v", c.name, d, bound)
		}
		conn.Close()
	}

	// The WebSocket opened before them has lived past the bound twice over.
	time.Sleep(bound)
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatalf("the WebSocket died with the read deadline: %v", err)
	}
	for {
		_, msg, err := ws.ReadMessage()
		if err != nil {
			t.Fatalf("the WebSocket died with the read deadline: %v", err)
		}
		var m struct{ Type string }
		if json.Unmarshal(msg, &m) == nil && m.Type == "pong" {
			break
		}
	}
}

// One address may hold server.TCPConnsPerWebSocket TCP connections per allowed
// WebSocket at most; the next is closed at accept, while other addresses are
// served, and a closed connection gives its place back.
func TestTCPConnsPerAddressCapped(t *testing.T) {
	s := startServer(t, "--max-conns-per-ip", "2")
	addr := s.appAddr()
	const limit = 2 * server.TCPConnsPerWebSocket

	held := make([]net.Conn, limit)
	for i := range held {
		// Half a request line: each is held, by net/http or by the demux.
		held[i] = testutil.DialFrom(t, "127.0.0.2", addr)
		io.WriteString(held[i], "GET / HTTP/1.1\r\n")
	}
	if !testutil.ClosedAtAccept(t, "127.0.0.2", addr, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n") {
		t.Fatalf("connection %d from one address was served", limit+1)
	}
	if err := getFrom("127.0.0.3", addr, 5*time.Second); err != nil {
		t.Fatalf("another address refused: %v", err)
	}
	if n := testutil.Metric(t, s.metrics, "sotto_addr_limit_refused_connections_total"); n != "1" {
		t.Fatalf("refused %s connections, want 1", n)
	}

	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := getFrom("127.0.0.2", addr, time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed connection did not give its place back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, c := range held {
		c.Close()
	}
}

// openFDs counts the descriptors process pid has open.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// The real binary, run out of descriptors by connections from several
// addresses (each below the per-address cap) that never finish a request,
// serves HTTP and WebSocket joins again once they close. Before, the first
// EMFILE from accept closed the port for good while the process ran on.
func TestListenerSurvivesEMFILE(t *testing.T) {
	b := startBinary(t)
	pid := b.cmd.Process.Pid
	if err := getFrom("127.0.0.1", b.appAddr, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	// Room for 40 more descriptors. Set both limits on the running process:
	// Go raises the soft limit to the hard one at start.
	limit := uint64(openFDs(t, pid) + 40)
	if err := unix.Prlimit(pid, unix.RLIMIT_NOFILE, &unix.Rlimit{Cur: limit, Max: limit}, nil); err != nil {
		t.Fatal(err)
	}

	var fillers []net.Conn
	defer func() {
		for _, c := range fillers {
			c.Close()
		}
	}()
	for i := range 80 {
		// 20 each from 127.0.0.2 to .5: below the cap of 256.
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(fmt.Sprintf("127.0.0.%d", 2+i%4))}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", b.appAddr)
		if err != nil {
			t.Logf("connection %d refused: %v", i+1, err) // the port is closed
			break
		}
		io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		fillers = append(fillers, c)
	}
	// Out of descriptors: a new request is not answered.
	if err := getFrom("127.0.0.6", b.appAddr, time.Second); err == nil {
		t.Fatalf("served with %d descriptors open of %d: not out of descriptors", openFDs(t, pid), limit)
	}
	for _, c := range fillers {
		c.Close()
	}

	deadline := time.Now().Add(5 * time.Second)
	for {
		err := getFrom("127.0.0.6", b.appAddr, time.Second)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not serving 5 s after the connections closed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := client.Connect(ctx, client.Config{URL: "ws://" + b.appAddr + "/ws", Secret: e2ee.NewSecret(), Name: "after"})
	if err != nil {
		t.Fatalf("WebSocket join after the descriptors came back: %v", err)
	}
	m.Close()
	if n, _ := strconv.Atoi(b.metric(t, "sotto_accept_failures_total")); n == 0 {
		t.Fatal("no failed accept counted: the test did not run the binary out of descriptors")
	}
}
