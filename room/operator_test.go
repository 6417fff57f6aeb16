package room

import (
	"errors"
	"testing"

	"github.com/google/uuid"
)

// The operator's removal: the removed member hears Removed and nothing more,
// the others see it leave (and the floor come free first, if it held it),
// and the user is refused until the room empties, then welcome again.
func TestRemoveUser(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	id := ID{3}
	a, b, b2, c := &recorder{}, &recorder{}, &recorder{}, &recorder{}
	sa, err := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "alice", "", a)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := r.JoinFrom(id, token(1), RoleTalk, "bob", "", b)
	if err != nil {
		t.Fatal(err)
	}
	// bob on a second device: one user, two members.
	sb2, err := r.JoinFrom(id, token(1), RoleListen, "bob", "", b2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RequestFloor(id, sb.Self.ID); err != nil {
		t.Fatal(err)
	}
	a.take()
	b.take()
	b2.take()

	removed, err := r.RemoveUserMembers(id, "bob")
	if err != nil || len(removed) != 2 || removed[0] != sb.Self.ID || removed[1] != sb2.Self.ID {
		t.Fatalf("RemoveUserMembers = %v, %v; want bob's two members, in join order", removed, err)
	}
	if ev := b.take(); len(ev) != 1 || ev[0].Kind != Removed || ev[0].Member.ID != sb.Self.ID {
		t.Fatalf("removed member was told %+v, want exactly one Removed", ev)
	}
	// The second device saw the first go (the floor first) before its own
	// removal; after Removed, nothing.
	if ev := b2.take(); len(ev) != 3 || ev[0].Kind != FloorReleased || ev[1].Kind != MemberLeft ||
		ev[1].Member.ID != sb.Self.ID || ev[2].Kind != Removed || ev[2].Member.ID != sb2.Self.ID {
		t.Fatalf("second device saw %+v, want FloorReleased, MemberLeft(first), Removed", ev)
	}
	ev := a.take()
	want := []EventKind{FloorReleased, MemberLeft, MemberLeft}
	if len(ev) != len(want) {
		t.Fatalf("remaining member saw %+v, want %v", ev, want)
	}
	for i, k := range want {
		if ev[i].Kind != k {
			t.Fatalf("remaining member's event %d is %v, want %v (all: %+v)", i, ev[i].Kind, k, ev)
		}
	}
	if ev[0].Reason != ReasonLeft || ev[1].Member.ID != sb.Self.ID || ev[2].Member.ID != sb2.Self.ID {
		t.Fatalf("remaining member saw the wrong details: %+v", ev)
	}
	if _, err := r.RequestFloor(id, sb.Self.ID); !errors.Is(err, ErrNotMember) {
		t.Fatalf("removed member asked for the floor: %v, want ErrNotMember", err)
	}
	if rooms, members := r.Counts(); rooms != 1 || members != 1 {
		t.Fatalf("counts after removal: %d rooms, %d members", rooms, members)
	}

	// Refused while the room lives, with the right token or not; others are not.
	if _, err := r.JoinFrom(id, token(1), RoleTalk, "bob", "", b); !errors.Is(err, ErrRemoved) {
		t.Fatalf("removed user rejoining: %v, want ErrRemoved", err)
	}
	if _, err := r.JoinFrom(id, token(2), RoleTalk, "bob", "", b); !errors.Is(err, ErrBadAuth) {
		t.Fatalf("removed user with a wrong auth token: %v, want ErrBadAuth (the auth check comes first)", err)
	}
	sc, err := r.JoinFrom(id, token(1), RoleTalk, "carol", "", c)
	if err != nil {
		t.Fatalf("another user: %v", err)
	}
	// A ban for someone not present holds too.
	if removed, err := r.RemoveUserMembers(id, "dave"); err != nil || len(removed) != 0 {
		t.Fatalf("removing an absent user = %v, %v; want none, nil", removed, err)
	}
	if _, err := r.JoinFrom(id, token(1), RoleTalk, "dave", "", &recorder{}); !errors.Is(err, ErrRemoved) {
		t.Fatalf("user removed in advance: %v, want ErrRemoved", err)
	}
	if _, err := r.RemoveUserMembers(ID{9}, "bob"); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("removal from no room: %v", err)
	}
	if _, err := r.RemoveUserMembers(id, ""); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("removal of the empty user: %v", err)
	}

	// The room empties: the ban goes with it.
	if err := r.LeaveFrom(id, sa.Self.ID, a); err != nil {
		t.Fatal(err)
	}
	if err := r.LeaveFrom(id, sc.Self.ID, c); err != nil {
		t.Fatal(err)
	}
	if rooms, _ := r.Counts(); rooms != 0 {
		t.Fatalf("%d rooms left", rooms)
	}
	if _, err := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "bob", "", b); err != nil {
		t.Fatalf("bob after the room emptied: %v", err)
	}
}

// Removing the last member purges the room, and the loop stops there.
func TestRemoveLastUserPurges(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	id := ID{4}
	a := &recorder{}
	sa, err := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "alice", "", a)
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := r.RemoveUserMembers(id, "alice"); err != nil || len(removed) != 1 || removed[0] != sa.Self.ID {
		t.Fatalf("RemoveUserMembers = %v, %v; want alice's member", removed, err)
	}
	if rooms, members := r.Counts(); rooms != 0 || members != 0 || len(r.nameplates) != 0 {
		t.Fatalf("after removing the only member: %d rooms, %d members", rooms, members)
	}
}

func TestSetUserRole(t *testing.T) {
	var roles []string
	cfg := Config{OnRole: func(_ ID, m uuid.UUID, role Role) { roles = append(roles, role.String()) }}
	r, _ := newTestRegistry(cfg)
	id := ID{5}
	a, b := &recorder{}, &recorder{}
	if _, err := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "alice", "", a); err != nil {
		t.Fatal(err)
	}
	sb, err := r.JoinFrom(id, token(1), RoleTalk, "bob", "", b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.RequestFloor(id, sb.Self.ID); err != nil {
		t.Fatal(err)
	}
	a.take()
	b.take()

	if n, err := r.SetUserRole(id, "bob", RoleListen); err != nil || n != 1 {
		t.Fatalf("SetUserRole = %d, %v", n, err)
	}
	for name, rec := range map[string]*recorder{"bob": b, "alice": a} {
		ev := rec.take()
		if len(ev) != 2 || ev[0].Kind != FloorReleased || ev[0].Reason != ReasonRoleChanged ||
			ev[1].Kind != RoleChanged || ev[1].Member.ID != sb.Self.ID || ev[1].Member.Role != RoleListen {
			t.Fatalf("%s saw %+v, want FloorReleased(role) then RoleChanged(listen)", name, ev)
		}
	}
	if _, err := r.RequestFloor(id, sb.Self.ID); !errors.Is(err, ErrListenOnly) {
		t.Fatalf("listen-only bob asked for the floor: %v", err)
	}
	// Setting the same role again changes nothing and tells nobody.
	if n, err := r.SetUserRole(id, "bob", RoleListen); err != nil || n != 1 {
		t.Fatalf("same role again = %d, %v", n, err)
	}
	if ev := a.take(); len(ev) != 0 {
		t.Fatalf("a no-op role change was broadcast: %+v", ev)
	}
	if n, err := r.SetUserRole(id, "bob", RoleTalk); err != nil || n != 1 {
		t.Fatalf("back to talk = %d, %v", n, err)
	}
	if f, err := r.RequestFloor(id, sb.Self.ID); err != nil || f.Holder != sb.Self.ID {
		t.Fatalf("bob, talker again, asked for the floor: %+v, %v", f, err)
	}
	if got := len(roles); got != 2 || roles[0] != "listen" || roles[1] != "talk" {
		t.Fatalf("OnRole saw %v, want [listen talk]", roles)
	}
	if _, err := r.SetUserRole(id, "nobody", RoleTalk); !errors.Is(err, ErrNoSuchMember) {
		t.Fatalf("unknown user: %v", err)
	}
	if _, err := r.SetUserRole(id, "bob", Role(9)); !errors.Is(err, ErrBadRole) {
		t.Fatalf("bad role: %v", err)
	}
	if _, err := r.SetUserRole(ID{8}, "bob", RoleTalk); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("no room: %v", err)
	}
}

func TestRoomsList(t *testing.T) {
	r, _ := newTestRegistry(Config{})
	if got := r.Rooms(); len(got) != 0 {
		t.Fatalf("empty registry lists %v", got)
	}
	r.CreateFrom(ID{1}, VerifierOf(token(1)), RoleTalk, "", "", &recorder{})
	r.JoinFrom(ID{1}, token(1), RoleListen, "", "", &recorder{})
	r.CreateFrom(ID{2}, VerifierOf(token(2)), RoleListen, "", "", &recorder{})
	got := map[ID]Info{}
	for _, info := range r.Rooms() {
		got[info.ID] = info
	}
	if len(got) != 2 || got[ID{1}] != (Info{ID{1}, 2, 1}) || got[ID{2}] != (Info{ID{2}, 1, 1}) {
		t.Fatalf("Rooms() = %+v", got)
	}
}
