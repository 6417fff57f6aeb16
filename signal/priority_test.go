package signal

import (
	"encoding/json"
	"testing"

	"sotto/room"
)

// Talk priority on the wire (issue 17): a priority token's member joins as
// "priority"; its floor_request while a talker holds the floor ends the
// talker's turn for everyone (floor_released, reason preempted, by the
// priority member) and grants it the floor (its own copy carrying the
// request's id); the interrupted talker's floor_release then finds nothing
// to release. A talk token cannot ask for priority, nor can anyone in an
// open room.
func TestPriorityOnTheWire(t *testing.T) {
	fa := &fakeAdmit{}
	ts := startServer(t, Config{Admit: fa.admit}, room.Config{})
	s := newSecrets()

	a := ts.dial(t)
	a.send(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier, "token": tok("alice", "talk", s)})
	aj := a.expect(typeJoined)

	// A talk token asks for more than it grants: refused, token given back.
	p := ts.dial(t)
	p.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "role": "priority", "token": tok("pat", "talk", s)})
	p.expectError(codeRoleNotAllowed, 1)
	if fa.undone() != 1 {
		t.Fatalf("undos %d, want 1 (the refused join)", fa.undone())
	}
	// A priority token may ask for priority (or leave role out).
	p.send(map[string]any{"type": "join", "id": 2, "room": s.room, "auth": s.auth, "role": "priority", "token": tok("pat", "priority", s)})
	pj := p.expect(typeJoined)
	if pj.Members[1].Role != "priority" {
		t.Fatalf("Pat joined as %q", pj.Members[1].Role)
	}
	var wm wireMember
	if m := a.expect(typeMemberJoined); json.Unmarshal(m.Member, &wm) != nil || wm.Role != "priority" {
		t.Fatalf("Alice saw Pat join as %s", m.Member)
	}
	// A priority token may ask for less.
	q := ts.dial(t)
	q.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "role": "talk", "token": tok("quinn", "priority", s)})
	if m := q.expect(typeJoined); m.Members[2].Role != "talk" {
		t.Fatalf("a priority token asking for talk joined as %q", m.Members[2].Role)
	}
	a.expect(typeMemberJoined)
	p.expect(typeMemberJoined)

	a.send(map[string]any{"type": "floor_request", "id": 2})
	for _, c := range []*client{a, p, q} {
		c.expect(typeFloorGranted)
	}
	p.send(map[string]any{"type": "floor_request", "id": 3})
	for name, c := range map[string]*client{"alice": a, "pat": p, "quinn": q} {
		m := c.expect(typeFloorReleased)
		if m.memberID() != aj.Self || m.Reason != "preempted" || m.By != pj.Self || m.ID != 0 {
			t.Fatalf("%s: %+v, want Alice's turn ended, preempted by Pat, with no request id", name, m)
		}
		g := c.expect(typeFloorGranted)
		if g.memberID() != pj.Self {
			t.Fatalf("%s: granted to %s, want Pat", name, g.memberID())
		}
		if want := map[string]uint32{"pat": 3}[name]; g.ID != want {
			t.Fatalf("%s: the grant carries id %d, want %d", name, g.ID, want)
		}
	}
	a.send(map[string]any{"type": "floor_release", "id": 4})
	a.expectError(codeNotHolder, 4)
	// Alice asks back during Pat's turn: busy, Pat holds it.
	a.send(map[string]any{"type": "floor_request", "id": 5})
	if m := a.expect(typeFloorBusy); m.Holder != pj.Self || m.ID != 5 {
		t.Fatalf("Alice asking during Pat's turn: %+v", m)
	}
	// Other reasons carry no "by".
	p.send(map[string]any{"type": "floor_release", "id": 6})
	for _, c := range []*client{a, p, q} {
		if m := c.expect(typeFloorReleased); m.Reason != "released" || m.By != "" {
			t.Fatalf("Pat's release: %+v", m)
		}
	}
}

// In an open room nobody can claim priority: there is no token to grant it.
func TestOpenModeRefusesPriority(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	s := newSecrets()
	c := ts.dial(t)
	c.send(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier, "role": "priority"})
	c.expectError(codeRoleNotAllowed, 1)
	c.create(s, 2)
	d := ts.dial(t)
	d.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "role": "priority"})
	d.expectError(codeRoleNotAllowed, 1)
	if m := d.join(s, 2); m.Members[1].Role != "talk" {
		t.Fatalf("joined as %q", m.Members[1].Role)
	}
}
