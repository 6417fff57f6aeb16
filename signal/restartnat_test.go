package signal

import (
	"crypto/rand"
	"testing"

	"sotto/room"
)

// After a server restart every member behind one NAT resumes and then
// joins or creates again (review of issue 12, item 9). With a per-address
// failed-join burst of 20 that charged every bad_resume, more than ~18 of
// them waited try_later. The clock stands still: nothing refills.
func TestNATMembersComeBackAfterRestart(t *testing.T) {
	const n = DefaultMaxConnsPerIP
	tokens := func() string {
		var b [room.ResumeTokenSize]byte
		rand.Read(b[:])
		return b64.EncodeToString(b[:])
	}
	expectCode := func(c *client, id uint32, want string) {
		t.Helper()
		if m := c.read(); m.Type != typeError || m.Code != want || m.ID != id {
			t.Fatalf("got %+v, want error %s (id %d)", m, want, id)
		}
	}

	t.Run("bad_resume", func(t *testing.T) {
		// The rooms were made again by others; each member's token is
		// spent: bad_resume, then join.
		ts := startServer(t, Config{ClientIP: testClientIP, now: newFakeClock().Now}, room.Config{})
		rooms := make([]secrets, 4)
		for i := range rooms {
			rooms[i] = newSecrets()
			ts.dialAsOK(t, "10.6.0.1").create(rooms[i], 1)
		}
		for i := range n {
			s := rooms[i%len(rooms)]
			c := ts.dialAsOK(t, "10.5.0.1")
			c.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": tokens()})
			expectCode(c, 1, codeBadResume)
			c.join(s, 2)
		}
	})
	t.Run("no_such_room", func(t *testing.T) {
		// Each member was alone in its room, which the restart lost:
		// resume and join find no room, then create makes it again.
		ts := startServer(t, Config{ClientIP: testClientIP, now: newFakeClock().Now}, room.Config{})
		for range n {
			s := newSecrets()
			c := ts.dialAsOK(t, "10.4.0.1")
			c.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": tokens()})
			expectCode(c, 1, codeNoSuchRoom)
			c.send(map[string]any{"type": "join", "id": 2, "room": s.room, "auth": s.auth})
			expectCode(c, 2, codeNoSuchRoom)
			c.create(s, 3)
		}
	})
}
