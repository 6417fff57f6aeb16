package signal

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	"sotto/metrics"
	"sotto/room"
)

// testServer is the signaling server behind a real HTTP server on loopback,
// with /metrics wired the way internal/server/run.go wires it.
type testServer struct {
	http *httptest.Server
	sig  *Server
	reg  *room.Registry
	url  string // ws://127.0.0.1:port/ws
}

// startServer starts a server. cfg.Registry is made from rcfg; a zero cfg
// takes every default. It checks at cleanup that Shutdown leaves no
// goroutine behind.
func startServer(t testing.TB, cfg Config, rcfg room.Config) *testServer {
	t.Helper()
	return startServerOn(t, cfg, rcfg, nil)
}

// startServerOn is startServer with the server's listener wrapped by wrap,
// for tests that need to break a connection in a chosen way.
func startServerOn(t testing.TB, cfg Config, rcfg room.Config, wrap func(net.Listener) net.Listener) *testServer {
	t.Helper()
	testutil.LeakCheck(t)
	// Most tests check what a disconnect does to the room at once; the
	// resume tests ask for a grace explicitly.
	if rcfg.ResumeGrace == 0 {
		rcfg.ResumeGrace = -1
	}
	// With a forgetter the registry tells the server of purged rooms, as
	// run.go wires it; srv is set before the server serves.
	var srv *Server
	if cfg.Forget != nil && rcfg.OnGone == nil {
		rcfg.OnGone = func(id room.ID) { srv.RoomGone(id) }
	}
	reg := room.NewRegistry(rcfg)
	var mreg metrics.Registry
	mreg.GaugeFunc("sotto_rooms", "Live rooms.", func() int64 { n, _ := reg.Counts(); return int64(n) })
	mreg.GaugeFunc("sotto_members", "Members in live rooms.", func() int64 { _, n := reg.Counts(); return int64(n) })
	cfg.Registry = reg
	cfg.Metrics = &mreg
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := NewServer(cfg)
	srv = s
	mux := http.NewServeMux()
	mux.Handle("/ws", s)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) { mreg.WriteTo(w) })
	hs := httptest.NewUnstartedServer(mux)
	if wrap != nil {
		hs.Listener = wrap(hs.Listener)
	}
	hs.Start()
	ts := &testServer{http: hs, sig: s, reg: reg, url: "ws" + strings.TrimPrefix(hs.URL, "http") + "/ws"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		hs.Close()
	})
	return ts
}

// metric returns the value of one line of /metrics, e.g. `sotto_rooms`.
func (ts *testServer) metric(t testing.TB, name string) string {
	t.Helper()
	return testutil.Metric(t, ts.http.URL+"/metrics", name)
}

// waitMetric waits, a bounded time, for a line of /metrics to read want:
// for counts made after the client has already seen the effect.
func (ts *testServer) waitMetric(t testing.TB, name, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := ts.metric(t, name)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is %s, want %s", name, got, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// client is a test client: a real gorilla WebSocket over loopback.
type client struct {
	t  testing.TB
	ws *websocket.Conn
}

// srvMsg holds any server message.
type srvMsg struct {
	Type        string          `json:"type"`
	ID          uint32          `json:"id"`
	Code        string          `json:"code"`
	Message     string          `json:"message"`
	Room        string          `json:"room"`
	Self        string          `json:"self"`
	Nameplate   string          `json:"nameplate"`
	Members     []wireMember    `json:"members"`
	Floor       *wireFloor      `json:"floor"`
	TalkLimitMS int64           `json:"talk_limit_ms"`
	FloorHoldMS int64           `json:"floor_hold_ms"`
	Member      json.RawMessage `json:"member"` // an id, or {id, role} in member_joined
	Holder      string          `json:"holder"`
	DeadlineMS  int64           `json:"deadline_ms"`
	Reason      string          `json:"reason"`
	From        string          `json:"from"`
	Data        string          `json:"data"`
	SDP         string          `json:"sdp"`
	Candidate   json.RawMessage `json:"candidate"`
	Knock       string          `json:"knock"`
	Result      string          `json:"result"`
	Resume      string          `json:"resume"`
	By          string          `json:"by"`
}

// memberID is Member when it is an id.
func (m srvMsg) memberID() string {
	var s string
	json.Unmarshal(m.Member, &s)
	return s
}

func dialOpts(t testing.TB, url string, hdr http.Header, protocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Subprotocols: protocols}
	return d.Dial(url, hdr)
}

func (ts *testServer) dial(t testing.TB) *client {
	t.Helper()
	ws, _, err := dialOpts(t, ts.url, nil, Subprotocol)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	c := &client{t: t, ws: ws}
	t.Cleanup(func() { ws.Close() })
	return c
}

func (c *client) sendRaw(s string) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := c.ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *client) send(v map[string]any) {
	c.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(b))
}

// read returns the next message, failing the test after a few seconds.
func (c *client) read() srvMsg {
	c.t.Helper()
	m, err := c.tryRead(5 * time.Second)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return m
}

func (c *client) tryRead(wait time.Duration) (srvMsg, error) {
	c.ws.SetReadDeadline(time.Now().Add(wait))
	kind, b, err := c.ws.ReadMessage()
	if err != nil {
		return srvMsg{}, err
	}
	if kind != websocket.TextMessage {
		return srvMsg{}, fmt.Errorf("message kind %d", kind)
	}
	var m srvMsg
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields() // the server sends only documented fields
	if err := dec.Decode(&m); err != nil {
		return srvMsg{}, fmt.Errorf("decoding %s: %v", b, err)
	}
	return m, nil
}

// expect reads the next message and checks its type.
func (c *client) expect(typ string) srvMsg {
	c.t.Helper()
	m := c.read()
	if m.Type != typ {
		c.t.Fatalf("got %+v, want a %s message", m, typ)
	}
	return m
}

// expectError reads the next message and checks it is an error with code.
func (c *client) expectError(code string, id uint32) srvMsg {
	c.t.Helper()
	m := c.expect(typeError)
	if m.Code != code || m.ID != id {
		c.t.Fatalf("got error %q (id %d, %q), want %q (id %d)", m.Code, m.ID, m.Message, code, id)
	}
	if m.Message == "" {
		c.t.Fatalf("error %q has no message", m.Code)
	}
	return m
}

// expectClose reads until the connection closes and checks the close code.
func (c *client) expectClose(code int) *websocket.CloseError {
	c.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.ws.SetReadDeadline(deadline)
		_, _, err := c.ws.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) {
			c.t.Fatalf("connection ended with %v, want close code %d", err, code)
		}
		if ce.Code != code {
			c.t.Fatalf("close code %d (%q), want %d", ce.Code, ce.Text, code)
		}
		return ce
	}
}

// ping checks that the connection still works.
func (c *client) ping(id uint32) {
	c.t.Helper()
	c.send(map[string]any{"type": "ping", "id": id})
	if m := c.expect(typePong); m.ID != id {
		c.t.Fatalf("pong id %d, want %d", m.ID, id)
	}
}

// secrets is what a client derives from a room secret: here just random.
type secrets struct {
	room     string // base64url, 16 bytes
	auth     string // base64url, 32 bytes
	verifier string // base64url SHA-256(auth)
}

func newSecrets() secrets {
	var id [16]byte
	var auth [32]byte
	rand.Read(id[:])
	rand.Read(auth[:])
	v := room.VerifierOf(auth[:])
	return secrets{b64.EncodeToString(id[:]), b64.EncodeToString(auth[:]), b64.EncodeToString(v[:])}
}

func (c *client) create(s secrets, id uint32) srvMsg {
	c.t.Helper()
	c.send(map[string]any{"type": "create", "id": id, "room": s.room, "verifier": s.verifier})
	m := c.expect(typeJoined)
	if m.ID != id {
		c.t.Fatalf("joined id %d, want %d", m.ID, id)
	}
	return m
}

func (c *client) join(s secrets, id uint32) srvMsg {
	c.t.Helper()
	c.send(map[string]any{"type": "join", "id": id, "room": s.room, "auth": s.auth})
	m := c.expect(typeJoined)
	if m.ID != id {
		c.t.Fatalf("joined id %d, want %d", m.ID, id)
	}
	return m
}
