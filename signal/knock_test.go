package signal

import (
	"strings"
	"testing"
	"time"

	"sotto/room"
)

// The relay carries any four messages: the PAKE itself is pake/'s, and is
// tested end to end in pake/ and client/. Here: turns, limits, counting.

func knockOf(t *testing.T, j *client, nameplate, data string, id uint32) string {
	t.Helper()
	j.send(map[string]any{"type": "knock", "id": id, "nameplate": nameplate, "data": data})
	m := j.expect(typeKnocking)
	if m.ID != id || len(m.Knock) != 22 {
		t.Fatalf("knocking %+v", m)
	}
	return m.Knock
}

func TestKnockRelay(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	a := ts.dial(t)
	plate := a.create(newSecrets(), 1).Nameplate
	j := ts.dial(t)

	k := knockOf(t, j, plate, "AQ", 1)
	if m := a.expect(typeKnock); m.Knock != k || m.Data != "AQ" {
		t.Fatalf("member got %+v", m)
	}
	// The joiner may not speak out of turn.
	j.send(map[string]any{"type": "knock_data", "id": 2, "knock": k, "data": "Aw"})
	j.expectError(codeBadMessage, 2)
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "Ag"})
	if m := j.expect(typeKnockData); m.Knock != k || m.Data != "Ag" {
		t.Fatalf("joiner got %+v", m)
	}
	a.send(map[string]any{"type": "knock_data", "id": 3, "knock": k, "data": "Ag"})
	a.expectError(codeBadMessage, 3) // the member twice in a row
	j.send(map[string]any{"type": "knock_data", "knock": k, "data": "Aw"})
	if m := a.expect(typeKnockData); m.Data != "Aw" {
		t.Fatalf("member got %+v", m)
	}
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "BA"})
	if m := j.expect(typeKnockData); m.Data != "BA" {
		t.Fatalf("joiner got %+v", m)
	}
	// Four messages and it is over: the joiner is told so, nothing more is
	// relayed, nobody was told of a failure.
	if m := j.expect(typeKnockDone); m.Knock != k || m.Result != "ok" {
		t.Fatalf("joiner got %+v", m)
	}
	j.send(map[string]any{"type": "knock_data", "id": 4, "knock": k, "data": "BQ"})
	j.expectError(codeNoSuchKnock, 4)
	a.ping(5)
	j.ping(6)
}

func TestKnockRefusals(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	a := ts.dial(t)
	plate := a.create(newSecrets(), 1).Nameplate

	a.send(map[string]any{"type": "knock", "id": 2, "nameplate": plate, "data": "AQ"})
	a.expectError(codeAlreadyInRoom, 2)

	j := ts.dial(t)
	unknown := "9" + plate // one digit longer than any live nameplate
	j.send(map[string]any{"type": "knock", "id": 1, "nameplate": unknown, "data": "AQ"})
	j.expectError(codeNoSuchRoom, 1)
	for i, bad := range []map[string]any{
		{"type": "knock", "nameplate": "12", "data": "AQ"},
		{"type": "knock", "nameplate": "12a4", "data": "AQ"},
		{"type": "knock", "nameplate": strings.Repeat("1", 19), "data": "AQ"},
		{"type": "knock", "nameplate": plate, "data": strings.Repeat("A", MaxKnockDataChars+1)},
		{"type": "knock", "nameplate": plate, "data": "A="},
		{"type": "knock", "nameplate": plate},
		{"type": "knock_data", "knock": "short", "data": "AQ"},
		{"type": "knock_done", "knock": 5},
	} {
		bad["id"] = 10 + i
		j.send(bad)
		j.expectError(codeBadMessage, uint32(10+i))
	}
	// A knock id that is not this connection's.
	k := knockOf(t, j, plate, "AQ", 20)
	a.expect(typeKnock)
	j.send(map[string]any{"type": "knock", "id": 21, "nameplate": plate, "data": "AQ"})
	j.expectError(codeKnockPending, 21)
	other := ts.dial(t)
	other.send(map[string]any{"type": "knock_done", "id": 1, "knock": k})
	other.expectError(codeNoSuchKnock, 1)
	other.send(map[string]any{"type": "knock_data", "id": 2, "knock": b64.EncodeToString(make([]byte, 16)), "data": "AQ"})
	other.expectError(codeNoSuchKnock, 2)
}

// Wrong codes: each failed exchange after the member answered is counted
// and told to every member; the fifth retires the nameplate.
func TestKnockFailuresRetireTheCode(t *testing.T) {
	ts := startServer(t, Config{KnockAddrBurst: 100}, room.Config{}) // every joiner is on loopback
	a := ts.dial(t)
	s := newSecrets()
	plate := a.create(s, 1).Nameplate
	b := ts.dial(t)
	b.join(s, 1)
	a.expect(typeMemberJoined)

	for i := 1; i <= room.DefaultMaxKnockFailures; i++ {
		j := ts.dial(t)
		k := knockOf(t, j, plate, "AQ", 1)
		// Members take turns answering, the newest first (room's
		// TestKnockTargetAndFailures): b, a, b, ...
		answerer := []*client{b, a}[(i-1)%2]
		answerer.expect(typeKnock)
		answerer.send(map[string]any{"type": "knock_data", "knock": k, "data": "Ag"})
		j.expect(typeKnockData)
		// The member's proof did not check out: the joiner gives up.
		j.send(map[string]any{"type": "knock_done", "knock": k})
		if m := answerer.expect(typeKnockDone); m.Knock != k || m.Result != "failed" {
			t.Fatalf("answerer got %+v", m)
		}
		for _, c := range []*client{a, b} {
			c.expect(typeKnockFailed)
		}
		if i < room.DefaultMaxKnockFailures {
			continue
		}
		var next string
		for _, c := range []*client{a, b} {
			m := c.expect(typeNameplate)
			if m.Nameplate == "" || m.Nameplate == plate {
				t.Fatalf("new nameplate %q (old %q)", m.Nameplate, plate)
			}
			next = m.Nameplate
		}
		j.send(map[string]any{"type": "knock", "id": 9, "nameplate": plate, "data": "AQ"})
		j.expectError(codeNoSuchRoom, 9)
		knockOf(t, j, next, "AQ", 10)
	}
}

// Nobody hangs: a member that never answers, a joiner that vanishes after
// its guess, a member that leaves.
func TestKnockEnds(t *testing.T) {
	old := knockDeadline
	knockDeadline = 300 * time.Millisecond
	t.Cleanup(func() { knockDeadline = old })
	ts := startServer(t, Config{}, room.Config{})
	a := ts.dial(t)
	s := newSecrets()
	plate := a.create(s, 1).Nameplate

	// Unanswered: both told "timeout"; not the joiner's guess, not counted.
	j := ts.dial(t)
	k := knockOf(t, j, plate, "AQ", 1)
	a.expect(typeKnock)
	if m := j.expect(typeKnockDone); m.Knock != k || m.Result != "timeout" {
		t.Fatalf("joiner got %+v", m)
	}
	if m := a.expect(typeKnockDone); m.Result != "timeout" {
		t.Fatalf("member got %+v", m)
	}

	// Joiner leaves after the member's answer: a failed guess.
	j2 := ts.dial(t)
	k = knockOf(t, j2, plate, "AQ", 1)
	a.expect(typeKnock)
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "Ag"})
	j2.expect(typeKnockData)
	j2.ws.Close()
	if m := a.expect(typeKnockDone); m.Result != "gone" {
		t.Fatalf("member got %+v", m)
	}
	a.expect(typeKnockFailed)

	// Member leaves mid-exchange: the joiner is told, nothing is counted.
	b := ts.dial(t)
	b.join(s, 1)
	a.expect(typeMemberJoined)
	j3 := ts.dial(t)
	k3 := knockOf(t, j3, plate, "AQ", 1)
	b.expect(typeKnock) // the newest member answers first (see above)
	b.send(map[string]any{"type": "leave", "id": 2})
	b.expect(typeLeft)
	if m := j3.expect(typeKnockDone); m.Knock != k3 || m.Result != "gone" {
		t.Fatalf("joiner got %+v", m)
	}
	a.expect(typeMemberLeft)
	a.ping(3) // no knock_failed before the pong
}

func TestKnockLimits(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	a := ts.dial(t)
	plate := a.create(newSecrets(), 1).Nameplate
	for i := range MaxKnocksPerRoom {
		knockOf(t, ts.dial(t), plate, "AQ", uint32(i+1))
		a.expect(typeKnock)
	}
	j := ts.dial(t)
	j.send(map[string]any{"type": "knock", "id": 1, "nameplate": plate, "data": "AQ"})
	j.expectError(codeTryLater, 1)
	// The address has had KnockAddrBurst knocks (MaxKnocksPerRoom + this
	// refused one counted too, and one more below): then try_later whatever
	// the room.
	b := ts.dial(t)
	other := b.create(newSecrets(), 1).Nameplate
	sent := MaxKnocksPerRoom + 1
	for ; sent < KnockAddrBurst; sent++ {
		knockOf(t, ts.dial(t), other, "AQ", 1)
		b.expect(typeKnock)
	}
	j2 := ts.dial(t)
	j2.send(map[string]any{"type": "knock", "id": 1, "nameplate": other, "data": "AQ"})
	j2.expectError(codeTryLater, 1)
}

// A member that declines before answering is not a wrong code, and not counted.
func TestKnockRefusedByMember(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{})
	a := ts.dial(t)
	plate := a.create(newSecrets(), 1).Nameplate
	j := ts.dial(t)
	k := knockOf(t, j, plate, "AQ", 1)
	a.expect(typeKnock)
	a.send(map[string]any{"type": "knock_done", "knock": k})
	if m := j.expect(typeKnockDone); m.Result != "refused" {
		t.Fatalf("joiner got %+v, want refused", m)
	}
	a.ping(2) // no knock_failed came before the pong
}

// Operator mode: a knock carries no token, so there are none.
func TestKnockOffInOperatorMode(t *testing.T) {
	fa := &fakeAdmit{}
	ts := startServer(t, Config{Admit: fa.admit}, room.Config{})
	s := newSecrets()
	a := ts.dial(t)
	a.send(map[string]any{"type": "create", "id": 1, "room": s.room, "verifier": s.verifier, "token": tok("ann", "talk", s)})
	plate := a.expect(typeJoined).Nameplate
	j := ts.dial(t)
	j.send(map[string]any{"type": "knock", "id": 1, "nameplate": plate, "data": "AQ"})
	j.expectError(codeTokenMissing, 1)
	a.ping(2) // the member was never asked
}
