package signal

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"sotto/internal/testutil"
	"sotto/room"
)

// forgetSettle is how long a test waits to see that no forget (or no
// second one) follows: the server decides on the reader goroutine of the
// closing connection, microseconds after the close reaches it.
const forgetSettle = 200 * time.Millisecond

// fakeForgetter records each forget and holds its done until answer.
type fakeForgetter struct {
	mu      sync.Mutex
	sent    []room.ID
	pending []func()
}

func (f *fakeForgetter) forget(id room.ID, done func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sent = append(f.sent, id)
	f.pending = append(f.pending, done)
}

// answer calls the done of every forget sent so far, as the load balancer
// answering them.
func (f *fakeForgetter) answer() {
	f.mu.Lock()
	pending := f.pending
	f.pending = nil
	f.mu.Unlock()
	for _, done := range pending {
		done()
	}
}

// count is how many forgets of id were sent.
func (f *fakeForgetter) count(id room.ID) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, s := range f.sent {
		if s == id {
			n++
		}
	}
	return n
}

// roomID decodes a test room's id.
func roomID(t testing.TB, s secrets) room.ID {
	t.Helper()
	var id room.ID
	if b, err := b64.DecodeString(s.room); err != nil || copy(id[:], b) != len(id) {
		t.Fatalf("room id %q: %v", s.room, err)
	}
	return id
}

// startForgetting starts a server with a fake forgetter, and makes a room's
// secrets for the test to use.
func startForgetting(t *testing.T, rcfg room.Config) (*fakeForgetter, *testServer, secrets, room.ID) {
	t.Helper()
	f := &fakeForgetter{}
	ts := startServer(t, Config{Forget: f.forget}, rcfg)
	s := newSecrets()
	return f, ts, s, roomID(t, s)
}

// expectForgets waits until want forgets of id were sent, then for
// forgetSettle, and checks that no more followed.
func expectForgets(t *testing.T, f *fakeForgetter, id room.ID, want int, when string) {
	t.Helper()
	if want > 0 {
		testutil.WaitFor(t, 5*time.Second, "the forget "+when, func() bool { return f.count(id) >= want })
	}
	time.Sleep(forgetSettle)
	if got := f.count(id); got != want {
		t.Fatalf("%s: %d forgets sent, want %d", when, got, want)
	}
}

// A room is forgotten once, when its last member has left and the last
// WebSocket that named it has closed, whichever comes last; not while
// either remains.
func TestForgetWhenRoomAndConnectionsGone(t *testing.T) {
	f, ts, s, id := startForgetting(t, room.Config{})

	a := ts.dialRoute(t, "r="+s.room)
	a.create(s, 1)
	b := ts.dialRoute(t, "r="+s.room)
	b.join(s, 1)
	a.expect(typeMemberJoined)
	idle := ts.dialRoute(t, "r="+s.room) // names the room, never joins
	idle.ping(1)

	a.ws.Close()
	b.expect(typeMemberLeft)
	expectForgets(t, f, id, 0, "with a member left")
	b.ws.Close()
	ts.waitMetric(t, "sotto_rooms", "0")
	expectForgets(t, f, id, 0, "with the room gone but a WebSocket naming it open")
	idle.ws.Close()
	expectForgets(t, f, id, 1, "after the last WebSocket closed")

	// The other order: the last WebSocket closes while its room still
	// lives (another connection, which named nothing, holds it: an old
	// client), and the room goes after it.
	f.answer()
	s2 := newSecrets()
	id2 := roomID(t, s2)
	keyless := ts.dial(t)
	keyless.create(s2, 1)
	named := ts.dialRoute(t, "r="+s2.room)
	named.join(s2, 1)
	keyless.expect(typeMemberJoined)
	named.ws.Close()
	keyless.expect(typeMemberLeft)
	expectForgets(t, f, id2, 0, "with the room alive")
	keyless.ws.Close()
	expectForgets(t, f, id2, 1, "after the room went")
	if f.count(id) != 1 {
		t.Fatalf("the first room was forgotten %d times", f.count(id))
	}

	// A guesser's id: no room ever, forgotten when its WebSocket closes.
	g := newSecrets()
	guess := ts.dialRoute(t, "r="+g.room)
	guess.send(map[string]any{"type": "join", "id": 1, "room": g.room, "auth": g.auth})
	guess.expectError(codeNoSuchRoom, 1)
	guess.ws.Close()
	expectForgets(t, f, roomID(t, g), 1, "after a guess")

	// A nameplate's WebSocket names no room: nothing to forget.
	before := len(f.sent)
	np := ts.dialRoute(t, "np=1234")
	np.ping(1)
	np.ws.Close()
	time.Sleep(forgetSettle)
	if len(f.sent) != before {
		t.Fatalf("a nameplate's WebSocket led to %d forgets", len(f.sent)-before)
	}
}

// Members waiting for a resume keep their room: it is forgotten when the
// grace runs out, not when the connections close; a resume in time keeps
// it.
func TestForgetWaitsForResumeGrace(t *testing.T) {
	const grace = 500 * time.Millisecond
	f, ts, s, id := startForgetting(t, room.Config{ResumeGrace: grace})

	a := ts.dialRoute(t, "r="+s.room)
	ja := a.create(s, 1)
	a.ws.NetConn().Close()
	expectForgets(t, f, id, 0, "while the member may resume")
	a2 := ts.dialRoute(t, "r="+s.room)
	a2.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": ja.Resume})
	a2.expect(typeJoined)
	a2.ws.NetConn().Close()
	expectForgets(t, f, id, 0, "right after the second drop")
	testutil.WaitFor(t, 5*time.Second, "the grace to run out", func() bool { return ts.metric(t, "sotto_rooms") == "0" })
	expectForgets(t, f, id, 1, "after the grace")
}

// While a room's forget is outstanding, a WebSocket naming it is refused
// with 503 and a short Retry-After, counted as forget_pending; other rooms
// and nameplates are served; once the forget is answered the room's id is
// served again.
func TestForgetPendingRefusesTheRoom(t *testing.T) {
	f, ts, s, id := startForgetting(t, room.Config{})
	a := ts.dialRoute(t, "r="+s.room)
	a.create(s, 1)
	a.ws.Close()
	expectForgets(t, f, id, 1, "after the room emptied")

	ws, res, err := dialOpts(t, ts.url+"?r="+s.room, nil, Subprotocol)
	if err == nil {
		ws.Close()
		t.Fatal("a WebSocket naming a room being forgotten was accepted")
	}
	if res == nil || res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "1" {
		t.Fatalf("refusal: %v %+v", err, res)
	}
	ts.waitMetric(t, `sotto_rejections_total{reason="forget_pending"}`, "1")
	ts.waitMetric(t, "sotto_connections_open", "0") // the refusal held no place

	other := ts.dialRoute(t, "r="+newSecrets().room)
	other.ping(1)
	np := ts.dialRoute(t, "np=1234")
	np.ping(1)

	f.answer()
	b := ts.dialRoute(t, "r="+s.room)
	b.create(s, 1)
	b.ws.Close()
	expectForgets(t, f, id, 2, "after the rebuilt room emptied")
}

// Without a forgetter nothing is counted, and the registry needs no hook;
// with one, a registry that would never report a purged room is refused at
// start.
func TestForgetOnlyWithForgetter(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	if ts.sig.lb != nil {
		t.Fatal("a server without Config.Forget counts WebSockets per room")
	}
	s := newSecrets()
	for range 3 { // the same id, again and again, served each time
		c := ts.dialRoute(t, "r="+s.room)
		c.create(s, 1)
		c.ws.Close()
		ts.waitMetric(t, "sotto_rooms", "0")
	}

	defer func() {
		if recover() == nil {
			t.Fatal("NewServer accepted Forget with a registry that has no OnGone")
		}
	}()
	NewServer(Config{Registry: room.NewRegistry(room.Config{}), Forget: func(room.ID, func()) {}})
}

// discardSink is a member's sink that drops every event.
type discardSink struct{ n int }

func (*discardSink) Deliver(room.Event) {}

// Forget decisions against a registry driven from many goroutines at once,
// each counting a WebSocket, joining, leaving and uncounting it, while the
// load balancer answers forgets from a goroutine of its own: a forget goes
// out only with no WebSocket counted, a WebSocket is refused only while one
// is outstanding, and nothing is left behind (run with -race: no lock
// order is broken either).
func TestForgetDecisionsUnderLoad(t *testing.T) {
	const workers, rounds = 8, 300
	var lb *lbForgets
	var mu sync.Mutex
	var sent, namedAtSend, refused int
	answers := make(chan func(), workers*rounds)
	lb = newLBForgets(func(id room.ID, done func()) {
		lb.mu.Lock()
		named := lb.open[string(id[:])]
		lb.mu.Unlock()
		mu.Lock()
		sent++
		namedAtSend += named
		mu.Unlock()
		answers <- done
	})
	answered := make(chan struct{})
	go func() {
		defer close(answered)
		for done := range answers {
			done()
		}
	}()
	reg := room.NewRegistry(room.Config{ResumeGrace: -1, OnGone: func(id room.ID) { lb.roomGone(id) }})
	id := room.ID{7}
	rt := route{hasRoom: true, room: id}
	auth := []byte("the room's auth token")
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sink := &discardSink{w}
			for range rounds {
				for !lb.acquire(rt) { // as a client retries
					mu.Lock()
					refused++
					mu.Unlock()
					time.Sleep(time.Microsecond)
				}
				snap, err := reg.CreateFrom(id, room.VerifierOf(auth), room.RoleTalk, "", "", sink)
				if err != nil {
					snap, err = reg.JoinFrom(id, auth, room.RoleTalk, "", "", sink)
				}
				if err == nil {
					reg.LeaveFrom(id, snap.Self.ID, sink)
				}
				lb.release(reg, rt)
			}
		}()
	}
	wg.Wait()
	close(answers)
	<-answered
	if sent == 0 || namedAtSend != 0 {
		t.Fatalf("%d forgets sent, with %d WebSockets naming the room counted at the time", sent, namedAtSend)
	}
	if n, _ := reg.Counts(); n != 0 {
		t.Fatalf("%d rooms left", n)
	}
	if len(lb.open) != 0 || len(lb.forgetting) != 0 {
		t.Fatalf("left behind: %d ids counted, %d forgetting", len(lb.open), len(lb.forgetting))
	}
	t.Logf("%d forgets, %d WebSockets refused while one was outstanding", sent, refused)
}
