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

// An owner (the signaling layer's client address) is a member of at most
// MaxRoomsPerOwner rooms, connected or detached, until its member there is
// gone (issue 12 #4: create, drop the connection, repeat, and the detached
// members held every room slot).
func TestRoomsPerOwner(t *testing.T) {
	r, clk := newTestRegistry(Config{MaxRoomsPerOwner: 3, ResumeGrace: 10 * time.Second})
	for i := range 3 {
		sink := &recorder{}
		s, err := r.CreateFrom(ID{byte(i + 1)}, VerifierOf(token(1)), RoleTalk, "", "a", sink)
		if err != nil {
			t.Fatal(err)
		}
		// Its connection drops: the member waits, detached, and still counts.
		if err := r.Detach(ID{byte(i + 1)}, s.Self.ID, sink); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.CreateFrom(ID{9}, VerifierOf(token(1)), RoleTalk, "", "a", &recorder{}); !errors.Is(err, ErrOwnerRooms) {
		t.Fatalf("fourth room: %v, want ErrOwnerRooms", err)
	}
	// Another owner creates; "a" may not join its room either (joins count:
	// otherwise two owners could pass rooms between them)...
	if _, err := r.CreateFrom(ID{10}, VerifierOf(token(2)), RoleTalk, "", "b", &recorder{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.JoinFrom(ID{10}, token(2), RoleTalk, "", "a", &recorder{}); !errors.Is(err, ErrOwnerRooms) {
		t.Fatalf("joining a fourth room: %v, want ErrOwnerRooms", err)
	}
	// ...but a second member in a room it is in already is no new room.
	if _, err := r.JoinFrom(ID{1}, token(1), RoleTalk, "", "a", &recorder{}); err != nil {
		t.Fatal(err)
	}
	// No owner: not counted.
	if _, err := r.CreateFrom(ID{11}, VerifierOf(token(1)), RoleTalk, "", "", &recorder{}); err != nil {
		t.Fatal(err)
	}
	// The grace runs out: rooms 2 and 3 are gone (room 1 has its second
	// member), and "a" may have two more.
	clk.Add(10 * time.Second)
	sink20 := &recorder{}
	s20, err := r.CreateFrom(ID{20}, VerifierOf(token(1)), RoleTalk, "", "a", sink20)
	if err != nil {
		t.Fatalf("a room after the grace: %v", err)
	}
	if _, err := r.CreateFrom(ID{21}, VerifierOf(token(1)), RoleTalk, "", "a", &recorder{}); err != nil {
		t.Fatalf("a second room after the grace: %v", err)
	}
	if _, err := r.CreateFrom(ID{22}, VerifierOf(token(1)), RoleTalk, "", "a", &recorder{}); !errors.Is(err, ErrOwnerRooms) {
		t.Fatalf("one more: %v, want ErrOwnerRooms", err)
	}
	// Leaving frees a room; so does the room being left by everyone.
	if err := r.LeaveFrom(ID{20}, s20.Self.ID, sink20); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CreateFrom(ID{22}, VerifierOf(token(1)), RoleTalk, "", "a", &recorder{}); err != nil {
		t.Fatalf("after a leave: %v", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if got := r.ownerRooms["a"]; got != 3 {
		t.Fatalf("ownerRooms[a] = %d, want 3", got)
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
			clk.Add(d)
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
