package room

import (
	"slices"
	"testing"
	"time"
)

// OnGone hears of each room once, when it is purged and not before: not
// while a member is left, nor while a detached member may still resume; and
// it runs under the registry's lock, as WithRoom does, so the two agree on
// the order of events.
func TestOnGoneOncePerPurgedRoom(t *testing.T) {
	var gone []ID
	var r *Registry
	var lockHeld []bool
	r, clk := newTestRegistry(Config{ResumeGrace: 10 * time.Second, OnGone: func(id ID) {
		gone = append(gone, id)
		held := !r.mu.TryLock()
		if !held {
			r.mu.Unlock()
		}
		lockHeld = append(lockHeld, held)
	}})
	live := func(id ID) (l bool) {
		r.WithRoom(id, func(v bool) { l = v })
		return l
	}

	// The last member leaves.
	left, other := ID{1}, ID{2}
	a, b := &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(left, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(left, token(1), RoleTalk, "", "", b)
	r.CreateFrom(other, VerifierOf(token(2)), RoleTalk, "", "", &recorder{})
	if !live(left) || !live(other) || live(ID{3}) {
		t.Fatal("WithRoom: wrong liveness")
	}
	r.LeaveFrom(left, sa.Self.ID, b) // another member's sink: refused
	r.LeaveFrom(left, sb.Self.ID, b)
	if len(gone) != 0 {
		t.Fatalf("gone %v with a member left", gone)
	}
	r.LeaveFrom(left, sa.Self.ID, a)
	if !slices.Equal(gone, []ID{left}) || live(left) {
		t.Fatalf("after the last leave: gone %v, live %v", gone, live(left))
	}

	// The last member detaches: the room lives through the grace, and goes
	// when it runs out.
	gone = nil
	c := &recorder{}
	sc, _ := r.CreateFrom(ID{4}, VerifierOf(token(4)), RoleTalk, "", "", c)
	r.Detach(ID{4}, sc.Self.ID, c)
	clk.Add(9 * time.Second)
	if len(gone) != 0 || !live(ID{4}) {
		t.Fatalf("a detached member's room: gone %v, live %v", gone, live(ID{4}))
	}
	clk.Add(2 * time.Second)
	if !slices.Equal(gone, []ID{{4}}) || live(ID{4}) {
		t.Fatalf("after the grace: gone %v", gone)
	}

	// The operator removes the last user.
	gone = nil
	r.CreateFrom(ID{5}, VerifierOf(token(5)), RoleTalk, "carol", "", &recorder{})
	if _, err := r.RemoveUserMembers(ID{5}, "carol"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(gone, []ID{{5}}) {
		t.Fatalf("after the operator removed the last user: gone %v", gone)
	}
	if !live(other) {
		t.Fatal("another room went with them")
	}
	for i, held := range lockHeld {
		if !held {
			t.Errorf("OnGone call %d ran without the registry's lock", i)
		}
	}
}
