package server

import (
	"bufio"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	sig "sotto/signal"
)

// fakeRuntimeAPI is HAProxy's runtime API as the forgetter uses it: it
// reads one line of commands per connection, keeps them, and answers each
// with the empty line of success.
type fakeRuntimeAPI struct {
	ln   net.Listener
	mu   sync.Mutex
	cmds []string
}

func startFakeRuntimeAPI(t *testing.T) *fakeRuntimeAPI {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeRuntimeAPI{ln: ln}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			cmds := strings.Split(strings.TrimSuffix(line, "\n"), ";")
			f.mu.Lock()
			f.cmds = append(f.cmds, cmds...)
			f.mu.Unlock()
			c.Write([]byte(strings.Repeat("\n", len(cmds))))
			c.Close()
		}
	}()
	return f
}

func (f *fakeRuntimeAPI) commands() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.cmds...)
}

// A node started with the cluster flags refuses a WebSocket naming no room,
// mints codes with its prefix, and tells the runtime API to forget a room
// once it is empty and its WebSocket closed.
func TestRunClusterNode(t *testing.T) {
	api := startFakeRuntimeAPI(t)
	r := startRun(t, "--addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0", "--log-level", "warn",
		"--resume-grace", "0", // the room goes with its connection
		"--node-prefix", "42", "--cluster-size", "3", "--haproxy-runtime", "tcp://"+api.ln.Addr().String(), "--haproxy-table", "nodes")
	wsURL := "ws" + strings.TrimPrefix(r.app, "http") + "ws"
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: []string{sig.Subprotocol}}

	if ws, res, err := d.Dial(wsURL, nil); err == nil {
		ws.Close()
		t.Fatal("a clustered node accepted a WebSocket naming no room")
	} else if res == nil || res.StatusCode != http.StatusBadRequest {
		t.Fatalf("keyless WebSocket: %v, want HTTP 400", err)
	}

	var id, auth [16]byte
	rand.Read(id[:])
	rand.Read(auth[:])
	b64 := base64.RawURLEncoding
	roomID := b64.EncodeToString(id[:])
	verifier := sha256.Sum256(auth[:])
	ws, _, err := d.Dial(wsURL+"?r="+roomID, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := ws.WriteJSON(map[string]any{"type": "create", "id": 1, "room": roomID, "verifier": b64.EncodeToString(verifier[:])}); err != nil {
		t.Fatal(err)
	}
	var joined struct{ Type, Nameplate string }
	if err := ws.ReadJSON(&joined); err != nil {
		t.Fatal(err)
	}
	if joined.Type != "joined" || !strings.HasPrefix(joined.Nameplate, "42") {
		t.Fatalf("create answered %+v, want joined with a code starting 42", joined)
	}
	if cmds := api.commands(); len(cmds) != 0 {
		t.Fatalf("forgets sent while the room lives: %q", cmds)
	}

	ws.Close()
	want := "clear table nodes key " + roomID
	testutil.WaitFor(t, 5*time.Second, "the forget", func() bool { return len(api.commands()) > 0 })
	if cmds := api.commands(); len(cmds) != 1 || cmds[0] != want {
		t.Fatalf("runtime API got %q, want [%q]", cmds, want)
	}
	testutil.WaitFor(t, 5*time.Second, "the forget counted", func() bool {
		return testutil.Metric(t, r.metrics, `sotto_lb_forgets_total{result="ok"}`) == "1"
	})
	r.stop(t)
}
