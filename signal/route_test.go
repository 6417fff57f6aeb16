package signal

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"sotto/internal/syncbuf"
	"sotto/room"
)

// dialRoute opens a connection whose URL carries query (without the "?").
func (ts *testServer) dialRoute(t *testing.T, query string) *client {
	t.Helper()
	ws, _, err := dialOpts(t, ts.url+"?"+query, nil, Subprotocol)
	if err != nil {
		t.Fatalf("dial ?%s: %v", query, err)
	}
	t.Cleanup(func() { ws.Close() })
	return &client{t: t, ws: ws}
}

// refusedStatus dials with query and returns the HTTP status of the
// refusal; it fails the test if the upgrade succeeded.
func (ts *testServer) refusedStatus(t *testing.T, query string) int {
	t.Helper()
	ws, res, err := dialOpts(t, ts.url+"?"+query, nil, Subprotocol)
	if err == nil {
		ws.Close()
		t.Fatalf("?%s was accepted", query)
	}
	if res == nil {
		t.Fatalf("?%s: no HTTP answer: %v", query, err)
	}
	return res.StatusCode
}

// A connection whose URL names a room may create, join and resume that room;
// one whose URL names a nameplate may knock at it.
func TestRouteMatchAccepted(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{ResumeGrace: 3 * time.Second})
	s := newSecrets()
	a := ts.dialRoute(t, "r="+s.room)
	ja := a.create(s, 1)
	// The knock's connection names the nameplate; the member's connection
	// (which named the room) answers it.
	j := ts.dialRoute(t, "np="+ja.Nameplate)
	k := knockOf(t, j, ja.Nameplate, "AQ", 1)
	if m := a.expect(typeKnock); m.Knock != k {
		t.Fatalf("knock %+v, want %s", m, k)
	}
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "Ag"})
	if m := j.expect(typeKnockData); m.Data != "Ag" {
		t.Fatalf("knock_data %+v", m)
	}

	b := ts.dialRoute(t, "r="+s.room)
	jb := b.join(s, 1)
	a.expect(typeMemberJoined)

	// b's network goes; it comes back on a new connection naming the room.
	b.ws.NetConn().Close()
	b2 := ts.dialRoute(t, "r="+s.room)
	b2.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": jb.Resume})
	if r := b2.expect(typeJoined); r.Self != jb.Self {
		t.Fatalf("resumed as %s, want %s", r.Self, jb.Self)
	}
	a.expect(typeMemberBack)

	// Other parameters are ignored, as they always were.
	c := ts.dialRoute(t, "v=2&r="+s.room+"&x")
	c.join(s, 1)
}

// A message naming another room or nameplate than the URL did is refused
// with route_mismatch before anything is looked up: the room is not made
// on this node, and the guess budget is untouched.
func TestRouteMismatchRefused(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	named, other := newSecrets(), newSecrets()
	owner := ts.dial(t) // no key: a single-node client
	jo := owner.create(other, 1)

	// refused sends each message, numbered from 1, and expects route_mismatch.
	refused := func(c *client, msgs ...map[string]any) {
		t.Helper()
		for i, m := range msgs {
			m["id"] = i + 1
			c.send(m)
			c.expectError(codeRouteMismatch, uint32(i+1))
		}
	}
	fresh := newSecrets()
	createFresh := func() map[string]any {
		return map[string]any{"type": "create", "room": fresh.room, "verifier": fresh.verifier}
	}
	joinOther := func() map[string]any { return map[string]any{"type": "join", "room": other.room, "auth": other.auth} }

	c := ts.dialRoute(t, "r="+named.room)
	refused(c,
		map[string]any{"type": "create", "room": other.room, "verifier": other.verifier},
		createFresh(),
		joinOther(),
		map[string]any{"type": "resume", "room": other.room, "resume": b64.EncodeToString(make([]byte, 32))},
		map[string]any{"type": "knock", "nameplate": jo.Nameplate, "data": "AQ"},
	)
	owner.ping(2) // no member_joined, no knock came first
	if rooms := ts.metric(t, "sotto_rooms"); rooms != "1" {
		t.Fatalf("sotto_rooms %s after refused creates, want 1", rooms)
	}
	// The connection still works for the room its URL named.
	c.create(named, 6)

	n := ts.dialRoute(t, "np="+jo.Nameplate)
	refused(n,
		joinOther(),
		createFresh(),
		map[string]any{"type": "knock", "nameplate": "9" + jo.Nameplate, "data": "AQ"},
	)
	owner.ping(3)
	if got := ts.metric(t, `sotto_rejections_total{reason="route_mismatch"}`); got != "8" {
		t.Fatalf("route_mismatch counted %s times, want 8", got)
	}
	// Refusals cost no guess: the server's whole failed-join burst is left.
	g := ts.sig.guesses
	g.mu.Lock()
	left := g.global.avail(time.Now())
	g.mu.Unlock()
	if left < DefaultFailedJoinBurst {
		t.Fatalf("%v guesses left after refusals, want %d", left, DefaultFailedJoinBurst)
	}
}

// Without a key a connection works as before keys existed: it may name any
// room and knock at any nameplate, one after the other.
func TestRouteAbsentIsUnchecked(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	s1, s2 := newSecrets(), newSecrets()
	a := ts.dial(t)
	j1 := a.create(s1, 1)
	b := ts.dial(t)
	b.create(s2, 1)
	c := ts.dial(t)
	c.join(s1, 1)
	c.send(map[string]any{"type": "leave", "id": 2})
	c.expect(typeLeft)
	c.join(s2, 3)
	k := ts.dial(t)
	knockOf(t, k, j1.Nameplate, "AQ", 1)
}

// RequireRoute (a cluster node) refuses a connection that names nothing.
func TestRouteRequired(t *testing.T) {
	ts := startServer(t, Config{RequireRoute: true}, room.Config{})
	if got := ts.refusedStatus(t, ""); got != http.StatusBadRequest {
		t.Fatalf("no key: HTTP %d, want 400", got)
	}
	if got := ts.refusedStatus(t, "x=1"); got != http.StatusBadRequest {
		t.Fatalf("no key, another parameter: HTTP %d, want 400", got)
	}
	s := newSecrets()
	ts.dialRoute(t, "r="+s.room).create(s, 1)
	ts.dialRoute(t, "np=123").ping(1)
}

// A malformed key is refused at the handshake (HTTP 400), counted as
// bad_route, and logged without the URL.
func TestRouteMalformedRefused(t *testing.T) {
	var logs syncbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := startServer(t, Config{Logger: logger}, room.Config{})
	id := newSecrets().room
	escaped := fmt.Sprintf("%%%02X", id[0]) + id[1:] // the same id, spelled another way
	bad := []string{
		"r=",
		"r",
		"r=" + id[:21],
		"r=" + id + "A",
		"r=" + id + "==",
		"r=" + escaped,
		"r=" + id + "&r=" + id,
		"r=" + id + ";r=" + id,
		"r=" + strings.ReplaceAll(id, id[:1], "+"),
		"np=12",
		"np=1234567890123",
		"np=12a",
		"np=%31%32%33",
		"np=123&np=123",
		"r=" + id + "&np=123",
	}
	for _, q := range bad {
		if got := ts.refusedStatus(t, q); got != http.StatusBadRequest {
			t.Errorf("?%s: HTTP %d, want 400", q, got)
		}
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="bad_route"}`); got != "15" {
		t.Errorf("bad_route counted %s times, want %d", got, len(bad))
	}
	out := logs.String()
	if !strings.Contains(out, "bad_route") {
		t.Fatalf("no refusal was logged, so this test checks nothing:\n%s", out)
	}
	for _, secret := range []string{id, id[1:], "np=", "r="} {
		if strings.Contains(out, secret) {
			t.Errorf("the log holds %q:\n%s", secret, out)
		}
	}
}

// parseRoute accepts exactly the canonical keys.
func TestParseRoute(t *testing.T) {
	s := newSecrets()
	var want room.ID
	b64.Decode(want[:], []byte(s.room))
	if rt, ok := parseRoute("r=" + s.room); !ok || !rt.hasRoom || rt.room != want || rt.nameplate != "" {
		t.Errorf("r=%s: %+v %v", s.room, rt, ok)
	}
	if rt, ok := parseRoute("np=0042"); !ok || rt.hasRoom || rt.nameplate != "0042" {
		t.Errorf("np=0042: %+v %v", rt, ok)
	}
	if rt, ok := parseRoute(""); !ok || rt.named() {
		t.Errorf("empty query: %+v %v", rt, ok)
	}
	if !(route{}).allowsRoom(want) || !(route{}).allowsKnock("123") {
		t.Error("a connection without a key is refused something")
	}
	rt, _ := parseRoute("r=" + s.room)
	if !rt.allowsRoom(want) || rt.allowsRoom(room.ID{}) || rt.allowsKnock("123") {
		t.Errorf("room route allows the wrong things")
	}
	np, _ := parseRoute("np=123")
	if !np.allowsKnock("123") || np.allowsKnock("1234") || np.allowsRoom(want) {
		t.Errorf("nameplate route allows the wrong things")
	}
}
