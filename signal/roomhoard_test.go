package signal

import (
	"strconv"
	"testing"
	"time"

	"sotto/room"
)

// One address creating rooms and dropping each connection (issue 12 #4:
// its detached members kept their rooms for the resume grace and no longer
// counted against MaxConnsPerIP, until every room slot was its own) holds
// at most room.DefaultMaxRoomsPerOwner rooms; another address still
// creates.
func TestOneAddressCannotHoardRooms(t *testing.T) {
	ts := startServer(t, Config{ClientIP: testClientIP, MaxConnsPerIP: 1000},
		room.Config{ResumeGrace: time.Minute, MaxRooms: 200})
	const tries = room.DefaultMaxRoomsPerOwner + 10
	created, full := 0, 0
	for i := range tries {
		c := ts.dialAsOK(t, "203.0.113.9")
		c.send(map[string]any{"type": "create", "id": 1, "room": newSecrets().room, "verifier": newSecrets().verifier})
		switch m := c.read(); {
		case m.Type == typeJoined:
			created++
		case m.Type == typeError && m.Code == codeTooManyRooms: // not server_full, which clients take as fatal
			full++
		default:
			t.Fatalf("create %d: %+v", i, m)
		}
		c.ws.NetConn().Close() // no close frame: the member is detached, not gone
	}
	t.Logf("one address: %d rooms created, %d refused", created, full)
	if created > room.DefaultMaxRoomsPerOwner {
		t.Fatalf("one address holds %d rooms, want at most %d", created, room.DefaultMaxRoomsPerOwner)
	}
	if created < room.DefaultMaxRoomsPerOwner {
		t.Fatalf("only %d rooms created, want %d", created, room.DefaultMaxRoomsPerOwner)
	}
	ts.waitMetric(t, "sotto_members", strconv.Itoa(created)) // all detached, all still there
	ts.dialAsOK(t, "198.51.100.9").create(newSecrets(), 1)
}
