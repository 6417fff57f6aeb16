package room

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// recorder is a Sink that keeps every event it is given.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) Deliver(e Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
}

func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// fakeClock runs the talk-time timers only when the test says so.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
	clock   *fakeClock
}

func (t *fakeTimer) Stop() bool {
	t.clock.mu.Lock()
	defer t.clock.mu.Unlock()
	was := !t.stopped
	t.stopped = true
	return was
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) Timer {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f, clock: c}
	c.timers = append(c.timers, t)
	return t
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// advance moves time on and fires due timers outside the clock's lock, as
// time.AfterFunc would from its own goroutine.
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []func()
	kept := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t.f)
		default:
			kept = append(kept, t)
		}
	}
	c.timers = kept
	c.mu.Unlock()
	for _, f := range due {
		f()
	}
}

func newTestRegistry(cfg Config) (*Registry, *fakeClock) {
	clk := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	cfg.AfterFunc = clk.AfterFunc
	cfg.Now = clk.Now
	return NewRegistry(cfg), clk
}

func token(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestCreateJoinLeavePurges(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	id := ID{1}
	a, b := &recorder{}, &recorder{}
	sa, err := r.CreateFrom(id, VerifierOf(token(7)), RoleTalk, "", "", a)
	if err != nil {
		t.Fatal(err)
	}
	if len(sa.Nameplate) != MinNameplateDigits || len(sa.Members) != 1 || sa.Members[0] != sa.Self {
		t.Fatalf("bad first snapshot %+v", sa)
	}
	if _, err := r.CreateFrom(id, VerifierOf(token(7)), RoleTalk, "", "", b); !errors.Is(err, ErrRoomExists) {
		t.Fatalf("second create: got %v, want ErrRoomExists", err)
	}
	if _, err := r.JoinFrom(id, token(8), RoleTalk, "", "", b); !errors.Is(err, ErrBadAuth) {
		t.Fatalf("wrong token: got %v, want ErrBadAuth", err)
	}
	if _, err := r.JoinFrom(ID{2}, token(7), RoleTalk, "", "", b); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("unknown room: got %v, want ErrNoSuchRoom", err)
	}
	sb, err := r.JoinFrom(id, token(7), RoleListen, "", "", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(sb.Members) != 2 || sb.Members[0] != sa.Self || sb.Members[1] != sb.Self || sb.Nameplate != sa.Nameplate {
		t.Fatalf("bad join snapshot %+v", sb)
	}
	if ev := a.take(); len(ev) != 1 || ev[0].Kind != MemberJoined || ev[0].Member != sb.Self {
		t.Fatalf("creator was told %+v, want one MemberJoined", ev)
	}
	if ev := b.take(); len(ev) != 0 {
		t.Fatalf("joiner was told about itself: %+v", ev)
	}
	if err := r.LeaveFrom(id, sa.Self.ID, a); err != nil {
		t.Fatal(err)
	}
	if ev := b.take(); len(ev) != 1 || ev[0].Kind != MemberLeft || ev[0].Member != sa.Self {
		t.Fatalf("remaining member was told %+v, want one MemberLeft", ev)
	}
	if err := r.LeaveFrom(id, sa.Self.ID, a); !errors.Is(err, ErrNotMember) {
		t.Fatalf("leaving twice: got %v", err)
	}
	if err := r.LeaveFrom(id, sb.Self.ID, b); err != nil {
		t.Fatal(err)
	}
	if rooms, members := r.Counts(); rooms != 0 || members != 0 {
		t.Fatalf("after the last leave: %d rooms, %d members", rooms, members)
	}
	if len(r.rooms) != 0 || len(r.nameplates) != 0 {
		t.Fatalf("purged room left traces: %v %v", r.rooms, r.nameplates)
	}
	// The same id can be created afresh, with a new verifier.
	if _, err := r.CreateFrom(id, VerifierOf(token(9)), RoleTalk, "", "", a); err != nil {
		t.Fatalf("re-create after purge: %v", err)
	}
}

func TestFloor(t *testing.T) {
	r, clk := newTestRegistry(Config{TalkTimeLimit: 10 * time.Second})
	id := ID{3}
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", b)
	sc, _ := r.JoinFrom(id, token(1), RoleListen, "", "", c)
	a.take()
	b.take()

	if _, err := r.RequestFloor(id, sc.Self.ID); !errors.Is(err, ErrListenOnly) {
		t.Fatalf("listener took the floor: %v", err)
	}
	f, err := r.RequestFloor(id, sa.Self.ID)
	if err != nil || f.Holder != sa.Self.ID || !f.Deadline.Equal(clk.Now().Add(10*time.Second)) {
		t.Fatalf("grant: %+v %v", f, err)
	}
	for _, rec := range []*recorder{a, b, c} {
		if ev := rec.take(); len(ev) != 1 || ev[0].Kind != FloorGranted || ev[0].Member != sa.Self {
			t.Fatalf("grant events %+v", ev)
		}
	}
	if f, _ := r.RequestFloor(id, sb.Self.ID); f.Holder != sa.Self.ID {
		t.Fatalf("busy floor was handed to %v", f.Holder)
	}
	if err := r.ReleaseFloor(id, sb.Self.ID); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("non-holder released: %v", err)
	}
	if len(b.take()) != 0 {
		t.Fatal("a busy request produced events")
	}

	// The cap releases it, with reason timeout.
	clk.advance(10 * time.Second)
	if ev := b.take(); len(ev) != 1 || ev[0].Kind != FloorReleased || ev[0].Reason != ReasonTimedOut {
		t.Fatalf("timeout events %+v", ev)
	}
	// b takes it, then disconnects: released with reason left, before MemberLeft.
	if f, _ := r.RequestFloor(id, sb.Self.ID); f.Holder != sb.Self.ID {
		t.Fatal("free floor not granted")
	}
	a.take()
	if err := r.LeaveFrom(id, sb.Self.ID, b); err != nil {
		t.Fatal(err)
	}
	ev := a.take()
	if len(ev) != 2 || ev[0].Kind != FloorReleased || ev[0].Reason != ReasonLeft || ev[1].Kind != MemberLeft {
		t.Fatalf("holder leaving: %+v", ev)
	}
	// The stale timer of b's grant must not release a's new grant.
	if _, err := r.RequestFloor(id, sa.Self.ID); err != nil {
		t.Fatal(err)
	}
	clk.advance(5 * time.Second)
	if f, _ := r.RequestFloor(id, sa.Self.ID); f.Holder != sa.Self.ID {
		t.Fatal("floor lost early")
	}
	if err := r.ReleaseFloor(id, sa.Self.ID); err != nil {
		t.Fatal(err)
	}
	if ev := c.take(); ev[len(ev)-1].Kind != FloorReleased || ev[len(ev)-1].Reason != ReasonReleased {
		t.Fatalf("release events %+v", ev)
	}
}

func TestRelay(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	id := ID{4}
	a, b, c := &recorder{}, &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", b)
	r.JoinFrom(id, token(1), RoleTalk, "", "", c)
	a.take()
	b.take()
	if err := r.RelayIf(id, sa.Self.ID, uuid.Nil, []byte("all"), nil); err != nil {
		t.Fatal(err)
	}
	if err := r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("one"), nil); err != nil {
		t.Fatal(err)
	}
	if len(a.take()) != 0 {
		t.Fatal("sender received its own broadcast")
	}
	if ev := b.take(); len(ev) != 2 || string(ev[0].Data) != "all" || string(ev[1].Data) != "one" || ev[1].Member != sa.Self {
		t.Fatalf("b got %+v", ev)
	}
	if ev := c.take(); len(ev) != 1 || string(ev[0].Data) != "all" {
		t.Fatalf("c got %+v", ev)
	}
	if err := r.RelayIf(id, sa.Self.ID, uuid.New(), nil, nil); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("relay to a stranger: %v", err)
	}
	if err := r.RelayIf(id, sa.Self.ID, sa.Self.ID, nil, nil); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("relay to self: %v", err)
	}

	// The sender's budget is asked with the number of recipients; a no
	// delivers nothing.
	var asked []int
	refuse := func(n int) bool { asked = append(asked, n); return false }
	if err := r.RelayIf(id, sa.Self.ID, uuid.Nil, []byte("all"), refuse); !errors.Is(err, ErrRelayRefused) {
		t.Fatalf("refused broadcast: %v", err)
	}
	if err := r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("one"), refuse); !errors.Is(err, ErrRelayRefused) {
		t.Fatalf("refused relay to one: %v", err)
	}
	if len(asked) != 2 || asked[0] != 2 || asked[1] != 1 {
		t.Fatalf("the budget was asked for %v recipients, want [2 1]", asked)
	}
	if ev := append(b.take(), c.take()...); len(ev) != 0 {
		t.Fatalf("a refused relay delivered %+v", ev)
	}
	allow := func(int) bool { return true }
	if err := r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("ok"), allow); err != nil {
		t.Fatal(err)
	}
	if ev := b.take(); len(ev) != 1 || string(ev[0].Data) != "ok" {
		t.Fatalf("an allowed relay delivered %+v", ev)
	}
}

func TestCaps(t *testing.T) {
	r, _ := newTestRegistry(Config{MaxRooms: 2, MaxMembersPerRoom: 2})
	s := &recorder{}
	for i := byte(0); i < 2; i++ {
		if _, err := r.CreateFrom(ID{i}, VerifierOf(token(1)), RoleTalk, "", "", s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.CreateFrom(ID{9}, VerifierOf(token(1)), RoleTalk, "", "", s); !errors.Is(err, ErrTooManyRooms) {
		t.Fatalf("third room: %v", err)
	}
	if _, err := r.JoinFrom(ID{0}, token(1), RoleTalk, "", "", s); err != nil {
		t.Fatal(err)
	}
	if _, err := r.JoinFrom(ID{0}, token(1), RoleTalk, "", "", s); !errors.Is(err, ErrRoomFull) {
		t.Fatalf("third member: %v", err)
	}
	if _, err := r.JoinFrom(ID{0}, token(1), Role(9), "", "", s); !errors.Is(err, ErrBadRole) {
		t.Fatalf("bad role: %v", err)
	}
	if _, err := r.CreateFrom(ID{8}, VerifierOf(token(1)), RoleTalk, "", "", nil); !errors.Is(err, ErrNoSink) {
		t.Fatalf("nil sink: %v", err)
	}
}

func TestNameplatesGrowWithRooms(t *testing.T) {
	r, _ := newTestRegistry(Config{MaxRooms: 500})
	seen := map[string]bool{}
	for i := 0; i < 500; i++ {
		s, err := r.CreateFrom(ID{byte(i), byte(i >> 8)}, VerifierOf(token(1)), RoleTalk, "", "", &recorder{})
		if err != nil {
			t.Fatal(err)
		}
		if seen[s.Nameplate] {
			t.Fatalf("nameplate %q handed out twice", s.Nameplate)
		}
		seen[s.Nameplate] = true
		for _, ch := range s.Nameplate {
			if ch < '0' || ch > '9' {
				t.Fatalf("nameplate %q is not all digits", s.Nameplate)
			}
		}
		// Live rooms never fill more than 1/NameplateSparsity of the space.
		space := pow10(len(s.Nameplate))
		if int64(i+1)*NameplateSparsity > space {
			t.Fatalf("%d rooms in a space of %d", i+1, space)
		}
	}
}

// model is the property test's own, deliberately naive, picture of the registry.
type model struct {
	rooms map[ID]*modelRoom
}

type modelRoom struct {
	token   []byte
	members []Member
	holder  uuid.UUID
	// waiter: the first refused during this turn; turn: whom the free
	// floor is kept for until turnUntil (FloorTurnReserve).
	waiter    uuid.UUID
	turn      uuid.UUID
	turnUntil time.Time
}

// release is the model's floor coming free at now.
func (mr *modelRoom) release(now time.Time) {
	mr.holder = uuid.Nil
	if mr.waiter != uuid.Nil && roleOf(mr, mr.waiter) == RoleTalk {
		mr.turn, mr.turnUntil = mr.waiter, now.Add(FloorTurnReserve)
	}
	mr.waiter = uuid.Nil
}

// TestRandomSequences drives the registry with thousands of random operations
// and checks, after every single step, that it agrees with a naive model and
// that its invariants hold.
func TestRandomSequences(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		runRandomSequence(t, seed, 1500)
	}
}

func runRandomSequence(t *testing.T, seed uint64, steps int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed*7919))
	const limit = 3 * time.Second
	r, clk := newTestRegistry(Config{MaxRooms: 6, MaxMembersPerRoom: 5, TalkTimeLimit: limit})
	m := model{rooms: map[ID]*modelRoom{}}
	ids := []ID{{1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}}
	sinks := map[uuid.UUID]*recorder{}

	pickMember := func(id ID) (uuid.UUID, bool) {
		mr := m.rooms[id]
		if mr == nil || len(mr.members) == 0 {
			return uuid.Nil, false
		}
		return mr.members[rng.IntN(len(mr.members))].ID, true
	}
	removeMember := func(id ID, mid uuid.UUID) {
		mr := m.rooms[id]
		for i, mem := range mr.members {
			if mem.ID == mid {
				mr.members = append(mr.members[:i], mr.members[i+1:]...)
				break
			}
		}
		if mr.waiter == mid {
			mr.waiter = uuid.Nil
		}
		if mr.turn == mid {
			mr.turn = uuid.Nil
		}
		if mr.holder == mid {
			mr.release(clk.Now())
		}
		if len(mr.members) == 0 {
			delete(m.rooms, id)
		}
	}

	for step := 0; step < steps; step++ {
		id := ids[rng.IntN(len(ids))]
		role := RoleTalk
		if rng.IntN(4) == 0 {
			role = RoleListen
		}
		op := rng.IntN(7)
		switch op {
		case 0: // create
			sink := &recorder{}
			tok := token(byte(rng.IntN(3)))
			s, err := r.CreateFrom(id, VerifierOf(tok), role, "", "", sink)
			switch {
			case m.rooms[id] != nil:
				mustBe(t, seed, step, err, ErrRoomExists)
			case len(m.rooms) >= 6:
				mustBe(t, seed, step, err, ErrTooManyRooms)
			default:
				mustBe(t, seed, step, err, nil)
				m.rooms[id] = &modelRoom{token: tok, members: []Member{s.Self}}
				sinks[s.Self.ID] = sink
			}
		case 1, 2: // join, sometimes with a wrong token
			sink := &recorder{}
			tok := token(byte(rng.IntN(3)))
			s, err := r.JoinFrom(id, tok, role, "", "", sink)
			mr := m.rooms[id]
			switch {
			case mr == nil:
				mustBe(t, seed, step, err, ErrNoSuchRoom)
			case !bytes.Equal(mr.token, tok):
				mustBe(t, seed, step, err, ErrBadAuth)
			case len(mr.members) >= 5:
				mustBe(t, seed, step, err, ErrRoomFull)
			default:
				mustBe(t, seed, step, err, nil)
				mr.members = append(mr.members, s.Self)
				sinks[s.Self.ID] = sink
				if s.Floor.Holder != mr.holder {
					t.Fatalf("seed %d step %d: snapshot floor %v, model %v", seed, step, s.Floor.Holder, mr.holder)
				}
			}
		case 3: // leave or disconnect (the same call)
			if mid, ok := pickMember(id); ok {
				mustBe(t, seed, step, r.LeaveFrom(id, mid, sinks[mid]), nil)
				removeMember(id, mid)
			} else {
				mustBe(t, seed, step, r.LeaveFrom(id, uuid.New(), &recorder{}), ErrNoSuchRoom)
			}
		case 4: // floor request
			if mid, ok := pickMember(id); ok {
				f, err := r.RequestFloor(id, mid)
				mr := m.rooms[id]
				if roleOf(mr, mid) == RoleListen {
					mustBe(t, seed, step, err, ErrListenOnly)
					break
				}
				mustBe(t, seed, step, err, nil)
				want := mr.holder
				switch {
				case mr.holder != uuid.Nil:
					if mr.holder != mid && mr.waiter == uuid.Nil {
						mr.waiter = mid
					}
				case mr.turn != uuid.Nil && mr.turn != mid && clk.Now().Before(mr.turnUntil):
					want = mr.turn // kept for the waiter: busy
				default:
					mr.holder, want = mid, mid
					mr.waiter, mr.turn = uuid.Nil, uuid.Nil
				}
				if f.Holder != want {
					t.Fatalf("seed %d step %d: floor went to %v, model says %v", seed, step, f.Holder, want)
				}
			}
		case 5: // floor release
			if mid, ok := pickMember(id); ok {
				err := r.ReleaseFloor(id, mid)
				mr := m.rooms[id]
				if mr.holder == mid {
					mustBe(t, seed, step, err, nil)
					mr.release(clk.Now())
				} else {
					mustBe(t, seed, step, err, ErrNotHolder)
				}
			}
		case 6: // time passes; the cap may release floors
			d := time.Duration(rng.IntN(2000)) * time.Millisecond
			before := holders(m)
			clk.advance(d)
			for rid, h := range before {
				// The registry is the source of truth for timers; mirror it.
				if rr := r.rooms[string(rid[:])]; rr != nil && rr.floor.Holder == uuid.Nil && h != uuid.Nil {
					m.rooms[rid].release(clk.Now())
				}
			}
		}
		checkInvariants(t, seed, step, r, m, limit, clk.Now())
	}
	// Everyone leaves: nothing may remain.
	for id, mr := range m.rooms {
		for _, mem := range append([]Member(nil), mr.members...) {
			mustBe(t, seed, -1, r.LeaveFrom(id, mem.ID, sinks[mem.ID]), nil)
		}
	}
	if len(r.rooms) != 0 || len(r.nameplates) != 0 || r.members != 0 {
		t.Fatalf("seed %d: after everyone left: %d rooms, %d nameplates, %d members", seed, len(r.rooms), len(r.nameplates), r.members)
	}
}

func holders(m model) map[ID]uuid.UUID {
	h := map[ID]uuid.UUID{}
	for id, mr := range m.rooms {
		h[id] = mr.holder
	}
	return h
}

func roleOf(mr *modelRoom, mid uuid.UUID) Role {
	for _, mem := range mr.members {
		if mem.ID == mid {
			return mem.Role
		}
	}
	return 0
}

func mustBe(t *testing.T, seed uint64, step int, got, want error) {
	t.Helper()
	if !errors.Is(got, want) || (want == nil && got != nil) {
		t.Fatalf("seed %d step %d: got error %v, want %v", seed, step, got, want)
	}
}

// checkInvariants compares the registry's maps with the model and checks the
// rules that must hold after every step.
func checkInvariants(t *testing.T, seed uint64, step int, r *Registry, m model, limit time.Duration, now time.Time) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("seed %d step %d: "+format, append([]any{seed, step}, args...)...)
	}
	if len(r.rooms) != len(m.rooms) {
		fail("%d rooms, model has %d", len(r.rooms), len(m.rooms))
	}
	if len(r.rooms) > r.cfg.MaxRooms {
		fail("room cap exceeded: %d", len(r.rooms))
	}
	if len(r.nameplates) != len(r.rooms) {
		fail("%d nameplates for %d rooms", len(r.nameplates), len(r.rooms))
	}
	total := 0
	for key, rm := range r.rooms {
		id := ID([]byte(key))
		mr := m.rooms[id]
		if mr == nil {
			fail("room %x survives in the registry only", id[:2])
		}
		if len(rm.members) == 0 {
			fail("an empty room survives")
		}
		if len(rm.members) > r.cfg.MaxMembersPerRoom {
			fail("member cap exceeded: %d", len(rm.members))
		}
		if rm.id != id || r.nameplates[rm.nameplate] != id {
			fail("nameplate index out of step")
		}
		if len(rm.order) != len(rm.members) {
			fail("order has %d, members %d", len(rm.order), len(rm.members))
		}
		for i, mem := range mr.members {
			if rm.order[i] != mem.ID || rm.members[mem.ID].Role != mem.Role {
				fail("member order or role differs from the model")
			}
		}
		if rm.floor.Holder != uuid.Nil {
			hm, ok := rm.members[rm.floor.Holder]
			if !ok {
				fail("floor held by a non-member")
			}
			if hm.Role != RoleTalk {
				fail("floor held by a listener")
			}
			if rm.floor.Deadline.After(now.Add(limit)) || !rm.floor.Deadline.After(now) {
				fail("floor deadline %v outside (now, now+limit]", rm.floor.Deadline.Sub(now))
			}
			if rm.floorTimer == nil {
				fail("a held floor has no timer")
			}
		}
		if rm.floor.Holder != mr.holder {
			fail("floor holder %v, model %v", rm.floor.Holder, mr.holder)
		}
		if rm.waiter != mr.waiter || rm.turn != mr.turn || (rm.turn != uuid.Nil && !rm.turnUntil.Equal(mr.turnUntil)) {
			fail("floor turn %v/%v until %v, model %v/%v until %v", rm.waiter, rm.turn, rm.turnUntil, mr.waiter, mr.turn, mr.turnUntil)
		}
		total += len(rm.members)
	}
	if total != r.members {
		fail("member count %d, sum over rooms %d", r.members, total)
	}
}

// TestConcurrentUse hammers one registry from many goroutines; run with -race.
func TestConcurrentUse(t *testing.T) {
	r := NewRegistry(Config{MaxRooms: 50, TalkTimeLimit: time.Millisecond})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; i < 300; i++ {
				id := ID{byte(rng.IntN(4))}
				sink := &recorder{}
				s, err := r.JoinFrom(id, token(1), RoleTalk, "", "", sink)
				if errors.Is(err, ErrNoSuchRoom) {
					s, err = r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", sink)
				}
				if err != nil {
					continue // a race lost to another goroutine's create: fine
				}
				r.RequestFloor(id, s.Self.ID)
				r.RelayIf(id, s.Self.ID, uuid.Nil, []byte("x"), nil)
				if rng.IntN(2) == 0 {
					r.ReleaseFloor(id, s.Self.ID)
				}
				if err := r.LeaveFrom(id, s.Self.ID, sink); err != nil {
					t.Errorf("leave: %v", err)
				}
			}
		}(g)
	}
	wg.Wait()
	time.Sleep(5 * time.Millisecond) // let stray talk-time timers fire into purged rooms
	if rooms, members := r.Counts(); rooms != 0 || members != 0 {
		t.Fatalf("after all left: %d rooms, %d members", rooms, members)
	}
	if len(r.nameplates) != 0 {
		t.Fatalf("nameplates remain: %d", len(r.nameplates))
	}
}

// TestOnFloorSeesEveryChange checks the media layer's view of the floor: every
// grant and every release, including a holder who is the last to leave.
func TestOnFloorSeesEveryChange(t *testing.T) {
	type change struct {
		id     ID
		holder uuid.UUID
	}
	var seen []change
	r, clk := newTestRegistry(Config{TalkTimeLimit: time.Second, OnFloor: func(id ID, h uuid.UUID) {
		seen = append(seen, change{id, h})
	}})
	id := ID{5}
	sinkA, sinkB := &recorder{}, &recorder{}
	a, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", sinkA)
	b, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", sinkB)
	r.RequestFloor(id, a.Self.ID)
	r.RequestFloor(id, b.Self.ID) // busy: no change
	r.ReleaseFloor(id, a.Self.ID)
	r.RequestFloor(id, b.Self.ID)
	clk.advance(time.Second) // timeout
	r.RequestFloor(id, a.Self.ID)
	r.LeaveFrom(id, a.Self.ID, sinkA) // holder leaves, b remains
	r.RequestFloor(id, b.Self.ID)
	r.LeaveFrom(id, b.Self.ID, sinkB) // last member, holding the floor
	want := []change{
		{id, a.Self.ID}, {id, uuid.Nil},
		{id, b.Self.ID}, {id, uuid.Nil},
		{id, a.Self.ID}, {id, uuid.Nil},
		{id, b.Self.ID}, {id, uuid.Nil},
	}
	if len(seen) != len(want) {
		t.Fatalf("saw %d changes, want %d: %v", len(seen), len(want), seen)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("change %d: %v, want %v", i, seen[i], want[i])
		}
	}
}
