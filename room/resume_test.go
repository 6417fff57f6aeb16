package room

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestDetachAndResume(t *testing.T) {
	r, clk := newTestRegistry(Config{ResumeGrace: 10 * time.Second})
	id := ID{6}
	a, b, b2 := &recorder{}, &recorder{}, &recorder{}
	sa, _ := r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", b)
	if len(sa.Resume) != ResumeTokenSize || len(sb.Resume) != ResumeTokenSize || bytes.Equal(sa.Resume, sb.Resume) {
		t.Fatalf("resume tokens: %x %x", sa.Resume, sb.Resume)
	}
	r.RequestFloor(id, sb.Self.ID)
	a.take()
	b.take()

	// b's connection drops: the floor comes free, b stays.
	if err := r.Detach(id, sb.Self.ID, a); !errors.Is(err, ErrNotMember) {
		t.Fatalf("detaching with another member's sink: %v", err)
	}
	if err := r.Detach(id, sb.Self.ID, b); err != nil {
		t.Fatal(err)
	}
	if err := r.Detach(id, sb.Self.ID, b); !errors.Is(err, ErrNotMember) {
		t.Fatalf("detaching twice: %v", err)
	}
	if ev := a.take(); len(ev) != 1 || ev[0].Kind != FloorReleased || ev[0].Reason != ReasonLeft {
		t.Fatalf("a saw %+v, want only the floor coming free", ev)
	}
	if _, members := r.Counts(); members != 2 {
		t.Fatalf("%d members while b is detached", members)
	}
	r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("x"), nil) // lost, not an error
	clk.Add(9 * time.Second)

	// A wrong token, a token of another room: refused.
	if _, err := r.Resume(id, bytes.Repeat([]byte{1}, ResumeTokenSize), b2); !errors.Is(err, ErrBadResume) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := r.Resume(ID{99}, sb.Resume, b2); !errors.Is(err, ErrNoSuchRoom) {
		t.Fatalf("another room: %v", err)
	}
	// b is back on a new connection: same id, new token, a greeted again.
	s2, err := r.Resume(id, sb.Resume, b2)
	if err != nil {
		t.Fatal(err)
	}
	if s2.Self != sb.Self || len(s2.Members) != 2 || bytes.Equal(s2.Resume, sb.Resume) || s2.Floor.Holder != [16]byte{} {
		t.Fatalf("resumed snapshot %+v", s2)
	}
	if ev := a.take(); len(ev) != 1 || ev[0].Kind != MemberBack || ev[0].Member != sb.Self {
		t.Fatalf("a saw %+v, want MemberBack", ev)
	}
	if ev := b.take(); len(ev) != 0 {
		t.Fatalf("the dead connection got %+v", ev)
	}
	// The spent token is refused (a replay); the grace that was running
	// does not take b out.
	if _, err := r.Resume(id, sb.Resume, &recorder{}); !errors.Is(err, ErrBadResume) {
		t.Fatalf("replayed token: %v", err)
	}
	clk.Add(time.Hour)
	if _, members := r.Counts(); members != 2 {
		t.Fatalf("the old grace took the resumed member out: %d members", members)
	}
	r.RelayIf(id, sa.Self.ID, sb.Self.ID, []byte("y"), nil)
	if ev := b2.take(); len(ev) != 1 || string(ev[0].Data) != "y" {
		t.Fatalf("the new connection got %+v", ev)
	}

	// Takeover: b, holding the floor, resumes again while its connection is
	// still attached (a half-open one): the old sink is told Replaced, the
	// floor comes free (the old connection's media goes), and the old
	// connection's leave is refused.
	if _, err := r.RequestFloor(id, sb.Self.ID); err != nil {
		t.Fatal(err)
	}
	a.take()
	b2.take()
	b3 := &recorder{}
	s3, err := r.Resume(id, s2.Resume, b3)
	if err != nil {
		t.Fatal(err)
	}
	// (The old connection, closing, may also be handed the floor's release.)
	if ev := b2.take(); len(ev) < 1 || ev[0].Kind != Replaced {
		t.Fatalf("the replaced connection got %+v", ev)
	}
	if ev := a.take(); len(ev) != 2 || ev[0].Kind != FloorReleased || ev[1].Kind != MemberBack {
		t.Fatalf("a saw %+v, want the floor to come free, then b back", ev)
	}
	if s3.Floor.Holder != [16]byte{} {
		t.Fatalf("the takeover snapshot still has b holding the floor")
	}
	if err := r.LeaveFrom(id, sb.Self.ID, b2); !errors.Is(err, ErrNotMember) {
		t.Fatalf("the replaced connection's leave: %v", err)
	}
	if err := r.Detach(id, sb.Self.ID, b2); !errors.Is(err, ErrNotMember) {
		t.Fatalf("the replaced connection's detach: %v", err)
	}
	a.take()

	// b drops for good: after the grace, b leaves as if it had said so.
	if err := r.Detach(id, sb.Self.ID, b3); err != nil {
		t.Fatal(err)
	}
	clk.Add(10 * time.Second)
	if ev := a.take(); len(ev) != 1 || ev[0].Kind != MemberLeft || ev[0].Member != sb.Self {
		t.Fatalf("a saw %+v, want b to leave", ev)
	}
	if _, err := r.Resume(id, s3.Resume, &recorder{}); !errors.Is(err, ErrBadResume) {
		t.Fatalf("resume after the grace: %v", err)
	}
	// The last member detaching and never coming back: the room is purged.
	if err := r.Detach(id, sa.Self.ID, a); err != nil {
		t.Fatal(err)
	}
	clk.Add(10 * time.Second)
	if rooms, members := r.Counts(); rooms != 0 || members != 0 {
		t.Fatalf("after the last grace: %d rooms, %d members", rooms, members)
	}
}

func TestNoGraceDetachLeaves(t *testing.T) {
	r, _ := newTestRegistry(Config{ResumeGrace: -1})
	id := ID{6}
	a, b := &recorder{}, &recorder{}
	r.CreateFrom(id, VerifierOf(token(1)), RoleTalk, "", "", a)
	sb, _ := r.JoinFrom(id, token(1), RoleTalk, "", "", b)
	a.take()
	if err := r.Detach(id, sb.Self.ID, b); err != nil {
		t.Fatal(err)
	}
	if ev := a.take(); len(ev) != 1 || ev[0].Kind != MemberLeft {
		t.Fatalf("without a grace, a saw %+v", ev)
	}
}
