package room

import (
	"errors"
	"testing"
)

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
