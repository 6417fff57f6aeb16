package signal

import (
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/room"
)

func TestCreateJoinLeave(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)

	ja := a.create(s, 1)
	if ja.Room != s.room || ja.Self == "" || len(ja.Nameplate) < room.MinNameplateDigits ||
		len(ja.Members) != 1 || ja.Members[0] != (wireMember{ja.Self, "talk"}) ||
		ja.Floor != nil || ja.TalkLimitMS != room.DefaultTalkTimeLimit.Milliseconds() {
		t.Fatalf("creator's joined: %+v", ja)
	}

	b.send(map[string]any{"type": "join", "id": 2, "room": s.room, "auth": s.auth, "role": "listen"})
	jb := b.expect(typeJoined)
	if jb.ID != 2 || jb.Nameplate != ja.Nameplate || len(jb.Members) != 2 ||
		jb.Members[0] != ja.Members[0] || jb.Members[1] != (wireMember{jb.Self, "listen"}) {
		t.Fatalf("joiner's joined: %+v (creator's %+v)", jb, ja)
	}
	mj := a.expect(typeMemberJoined)
	if string(mj.Member) != `{"id":"`+jb.Self+`","role":"listen"}` {
		t.Fatalf("member_joined: %s", mj.Member)
	}
	if got := ts.metric(t, "sotto_rooms"); got != "1" {
		t.Fatalf("sotto_rooms %s with one room", got)
	}
	if got := ts.metric(t, "sotto_members"); got != "2" {
		t.Fatalf("sotto_members %s with two members", got)
	}

	// Blobs: to everyone else, and to one member.
	b.send(map[string]any{"type": "blob", "data": "aGVsbG8"})
	if m := a.expect(typeBlob); m.From != jb.Self || m.Data != "aGVsbG8" {
		t.Fatalf("broadcast blob: %+v", m)
	}
	a.send(map[string]any{"type": "blob", "to": jb.Self, "data": "d29ybGQ"})
	if m := b.expect(typeBlob); m.From != ja.Self || m.Data != "d29ybGQ" {
		t.Fatalf("direct blob: %+v", m)
	}
	a.send(map[string]any{"type": "blob", "id": 9, "to": ja.Self, "data": "AA"})
	a.expectError(codeNoSuchMember, 9) // not to oneself

	b.send(map[string]any{"type": "leave", "id": 3})
	if m := b.expect(typeLeft); m.ID != 3 {
		t.Fatalf("left: %+v", m)
	}
	if m := a.expect(typeMemberLeft); m.memberID() != jb.Self {
		t.Fatalf("member_left: %+v", m)
	}
	b.send(map[string]any{"type": "leave", "id": 4})
	b.expectError(codeNotInRoom, 4)

	// The last leave purges the room: its id is free again.
	a.send(map[string]any{"type": "leave"})
	a.expect(typeLeft)
	if got := ts.metric(t, "sotto_rooms"); got != "0" {
		t.Fatalf("sotto_rooms %s after the last leave", got)
	}
	if got := ts.metric(t, "sotto_members"); got != "0" {
		t.Fatalf("sotto_members %s after the last leave", got)
	}
	b.send(map[string]any{"type": "join", "id": 5, "room": s.room, "auth": s.auth})
	b.expectError(codeNoSuchRoom, 5)
	b.create(s, 6)
	a.ping(7)
}

func TestJoinRefused(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{MaxMembersPerRoom: 2})
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)
	a.create(s, 1)

	wrong := newSecrets()
	b.send(map[string]any{"type": "join", "id": 2, "room": s.room, "auth": wrong.auth})
	b.expectError(codeBadAuth, 2)
	b.send(map[string]any{"type": "join", "id": 3, "room": wrong.room, "auth": s.auth})
	b.expectError(codeNoSuchRoom, 3)
	b.send(map[string]any{"type": "create", "id": 4, "room": s.room, "verifier": wrong.verifier})
	b.expectError(codeRoomExists, 4)

	// The right token still works, and a connection is in one room at most.
	b.join(s, 5)
	b.send(map[string]any{"type": "create", "id": 6, "room": wrong.room, "verifier": wrong.verifier})
	b.expectError(codeAlreadyInRoom, 6)
	c := ts.dial(t)
	c.send(map[string]any{"type": "join", "id": 7, "room": s.room, "auth": s.auth})
	c.expectError(codeRoomFull, 7)
}

// testClientIP is a Config.ClientIP that believes the X-Test-Client
// header (as main believes a trusted proxy), so that one loopback test
// can be many addresses (ts.dialAs).
func testClientIP(r *http.Request) netip.Addr {
	a, _ := netip.ParseAddr(r.Header.Get("X-Test-Client")) // invalid when absent
	return a
}

// dialAsOK is dialAs for a connection that must open.
func (ts *testServer) dialAsOK(t *testing.T, addr string) *client {
	t.Helper()
	status, c, _ := ts.dialAs(t, addr)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("dial as %s: HTTP %d", addr, status)
	}
	return c
}

func TestFailedJoinBudget(t *testing.T) {
	ts := startServer(t, Config{
		FailedJoinBurst: 4, FailedJoinRate: 0.001,
		FailedJoinAddrBurst: 2, FailedJoinAddrRate: 0.001,
		ClientIP: testClientIP,
	}, room.Config{})
	s := newSecrets()
	ts.dialAsOK(t, "192.0.2.1").create(s, 1)
	guess := func(addr string, id uint32, want string) {
		t.Helper()
		g := ts.dialAsOK(t, addr)
		g.send(map[string]any{"type": "join", "id": id, "room": s.room, "auth": newSecrets().auth})
		g.expectError(want, id)
	}
	// An address has its own budget: two guesses, then try_later.
	guess("198.51.100.1", 10, codeBadAuth)
	guess("198.51.100.1", 11, codeBadAuth)
	guess("198.51.100.1", 12, codeTryLater)
	// A right token costs nothing: the server-wide budget is still at 2.
	ts.dialAsOK(t, "192.0.2.2").join(s, 13)
	// An address that failed may not take the server's last half...
	guess("198.51.100.2", 14, codeBadAuth)
	guess("198.51.100.2", 15, codeTryLater)
	// ...which one that did not fail may: that spends it.
	guess("198.51.100.3", 16, codeBadAuth)
	// Spent: even a right token is not checked.
	b := ts.dialAsOK(t, "192.0.2.3")
	b.send(map[string]any{"type": "join", "id": 20, "room": s.room, "auth": s.auth})
	b.expectError(codeTryLater, 20)
	b.send(map[string]any{"type": "create", "id": 21, "room": newSecrets().room, "verifier": s.verifier})
	b.expectError(codeTryLater, 21)
}

func TestFloor(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	s := newSecrets()
	a, b, l := ts.dial(t), ts.dial(t), ts.dial(t)
	ja := a.create(s, 1)
	b.join(s, 2)
	a.expect(typeMemberJoined)
	l.send(map[string]any{"type": "join", "id": 3, "room": s.room, "auth": s.auth, "role": "listen"})
	l.expect(typeJoined)
	a.expect(typeMemberJoined)
	b.expect(typeMemberJoined)

	l.send(map[string]any{"type": "floor_request", "id": 4})
	l.expectError(codeListenOnly, 4)
	b.send(map[string]any{"type": "floor_release", "id": 5})
	b.expectError(codeNotHolder, 5)

	a.send(map[string]any{"type": "floor_request", "id": 6})
	g := a.expect(typeFloorGranted)
	if g.ID != 6 || g.memberID() != ja.Self || g.DeadlineMS <= 0 || g.DeadlineMS > room.DefaultTalkTimeLimit.Milliseconds() {
		t.Fatalf("holder's floor_granted: %+v", g)
	}
	for _, o := range []*client{b, l} {
		if g := o.expect(typeFloorGranted); g.ID != 0 || g.memberID() != ja.Self {
			t.Fatalf("other's floor_granted: %+v", g)
		}
	}
	// Asking again keeps the floor, and is answered.
	a.send(map[string]any{"type": "floor_request", "id": 7})
	if g := a.expect(typeFloorGranted); g.ID != 7 || g.memberID() != ja.Self {
		t.Fatalf("repeated floor_request: %+v", g)
	}
	b.send(map[string]any{"type": "floor_request", "id": 8})
	if m := b.expect(typeFloorBusy); m.ID != 8 || m.Holder != ja.Self {
		t.Fatalf("floor_busy: %+v", m)
	}
	// A member who joins now sees the floor held.
	d := ts.dial(t)
	if j := d.join(s, 9); j.Floor == nil || j.Floor.Holder != ja.Self || j.Floor.DeadlineMS <= 0 {
		t.Fatalf("late joiner's floor: %+v", j.Floor)
	}
	a.send(map[string]any{"type": "floor_release", "id": 10})
	a.expect(typeMemberJoined)
	if r := a.expect(typeFloorReleased); r.ID != 10 || r.memberID() != ja.Self || r.Reason != "released" {
		t.Fatalf("holder's floor_released: %+v", r)
	}
	b.expect(typeMemberJoined)
	if r := b.expect(typeFloorReleased); r.ID != 0 || r.memberID() != ja.Self || r.Reason != "released" {
		t.Fatalf("other's floor_released: %+v", r)
	}
}

// Fifty members press at the same instant: exactly one gets the floor.
func TestFloorRace(t *testing.T) {
	const n = 50
	ts := startServer(t, Config{MaxConnsPerIP: n}, room.Config{MaxMembersPerRoom: n})
	s := newSecrets()
	cs := make([]*client, n)
	selves := make([]string, n)
	for i := range cs {
		cs[i] = ts.dial(t)
		if i == 0 {
			selves[i] = cs[i].create(s, 1).Self
		} else {
			selves[i] = cs[i].join(s, 1).Self
		}
	}
	// Drain the member_joined each saw.
	for i, c := range cs {
		for range n - 1 - i {
			c.expect(typeMemberJoined)
		}
	}

	start := make(chan struct{})
	var ready, done sync.WaitGroup
	granted := make([]bool, n)
	busyHolder := make([]string, n)
	seenGrant := make([]string, n)
	errs := make(chan string, n)
	for i, c := range cs {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			if err := c.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"floor_request","id":77}`)); err != nil {
				errs <- err.Error()
				return
			}
			// Each member gets the broadcast floor_granted, and the
			// loser also a floor_busy, in either order.
			for seenGrant[i] == "" || (!granted[i] && busyHolder[i] == "") {
				m, err := c.tryRead(10 * time.Second)
				if err != nil {
					errs <- err.Error()
					return
				}
				switch {
				case m.Type == typeFloorGranted:
					seenGrant[i] = m.memberID()
					if m.memberID() == selves[i] {
						if m.ID != 77 {
							errs <- "holder's floor_granted lacks the request id"
						}
						granted[i] = true
					}
				case m.Type == typeFloorBusy && m.ID == 77:
					busyHolder[i] = m.Holder
				default:
					errs <- "unexpected " + m.Type
					return
				}
			}
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	winners := 0
	var winner string
	for i := range cs {
		if granted[i] {
			winners++
			winner = selves[i]
		}
	}
	if winners != 1 {
		t.Fatalf("%d members got the floor, want exactly 1", winners)
	}
	for i := range cs {
		if seenGrant[i] != winner {
			t.Errorf("member %d saw the floor go to %q, not the winner %q", i, seenGrant[i], winner)
		}
		if !granted[i] && busyHolder[i] != winner {
			t.Errorf("member %d: floor_busy names %q, not the winner %q", i, busyHolder[i], winner)
		}
	}
}

func TestFloorReleasedWhenHolderDisconnects(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)
	ja := a.create(s, 1)
	b.join(s, 2)
	a.expect(typeMemberJoined)
	a.send(map[string]any{"type": "floor_request"})
	a.expect(typeFloorGranted)
	b.expect(typeFloorGranted)

	a.ws.NetConn().Close() // no close frame: the phone lost its network
	r := b.expect(typeFloorReleased)
	if r.memberID() != ja.Self || r.Reason != "left" {
		t.Fatalf("floor_released: %+v", r)
	}
	if m := b.expect(typeMemberLeft); m.memberID() != ja.Self {
		t.Fatalf("member_left: %+v", m)
	}
}

func TestTalkTimeLimit(t *testing.T) {
	const limit = 300 * time.Millisecond
	ts := startServer(t, Config{}, room.Config{TalkTimeLimit: limit})
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)
	ja := a.create(s, 1)
	if ja.TalkLimitMS != limit.Milliseconds() {
		t.Fatalf("talk_limit_ms %d, want %d", ja.TalkLimitMS, limit.Milliseconds())
	}
	b.join(s, 2)
	a.expect(typeMemberJoined)
	start := time.Now()
	a.send(map[string]any{"type": "floor_request", "id": 3})
	if g := a.expect(typeFloorGranted); g.DeadlineMS <= 0 || g.DeadlineMS > limit.Milliseconds() {
		t.Fatalf("deadline_ms %d, want in (0, %d]", g.DeadlineMS, limit.Milliseconds())
	}
	b.expect(typeFloorGranted)
	for _, c := range []*client{a, b} {
		r := c.expect(typeFloorReleased)
		if r.memberID() != ja.Self || r.Reason != "timeout" || r.ID != 0 {
			t.Fatalf("floor_released: %+v", r)
		}
	}
	if e := time.Since(start); e < limit {
		t.Fatalf("floor released after %v, before the %v cap", e, limit)
	}
	// The floor is free again.
	b.send(map[string]any{"type": "floor_request"})
	b.expect(typeFloorGranted)
}

func TestOrigin(t *testing.T) {
	ts := startServer(t, Config{AllowedOrigins: []string{"https://App.Example.com:443", "http://localhost:5173"}}, room.Config{})
	host := strings.TrimPrefix(ts.http.URL, "http://")
	for _, tc := range []struct {
		origin string
		ok     bool
	}{
		{"", true}, // not a browser
		{"http://" + host, true},
		{"https://app.example.com", true},
		{"http://localhost:5173", true},
		{"https://evil.example", false},
		{"http://localhost:5174", false},
		{"null", false},
		{"https://app.example.com.evil.example", false},
	} {
		hdr := http.Header{}
		if tc.origin != "" {
			hdr.Set("Origin", tc.origin)
		}
		ws, resp, err := dialOpts(t, ts.url, hdr, Subprotocol)
		if tc.ok {
			if err != nil {
				t.Errorf("origin %q refused: %v", tc.origin, err)
				continue
			}
			ws.Close()
			continue
		}
		if err == nil {
			ws.Close()
			t.Errorf("origin %q accepted", tc.origin)
			continue
		}
		if resp == nil || resp.StatusCode != http.StatusForbidden {
			t.Errorf("origin %q: %v, want HTTP 403", tc.origin, err)
		}
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="origin"}`); got != "4" {
		t.Errorf("origin rejections %s, want 4", got)
	}
}

func TestSubprotocol(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	for _, protos := range [][]string{nil, {"sotto.v2"}, {"sotto.v0", "x"}} {
		ws, _, err := dialOpts(t, ts.url, nil, protos...)
		if err != nil {
			t.Fatalf("%v: %v", protos, err)
		}
		c := &client{t: t, ws: ws}
		c.expectClose(CloseUnsupportedVersion)
		ws.Close()
	}
	ws, _, err := dialOpts(t, ts.url, nil, "sotto.v2", Subprotocol)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if ws.Subprotocol() != Subprotocol {
		t.Fatalf("negotiated %q", ws.Subprotocol())
	}
	(&client{t: t, ws: ws}).ping(1)
}

func TestPerIPCap(t *testing.T) {
	ts := startServer(t, Config{MaxConnsPerIP: 2}, room.Config{})
	a := ts.dial(t)
	ts.dial(t)
	_, resp, err := dialOpts(t, ts.url, nil, Subprotocol)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v, want HTTP 429", err)
	}
	a.ws.Close()
	// The slot comes back once the server has noticed.
	deadline := time.Now().Add(5 * time.Second)
	for {
		ws, _, err := dialOpts(t, ts.url, nil, Subprotocol)
		if err == nil {
			ws.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no slot after a close: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestShutdown(t *testing.T) {
	// startServer's cleanup also shuts down and checks for leaks; this test
	// checks what clients see.
	ts := startServer(t, Config{}, room.Config{})
	s := newSecrets()
	a, b, c := ts.dial(t), ts.dial(t), ts.dial(t)
	a.create(s, 1)
	b.join(s, 2)
	a.expect(typeMemberJoined)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- ts.sig.Shutdown(ctx) }()
	for _, cl := range []*client{a, b, c} {
		if ce := cl.expectClose(websocket.CloseGoingAway); ce.Text != "server shutting down" {
			t.Errorf("close reason %q", ce.Text)
		}
		cl.ws.Close()
	}
	if err := <-errc; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if rooms, members := ts.reg.Counts(); rooms != 0 || members != 0 {
		t.Fatalf("after Shutdown: %d rooms, %d members", rooms, members)
	}
	if got := ts.metric(t, "sotto_connections_open"); got != "0" {
		t.Fatalf("sotto_connections_open %s after Shutdown", got)
	}
	_, resp, err := dialOpts(t, ts.url, nil, Subprotocol)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection after Shutdown: %v, want HTTP 503", err)
	}
}

func TestNotInRoom(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	c := ts.dial(t)
	for i, typ := range []string{"leave", "floor_request", "floor_release"} {
		c.send(map[string]any{"type": typ, "id": i + 1})
		c.expectError(codeNotInRoom, uint32(i+1))
	}
	c.send(map[string]any{"type": "blob", "id": 4, "data": "AA"})
	c.expectError(codeNotInRoom, 4)
	c.ping(5)
}

func TestIPKey(t *testing.T) {
	for _, tc := range []struct{ addr, key string }{
		{"192.0.2.7:5000", "192.0.2.7/32"},
		{"[::ffff:192.0.2.7]:5000", "192.0.2.7/32"}, // IPv4 over an IPv6 socket
		{"[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:bbbb::9]:443", "2001:db8:1:2::/64"}, // same /64, same key
		{"[fe80::1%eth0]:80", "fe80::/64"},
		{"not an address", "invalid Prefix"},
	} {
		if got := ipKey(tc.addr).String(); got != tc.key {
			t.Errorf("ipKey(%q) = %s, want %s", tc.addr, got, tc.key)
		}
	}
	if ipKey("[2001:db8:1:2::1]:1") == ipKey("[2001:db8:1:3::1]:1") {
		t.Error("different /64s share a key")
	}
}

func TestNormalizeOrigin(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		ok      bool
	}{
		{"https://Example.COM", "https://example.com", true},
		{"https://example.com:443/", "https://example.com", true},
		{"http://example.com:80", "http://example.com", true},
		{"http://localhost:5173", "http://localhost:5173", true},
		{"https://[2001:DB8::1]:8443", "https://[2001:db8::1]:8443", true},
		{"https://example.com/app", "", false},
		{"ftp://example.com", "", false},
		{"example.com", "", false},
		{"https://user@example.com", "", false},
	} {
		out, ok := normalizeOrigin(tc.in)
		if out != tc.out || ok != tc.ok {
			t.Errorf("normalizeOrigin(%q) = %q, %v; want %q, %v", tc.in, out, ok, tc.out, tc.ok)
		}
	}
}

func TestChooseSubprotocol(t *testing.T) {
	for _, tc := range []struct {
		offered []string
		want    string
	}{
		{[]string{Subprotocol}, Subprotocol},
		{[]string{"sotto.v2", Subprotocol}, Subprotocol},
		{[]string{"sotto.v2"}, "sotto.v2"}, // echoed, then closed with 4001
		{nil, ""},
		{[]string{"bad name!"}, ""},
		{[]string{strings.Repeat("x", 65)}, ""},
	} {
		if got := chooseSubprotocol(tc.offered); got != tc.want {
			t.Errorf("chooseSubprotocol(%q) = %q, want %q", tc.offered, got, tc.want)
		}
	}
}
