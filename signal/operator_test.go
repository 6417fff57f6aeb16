package signal

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"sotto/room"
)

// fakeAdmit accepts tokens spelled "ok:<user>:<role>:<room>" for that room
// and answers the rest with the error their name says. It records undos.
type fakeAdmit struct {
	mu    sync.Mutex
	undos int
}

func (f *fakeAdmit) admit(token string, id room.ID) (Admission, error) {
	switch token {
	case "x-missing":
		return Admission{}, ErrTokenMissing
	case "x-forged":
		return Admission{}, fmt.Errorf("bad mac: %w", ErrTokenInvalid)
	case "x-expired":
		return Admission{}, ErrTokenExpired
	case "x-replayed":
		return Admission{}, ErrTokenReplayed
	case "x-busy":
		return Admission{}, ErrTokenBusy
	case "x-broken":
		return Admission{}, fmt.Errorf("something else")
	}
	parts := strings.Split(token, ":")
	if len(parts) != 4 || parts[0] != "ok" || parts[3] != b64.EncodeToString(id[:]) {
		return Admission{}, ErrTokenInvalid
	}
	role, ok := room.ParseRole(parts[2])
	if !ok {
		return Admission{}, ErrTokenInvalid
	}
	return Admission{User: parts[1], Role: role, Undo: func() {
		f.mu.Lock()
		f.undos++
		f.mu.Unlock()
	}}, nil
}

func (f *fakeAdmit) undone() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.undos
}

func tok(user, role string, s secrets) string { return "ok:" + user + ":" + role + ":" + s.room }

func TestOperatorTokenErrors(t *testing.T) {
	fa := &fakeAdmit{}
	ts := startServer(t, Config{Admit: fa.admit}, room.Config{})
	c := ts.dial(t)
	s := newSecrets()

	// No token at all, on create and on join.
	c.send(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier})
	c.expectError(codeTokenMissing, 1)
	c.send(map[string]any{"type": "join", "id": 2, "room": s.room, "auth": s.auth})
	c.expectError(codeTokenMissing, 2)
	for i, tc := range []struct{ token, code string }{
		{"x-missing", codeTokenMissing},
		{"x-forged", codeTokenInvalid},
		{"x-expired", codeTokenExpired},
		{"x-replayed", codeTokenReplayed},
		{"x-busy", codeTryLater},
		{"x-broken", codeInternal},
		{tok("u", "talk", newSecrets()), codeTokenInvalid}, // another room's token
	} {
		id := uint32(10 + i)
		c.send(map[string]any{"type": "create", "id": id, "room": s.room, "verifier": s.verifier, "token": tc.token})
		m := c.expectError(tc.code, id)
		if strings.Contains(m.Message, tc.token) {
			t.Fatalf("error message %q echoes the token", m.Message)
		}
	}
	// Not a token the server would even pass on.
	for i, bad := range []any{"", strings.Repeat("a", MaxTokenBytes+1), "with space", "tab\t", "é", 7, nil} {
		id := uint32(30 + i)
		c.send(map[string]any{"type": "join", "id": id, "room": s.room, "auth": s.auth, "token": bad})
		c.expectError(codeBadMessage, id)
	}
	if got := ts.metric(t, "sotto_rooms"); got != "0" {
		t.Fatalf("a refused token made a room: sotto_rooms %s", got)
	}
	c.ping(99)
}

func TestOpenModeRefusesTokens(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	c := ts.dial(t)
	s := newSecrets()
	c.send(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier, "token": tok("u", "talk", s)})
	c.expectError(codeBadMessage, 1)
	c.create(s, 2)
}

func TestOperatorRoles(t *testing.T) {
	fa := &fakeAdmit{}
	ts := startServer(t, Config{Admit: fa.admit}, room.Config{})
	s := newSecrets()
	a := ts.dial(t)

	// A join that finds no room gives its token back for the create.
	a.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "token": tok("alice", "talk", s)})
	a.expectError(codeNoSuchRoom, 1)
	if fa.undone() != 1 {
		t.Fatalf("a failed join did not return its token (undos %d)", fa.undone())
	}
	a.send(map[string]any{"type": "create", "id": 2, "room": s.room, "verifier": s.verifier, "token": tok("alice", "talk", s)})
	if m := a.expect(typeJoined); m.Members[0].Role != "talk" {
		t.Fatalf("creator's role %q", m.Members[0].Role)
	}

	// A listen token: listen-only, whatever the client asks for.
	b := ts.dial(t)
	b.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "role": "talk", "token": tok("bob", "listen", s)})
	b.expectError(codeRoleNotAllowed, 1)
	b.send(map[string]any{"type": "join", "id": 2, "room": s.room, "auth": s.auth, "token": tok("bob", "listen", s)})
	if m := b.expect(typeJoined); m.Members[1].Role != "listen" {
		t.Fatalf("listen token joined as %q", m.Members[1].Role)
	}
	a.expect(typeMemberJoined)
	b.send(map[string]any{"type": "floor_request", "id": 3})
	b.expectError(codeListenOnly, 3)

	// A talk token may ask for less.
	c := ts.dial(t)
	c.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "role": "listen", "token": tok("carol", "talk", s)})
	if m := c.expect(typeJoined); m.Members[2].Role != "listen" {
		t.Fatalf("talk token asking for listen joined as %q", m.Members[2].Role)
	}
}

// The operator removes a member: it reads "removed" and is closed with 4003,
// the others see it leave, and its user cannot come back until the room
// empties. Then the operator makes a talker listen-only mid-talk.
func TestOperatorRemoveAndRole(t *testing.T) {
	fa := &fakeAdmit{}
	ts := startServer(t, Config{Admit: fa.admit}, room.Config{})
	s := newSecrets()
	var rid room.ID
	b64.Decode(rid[:], []byte(s.room))

	a := ts.dial(t)
	a.send(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier, "token": tok("alice", "talk", s)})
	a.expect(typeJoined)
	b := ts.dial(t)
	b.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "token": tok("bob", "talk", s)})
	bj := b.expect(typeJoined)
	a.expect(typeMemberJoined)
	b.send(map[string]any{"type": "floor_request", "id": 2})
	b.expect(typeFloorGranted)
	a.expect(typeFloorGranted)

	if removed, err := ts.reg.RemoveUserMembers(rid, "bob"); err != nil || len(removed) != 1 {
		t.Fatalf("RemoveUserMembers = %v, %v", removed, err)
	}
	if m := b.expect(typeRemoved); m.Reason != "operator" {
		t.Fatalf("removed reason %q", m.Reason)
	}
	b.expectClose(CloseRemoved)
	if m := a.expect(typeFloorReleased); m.Reason != "left" || m.memberID() != bj.Self {
		t.Fatalf("floor_released %+v", m)
	}
	if m := a.expect(typeMemberLeft); m.memberID() != bj.Self {
		t.Fatalf("member_left %+v", m)
	}
	ts.waitMetric(t, "sotto_members", "1")

	// Back with a fresh token, the right auth, on a new connection: refused.
	b2 := ts.dial(t)
	b2.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "token": tok("bob", "talk", s)})
	b2.expectError(codeRemoved, 1)
	if fa.undone() != 1 {
		t.Fatalf("undos %d, want 1 (the refused join)", fa.undone())
	}

	// Carol talks; the operator makes her listen-only.
	c := ts.dial(t)
	c.send(map[string]any{"type": "join", "id": 1, "room": s.room, "auth": s.auth, "token": tok("carol", "talk", s)})
	cj := c.expect(typeJoined)
	a.expect(typeMemberJoined)
	c.send(map[string]any{"type": "floor_request", "id": 2})
	c.expect(typeFloorGranted)
	a.expect(typeFloorGranted)
	if _, err := ts.reg.SetUserRole(rid, "carol", room.RoleListen); err != nil {
		t.Fatal(err)
	}
	for _, cl := range []*client{a, c} {
		if m := cl.expect(typeFloorReleased); m.Reason != "role" || m.memberID() != cj.Self {
			t.Fatalf("floor_released %+v", m)
		}
		m := cl.expect(typeMemberRole)
		var wm wireMember
		if err := json.Unmarshal(m.Member, &wm); err != nil || wm.ID != cj.Self || wm.Role != "listen" {
			t.Fatalf("member_role %s", m.Member)
		}
	}
	c.send(map[string]any{"type": "floor_request", "id": 3})
	c.expectError(codeListenOnly, 3)

	// Everyone leaves: the room is gone, and with it bob's ban.
	a.send(map[string]any{"type": "leave", "id": 9})
	a.expect(typeLeft)
	c.expect(typeMemberLeft)
	c.send(map[string]any{"type": "leave", "id": 9})
	c.expect(typeLeft)
	ts.waitMetric(t, "sotto_rooms", "0")
	b2.send(map[string]any{"type": "create", "id": 2, "room": s.room, "verifier": s.verifier, "token": tok("bob", "talk", s)})
	b2.expect(typeJoined)
}
