package room

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"
)

// priorityRoom is a room with Alice and Bob (talk), Pat and Quinn
// (priority, from operator tokens: they have user ids) and Lee (listen),
// each with its own recorder, and every change of holder the media layer
// was told.
type priorityRoom struct {
	r               *Registry
	id              ID
	alice, bob      uuid.UUID
	pat, quinn, lee uuid.UUID
	recs            map[uuid.UUID]*recorder
	onFloor         []uuid.UUID
}

func newPriorityRoom(t *testing.T, limit time.Duration) (*priorityRoom, func(time.Duration)) {
	t.Helper()
	pr := &priorityRoom{id: ID{17}, recs: map[uuid.UUID]*recorder{}}
	r, clk := newTestRegistry(Config{TalkTimeLimit: limit, OnFloor: func(_ ID, h uuid.UUID) { pr.onFloor = append(pr.onFloor, h) }})
	pr.r = r
	join := func(create bool, role Role, user string) uuid.UUID {
		rec := &recorder{}
		var s Snapshot
		var err error
		if create {
			s, err = r.CreateFrom(pr.id, VerifierOf(token(1)), role, user, "", rec)
		} else {
			s, err = r.JoinFrom(pr.id, token(1), role, user, "", rec)
		}
		if err != nil {
			t.Fatalf("%s joining as %v: %v", user, role, err)
		}
		pr.recs[s.Self.ID] = rec
		return s.Self.ID
	}
	pr.alice = join(true, RoleTalk, "alice")
	pr.bob = join(false, RoleTalk, "bob")
	pr.pat = join(false, RolePriority, "pat")
	pr.quinn = join(false, RolePriority, "quinn")
	pr.lee = join(false, RoleListen, "lee")
	pr.take()
	return pr, clk.Add
}

// take empties every recorder and returns what Lee (a listener, who sees
// every broadcast) saw.
func (pr *priorityRoom) take() []Event {
	var lee []Event
	for id, rec := range pr.recs {
		ev := rec.take()
		if id == pr.lee {
			lee = ev
		}
	}
	return lee
}

func (pr *priorityRoom) request(t *testing.T, mid uuid.UUID) uuid.UUID {
	t.Helper()
	f, err := pr.r.RequestFloor(pr.id, mid)
	if err != nil {
		t.Fatal(err)
	}
	return f.Holder
}

// A priority member's request takes the floor from a talker: everyone hears
// the talker's turn end (preempted, by the priority member) and then the
// grant, and the media layer switches straight from one to the other.
func TestPriorityTakesTheFloor(t *testing.T) {
	pr, _ := newPriorityRoom(t, time.Minute)
	if h := pr.request(t, pr.alice); h != pr.alice {
		t.Fatalf("Alice asked a free floor, holder %v", h)
	}
	pr.take()
	pr.onFloor = nil
	if h := pr.request(t, pr.pat); h != pr.pat {
		t.Fatalf("Pat (priority) asked while Alice talked: holder %v, want Pat", h)
	}
	for id, rec := range pr.recs {
		ev := rec.take()
		if len(ev) != 2 || ev[0].Kind != FloorReleased || ev[0].Member.ID != pr.alice || ev[0].Reason != ReasonPreempted ||
			ev[0].By != pr.pat || ev[1].Kind != FloorGranted || ev[1].Member.ID != pr.pat || ev[1].Member.Role != RolePriority {
			t.Fatalf("member %v saw %+v, want FloorReleased(Alice, preempted, by Pat) then FloorGranted(Pat)", id, ev)
		}
	}
	if len(pr.onFloor) != 1 || pr.onFloor[0] != pr.pat {
		t.Fatalf("the media layer was told %v, want only [Pat]: no gap in which nobody holds it", pr.onFloor)
	}
	if ReasonPreempted.String() != "preempted" {
		t.Fatalf("the wire name is %q", ReasonPreempted.String())
	}
	// Alice cannot release what she no longer holds.
	if err := pr.r.ReleaseFloor(pr.id, pr.alice); !errors.Is(err, ErrNotHolder) {
		t.Fatalf("Alice released Pat's floor: %v", err)
	}
}

// Priority members among themselves are first come, first served, and a
// talker never takes the floor from a priority member.
func TestPriorityDoesNotPreemptPriority(t *testing.T) {
	pr, _ := newPriorityRoom(t, time.Minute)
	pr.request(t, pr.pat)
	pr.take()
	if h := pr.request(t, pr.quinn); h != pr.pat {
		t.Fatalf("Quinn (priority) took the floor from Pat (priority): holder %v", h)
	}
	if h := pr.request(t, pr.alice); h != pr.pat {
		t.Fatalf("Alice took the floor from Pat: holder %v", h)
	}
	if ev := pr.take(); len(ev) != 0 {
		t.Fatalf("busy requests made events: %+v", ev)
	}
	// Quinn was refused first: the floor is kept for Quinn, even from
	// Alice, who is not priority.
	if err := pr.r.ReleaseFloor(pr.id, pr.pat); err != nil {
		t.Fatal(err)
	}
	if h := pr.request(t, pr.alice); h != pr.quinn {
		t.Fatalf("after Pat, Alice asked: holder %v, want the turn kept for Quinn", h)
	}
	if h := pr.request(t, pr.quinn); h != pr.quinn {
		t.Fatalf("Quinn asked for the turn kept for Quinn: holder %v", h)
	}
}

// The turn reserve (FloorTurnReserve) keeps the floor for a waiting talker,
// but not from a priority member; the waiter keeps its place for the turn
// after.
func TestPriorityPassesAKeptTurn(t *testing.T) {
	pr, advance := newPriorityRoom(t, time.Minute)
	pr.request(t, pr.alice)
	pr.request(t, pr.bob) // refused: the next turn is kept for Bob
	if err := pr.r.ReleaseFloor(pr.id, pr.alice); err != nil {
		t.Fatal(err)
	}
	if h := pr.request(t, pr.alice); h != pr.bob {
		t.Fatalf("Alice asked in Bob's kept turn: holder %v", h)
	}
	if h := pr.request(t, pr.pat); h != pr.pat {
		t.Fatalf("Pat (priority) asked in Bob's kept turn: holder %v, want Pat", h)
	}
	// Bob waits for the turn after Pat's, as he waited for this one.
	if err := pr.r.ReleaseFloor(pr.id, pr.pat); err != nil {
		t.Fatal(err)
	}
	if h := pr.request(t, pr.alice); h != pr.bob {
		t.Fatalf("after Pat, Alice asked: holder %v, want the turn kept for Bob", h)
	}
	advance(FloorTurnReserve)
	if h := pr.request(t, pr.alice); h != pr.alice {
		t.Fatalf("after Bob's kept turn ran out, Alice asked: holder %v", h)
	}
}

// The interrupted talker waits for the turn after the priority member's,
// unless someone was already waiting: that member asked first.
func TestPreemptedTalkerWaits(t *testing.T) {
	t.Run("nobody waiting", func(t *testing.T) {
		pr, _ := newPriorityRoom(t, time.Minute)
		pr.request(t, pr.alice)
		pr.request(t, pr.pat)
		if h := pr.request(t, pr.bob); h != pr.pat {
			t.Fatalf("Bob asked during Pat's turn: holder %v", h)
		}
		pr.r.ReleaseFloor(pr.id, pr.pat)
		if h := pr.request(t, pr.bob); h != pr.alice {
			t.Fatalf("after Pat, Bob asked: holder %v, want the turn kept for Alice, whom Pat cut off", h)
		}
		if h := pr.request(t, pr.alice); h != pr.alice {
			t.Fatalf("Alice asked for her kept turn: holder %v", h)
		}
	})
	t.Run("someone waiting", func(t *testing.T) {
		pr, _ := newPriorityRoom(t, time.Minute)
		pr.request(t, pr.alice)
		pr.request(t, pr.bob) // refused while Alice talks: Bob is first in line
		pr.request(t, pr.pat)
		pr.r.ReleaseFloor(pr.id, pr.pat)
		if h := pr.request(t, pr.alice); h != pr.bob {
			t.Fatalf("after Pat, Alice asked: holder %v, want the turn kept for Bob", h)
		}
	})
}

// The priority member's turn has its own talk-time cap, and the cap of the
// turn it ended does not cut it short.
func TestPriorityTurnHasItsOwnCap(t *testing.T) {
	const limit = 10 * time.Second
	pr, advance := newPriorityRoom(t, limit)
	pr.request(t, pr.alice)
	advance(limit - time.Second)
	pr.request(t, pr.pat)
	pr.take()
	advance(2 * time.Second) // past Alice's cap
	if ev := pr.take(); len(ev) != 0 {
		t.Fatalf("Alice's old cap fired during Pat's turn: %+v", ev)
	}
	advance(limit)
	ev := pr.take()
	if len(ev) != 1 || ev[0].Kind != FloorReleased || ev[0].Member.ID != pr.pat || ev[0].Reason != ReasonTimedOut {
		t.Fatalf("Pat's cap: %+v", ev)
	}
}

// Only an operator token grants priority: a member with no operator user id
// (an open room) cannot join or create as priority, and the operator's role
// change can take priority away but never give it.
func TestPriorityOnlyFromAToken(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	if _, err := r.CreateFrom(ID{1}, VerifierOf(token(1)), RolePriority, "", "", &recorder{}); !errors.Is(err, ErrBadRole) {
		t.Fatalf("an open room's creator asked for priority: %v", err)
	}
	if _, err := r.CreateFrom(ID{1}, VerifierOf(token(1)), RoleTalk, "", "", &recorder{}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.JoinFrom(ID{1}, token(1), RolePriority, "", "", &recorder{}); !errors.Is(err, ErrBadRole) {
		t.Fatalf("an open room's member joined as priority: %v", err)
	}

	pr, _ := newPriorityRoom(t, time.Minute)
	if _, err := pr.r.SetUserRole(pr.id, "alice", RolePriority); !errors.Is(err, ErrBadRole) {
		t.Fatalf("the operator's role change made Alice priority: %v", err)
	}
	if n, err := pr.r.SetUserRole(pr.id, "pat", RoleTalk); err != nil || n != 1 {
		t.Fatalf("taking Pat's priority away: %d, %v", n, err)
	}
	ev := pr.take()
	if len(ev) != 1 || ev[0].Kind != RoleChanged || ev[0].Member.ID != pr.pat || ev[0].Member.Role != RoleTalk {
		t.Fatalf("the role change: %+v", ev)
	}
	pr.request(t, pr.alice)
	if h := pr.request(t, pr.pat); h != pr.alice {
		t.Fatalf("Pat, a talker again, took the floor from Alice: holder %v", h)
	}
}

// A priority member made listen-only while holding loses the floor like any
// holder (reason role), and its role names parse and print.
func TestPriorityRole(t *testing.T) {
	if r, ok := ParseRole("priority"); !ok || r != RolePriority || r.String() != "priority" {
		t.Fatalf("ParseRole(priority) = %v, %v", r, ok)
	}
	for r, may := range map[Role]bool{RoleTalk: true, RolePriority: true, RoleListen: false, Role(9): false} {
		if r.MayTalk() != may {
			t.Errorf("%v.MayTalk() = %v", r, !may)
		}
	}
	pr, _ := newPriorityRoom(t, time.Minute)
	pr.request(t, pr.pat)
	pr.take()
	if _, err := pr.r.SetUserRole(pr.id, "pat", RoleListen); err != nil {
		t.Fatal(err)
	}
	ev := pr.take()
	if len(ev) != 2 || ev[0].Kind != FloorReleased || ev[0].Reason != ReasonRoleChanged || ev[1].Kind != RoleChanged {
		t.Fatalf("Pat made listen-only while holding: %+v", ev)
	}
	if _, err := pr.r.RequestFloor(pr.id, pr.pat); !errors.Is(err, ErrListenOnly) {
		t.Fatalf("Pat, listen-only, asked: %v", err)
	}
}
