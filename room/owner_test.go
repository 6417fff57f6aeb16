package room

import (
	"errors"
	"testing"
	"time"
)

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
	clk.advance(10 * time.Second)
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
