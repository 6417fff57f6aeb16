package client

// The sending side of docs/keys.md through a real signaling server (no
// media): who rotates when, who gets which epoch, folding, the resume
// resend, expiry and erasure. The clients share one fake clock, so the
// switch, the grace and the interval move only when a test says; the
// network is real, so tests wait for events with a real deadline.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"sotto/e2ee"
	"sotto/room"
	"sotto/signal"
)

// keyRoom is a signaling server, a room secret and a fake clock.
type keyRoom struct {
	url    string
	secret []byte
	clock  *fakeClock
}

func newKeyRoom(t *testing.T) *keyRoom {
	t.Helper()
	url := startSignal(t, signal.Config{
		Registry:      room.NewRegistry(room.Config{MaxMembersPerRoom: 16, ResumeGrace: -1}),
		Logger:        slog.New(slog.DiscardHandler),
		MaxConnsPerIP: 64,
	})
	return &keyRoom{url: url, secret: e2ee.NewSecret(), clock: newFakeClock()}
}

// events records one client's events.
type events struct {
	mu  sync.Mutex
	all []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

// of returns the events of the given types, in order.
func (e *events) of(types ...string) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if slices.Contains(types, ev.Type) {
			out = append(out, ev)
		}
	}
	return out
}

// wait waits (in real time: the network is real) until n events of type
// typ matching ok have come.
func (e *events) wait(t *testing.T, what string, n int, typ string, ok func(Event) bool) []Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []Event
		for _, ev := range e.of(typ) {
			if ok == nil || ok(ev) {
				got = append(got, ev)
			}
		}
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d of %d %q events", what, len(got), n, typ)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type keyMember struct {
	*Client
	ev *events
}

func (r *keyRoom) join(t *testing.T, name string, mod ...func(*Config)) keyMember {
	t.Helper()
	ev := &events{}
	cfg := Config{URL: r.url, Secret: r.secret, Name: name, NoMedia: true, clock: r.clock, OnEvent: ev.add}
	for _, f := range mod {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Connect(ctx, cfg)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() { c.Close() })
	return keyMember{c, ev}
}

// settle waits until every member holds every other's current epoch and
// none is rotating, moving the fake clock past pending switches.
func (r *keyRoom) settle(t *testing.T, ms ...keyMember) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := true
		for _, a := range ms {
			if a.Rotating() {
				done = false
			}
			for _, b := range ms {
				if a.Client != b.Client && !a.CanDecrypt(b.KID()) {
					done = false
				}
			}
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the members never settled on each other's keys")
		}
		r.clock.Advance(10 * time.Millisecond)
		time.Sleep(5 * time.Millisecond)
	}
}

func sidOf(ev Event) func(Event) bool {
	return func(e Event) bool { return e.SID == ev.SID && e.Epoch == ev.Epoch }
}

// A later joiner makes every member rotate; it gets only the new keys
// (never an epoch said before it came), and sends its own first key to
// each member whose hello it reads.
func TestRotateOnJoin(t *testing.T) {
	r := newKeyRoom(t)
	a := r.join(t, "A")
	b := r.join(t, "B")
	r.settle(t, a, b)
	aEpoch, bEpoch := a.Epoch(), b.Epoch()

	c := r.join(t, "C")
	for _, m := range []keyMember{a, b} {
		rot := m.ev.wait(t, "a rotation for C", 1, "rotate", func(e Event) bool { return e.Reason == rotateJoin && e.Members == 2 })
		c.ev.wait(t, "C to get the new key", 1, "key", sidOf(rot[len(rot)-1]))
	}
	r.settle(t, a, b, c)
	if a.Epoch() == aEpoch || b.Epoch() == bEpoch {
		t.Fatalf("epochs A %d→%d, B %d→%d: want both to move on C's join", aEpoch, a.Epoch(), bEpoch, b.Epoch())
	}
	for _, m := range []keyMember{a, b} {
		if held := c.HeldEpochs(m.SID()); slices.Contains(held, aEpoch) && m.Client == a.Client ||
			slices.Contains(held, bEpoch) && m.Client == b.Client {
			t.Fatalf("C holds %v of a member that was on epoch %d/%d before it came", held, aEpoch, bEpoch)
		}
	}
	// C came last: nobody made it rotate, and its epoch 0 reached both.
	if rot := c.ev.of("rotate"); len(rot) != 0 {
		t.Fatalf("C rotated: %+v", rot)
	}
	for _, m := range []keyMember{a, b} {
		if e, ok := m.EpochOf(c.SID()); !ok || e != 0 {
			t.Fatalf("a member holds C's epoch %d (%v), want 0", e, ok)
		}
	}
}

// A leave makes every remaining member rotate to a key wrapped for the
// others only; the leaver's epochs are erased at once, the others' old
// epochs after OldKeyGrace.
func TestRotateOnLeave(t *testing.T) {
	r := newKeyRoom(t)
	a, b, c := r.join(t, "A"), r.join(t, "B"), r.join(t, "C")
	r.settle(t, a, b, c)
	if len(a.HeldEpochs(c.SID())) == 0 {
		t.Fatal("A holds no key of C before the leave")
	}
	r.clock.Advance(e2ee.OldKeyGrace) // the joins' old epochs are gone
	aOld, bOld := a.Epoch(), b.Epoch()

	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	for _, m := range []keyMember{a, b} {
		m.ev.wait(t, "a rotation for the leave", 1, "rotate", func(e Event) bool { return e.Reason == rotateLeave && e.Members == 1 })
		if held := m.HeldEpochs(c.SID()); held != nil {
			t.Fatalf("a member still holds the leaver's epochs %v", held)
		}
	}
	b.ev.wait(t, "B to get A's new key", 1, "key", func(e Event) bool { return e.SID == a.SID() && e.Epoch == aOld+1 })
	a.ev.wait(t, "A to get B's new key", 1, "key", func(e Event) bool { return e.SID == b.SID() && e.Epoch == bOld+1 })
	if a.KID() != e2ee.EpochKID(a.SID(), aOld) {
		t.Fatal("A switched before KeySwitchDelay")
	}
	r.clock.Advance(e2ee.KeySwitchDelay)
	a.ev.wait(t, "A's switch", 1, "switch", func(e Event) bool { return e.Epoch == aOld+1 })
	if a.KID() != e2ee.EpochKID(a.SID(), aOld+1) || b.KID() != e2ee.EpochKID(b.SID(), bOld+1) {
		t.Fatalf("after the switch: A on %x, B on %x", a.KID(), b.KID())
	}
	// B's old epoch is in its grace at A, then erased.
	if held := a.HeldEpochs(b.SID()); !slices.Equal(held, []uint16{bOld, bOld + 1}) {
		t.Fatalf("A holds B's epochs %v, want [%d %d]", held, bOld, bOld+1)
	}
	r.clock.Advance(e2ee.OldKeyGrace)
	if held := a.HeldEpochs(b.SID()); !slices.Equal(held, []uint16{bOld + 1}) {
		t.Fatalf("after the grace A holds B's epochs %v, want [%d]", held, bOld+1)
	}
	if a.CanDecrypt(e2ee.EpochKID(b.SID(), bOld)) {
		t.Fatal("A can still decrypt B's old epoch after the grace")
	}
}

// Every RotationInterval a member rotates on its own timer.
func TestRotateOnTimer(t *testing.T) {
	r := newKeyRoom(t)
	short := func(c *Config) { c.RotationInterval = time.Minute }
	a, b := r.join(t, "A", short), r.join(t, "B", short)
	r.settle(t, a, b)
	aEpoch := a.Epoch()
	r.clock.Advance(time.Minute)
	rot := a.ev.wait(t, "A's timer rotation", 1, "rotate", func(e Event) bool { return e.Reason == rotateTimer })
	b.ev.wait(t, "B to get it", 1, "key", sidOf(rot[0]))
	r.clock.Advance(e2ee.KeySwitchDelay)
	if a.Epoch() != aEpoch+1 {
		t.Fatalf("A on epoch %d after its timer, want %d", a.Epoch(), aEpoch+1)
	}
}

// Two leaves while a rotation waits for its switch: one rotation for the
// first, one more (folded) right after the switch, none for the second.
func TestRotationFoldsTriggers(t *testing.T) {
	r := newKeyRoom(t)
	a, b, c, d := r.join(t, "A"), r.join(t, "B"), r.join(t, "C"), r.join(t, "D")
	r.settle(t, a, b, c, d)
	before := len(a.ev.of("rotate"))
	c.Close()
	d.Close()
	a.ev.wait(t, "both leaves at A", 2, "member_left", nil)
	rot := a.ev.of("rotate")[before:]
	if len(rot) != 1 || rot[0].Reason != rotateLeave {
		t.Fatalf("A's rotations for two leaves before the switch: %+v, want one", rot)
	}
	r.clock.Advance(e2ee.KeySwitchDelay)
	rot = a.ev.of("rotate")[before:]
	if len(rot) != 2 || rot[1].Reason != rotateFolded || rot[1].Epoch != rot[0].Epoch+1 || rot[1].Members != 1 {
		t.Fatalf("after the switch: %+v, want one folded rotation for B alone", rot)
	}
	b.ev.wait(t, "B to get the folded key", 1, "key", sidOf(rot[1]))
	r.clock.Advance(e2ee.KeySwitchDelay)
	if got := len(a.ev.of("rotate")[before:]); got != 2 {
		t.Fatalf("%d rotations for two leaves, want 2", got)
	}
}

// A member that resumes (member_back) gets our hello and our current key
// again, the same epoch and key (its ring sees a resend), never a new one.
func TestResumeResendsCurrentKey(t *testing.T) {
	r := newKeyRoom(t)
	a, b := r.join(t, "A"), r.join(t, "B")
	r.settle(t, a, b)
	rotations := len(a.ev.of("rotate"))
	epoch := a.Epoch()
	// What the server sends A when B resumes on a new connection.
	a.handle(&inMsg{Type: "member_back", Member: json.RawMessage(fmt.Sprintf("%q", b.Self()))})
	again := b.ev.wait(t, "B to get A's key again", 1, "key_again", nil)
	if again[0].SID != a.SID() || again[0].Epoch != epoch {
		t.Fatalf("resend %+v, want A's epoch %d", again[0], epoch)
	}
	r.clock.Advance(e2ee.KeySwitchDelay)
	if n := len(a.ev.of("rotate")); n != rotations {
		t.Fatal("A rotated for a resume")
	}
	if refused := b.ev.of("key_refused"); len(refused) != 0 {
		t.Fatalf("B refused the resend: %+v", refused)
	}
	if !b.CanDecrypt(a.KID()) {
		t.Fatal("B cannot decrypt A after the resend")
	}
}

// Leave erases everything: no key of ours, no epoch of anyone, no pair;
// nothing is sent under a key afterwards.
func TestLeaveErasesKeys(t *testing.T) {
	r := newKeyRoom(t)
	a, b := r.join(t, "A"), r.join(t, "B")
	r.settle(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Leave(ctx); err != nil {
		t.Fatal(err)
	}
	if a.KID() != 0 || a.HasKeyFrom(b.SID()) || a.k.cur.key != nil || a.k.rcv.Senders() != 0 {
		t.Fatalf("after Leave: KID %x, holds B %v, own key kept %v, receiver senders %d",
			a.KID(), a.HasKeyFrom(b.SID()), a.k.cur.key != nil, a.k.rcv.Senders())
	}
	if _, err := a.k.pair.Agree(b.k.pair.Public()); err != e2ee.ErrKeyPairErased {
		t.Fatalf("the pair after Leave: %v, want erased", err)
	}
	if n := r.clock.pending(); n > 2 { // B's interval and expiry timers at most
		t.Fatalf("%d timers left set", n)
	}
}

// A v1 hello (a "kid", no "sid") is ignored: no member registered, no key
// sent to it.
func TestV1HelloIgnored(t *testing.T) {
	r := newKeyRoom(t)
	a, b := r.join(t, "A"), r.join(t, "B")
	r.settle(t, a, b)
	hellos := len(a.ev.of("hello"))
	pt := []byte(`{"name":"old","kid":"0123456789ab"}`)
	blob, err := e2ee.SealBlob(a.keys.Signal[:], pt)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.sendBlob(a.Self(), blob, 0); err != nil {
		t.Fatal(err)
	}
	// Then a v2 key blob from B, which A must still take: so the v1
	// hello has been handled (in order) when it arrives.
	b.handle(&inMsg{Type: "member_back", Member: json.RawMessage(fmt.Sprintf("%q", a.Self()))})
	a.ev.wait(t, "B's resend after the v1 hello", 1, "key_again", nil)
	if n := len(a.ev.of("hello")); n != hellos {
		t.Fatal("a v1 hello registered")
	}
}
