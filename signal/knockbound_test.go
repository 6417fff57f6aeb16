package signal

import (
	"fmt"
	"testing"
	"time"

	"sotto/room"
)

// The server-wide bound on wrong room codes (docs/security.md §11:
// KnockFailureBurst, then KnockFailureRate) holds when many addresses knock
// at once (issue 12 #6: a budget checked when a knock starts and charged
// when it ends let every exchange in flight through). The clock stands
// still, so nothing refills: of 60 addresses knocking together, at most
// KnockFailureBurst may get a member's answer and make their guess.
func TestKnockBoundUnderConcurrentAddresses(t *testing.T) {
	clk := newFakeClock()
	ts := startServer(t, Config{ClientIP: testClientIP, now: clk.Now}, room.Config{})
	const rooms, joiners = 15, 60 // MaxKnocksPerRoom (4) in flight in each room
	members := make([]*client, rooms)
	plates := make([]string, rooms)
	for i := range members {
		members[i] = ts.dial(t)
		plates[i] = members[i].create(newSecrets(), 1).Nameplate
	}
	// Every joiner knocks before any member answers.
	js := make([]*client, joiners)
	for i := range js {
		js[i] = ts.dialAsOK(t, fmt.Sprintf("10.0.%d.%d", i/200, i%200+1))
		js[i].send(map[string]any{"type": "knock", "id": 1, "nameplate": plates[i%rooms], "data": "AQ"})
	}
	started := map[int]string{} // joiner -> knock id
	for i, j := range js {
		switch m := j.read(); {
		case m.Type == typeKnocking:
			started[i] = m.Knock
		case m.Type == typeError && m.Code == codeTryLater:
		default:
			t.Fatalf("joiner %d got %+v", i, m)
		}
	}
	// Each started exchange is a wrong guess: the member answers, the
	// joiner finds its proof wrong.
	perRoom := make([]int, rooms)
	for i := range started {
		perRoom[i%rooms]++
	}
	for r, n := range perRoom {
		for range n {
			k := members[r].expect(typeKnock)
			members[r].send(map[string]any{"type": "knock_data", "knock": k.Knock, "data": "Ag"})
		}
	}
	for i, k := range started {
		js[i].expect(typeKnockData)
		js[i].send(map[string]any{"type": "knock_done", "knock": k})
	}
	t.Logf("%d of %d concurrent knocks started (and failed); bound %d", len(started), joiners, KnockFailureBurst)
	if len(started) > KnockFailureBurst {
		t.Fatalf("%d exchanges got a member's answer and failed with the clock stopped, want <= KnockFailureBurst (%d)", len(started), KnockFailureBurst)
	}
	// The budget is spent: the next knock is refused, from a fresh address.
	knock := func(addr string) srvMsg {
		t.Helper()
		j := ts.dialAsOK(t, addr)
		j.send(map[string]any{"type": "knock", "id": 1, "nameplate": plates[0], "data": "AQ"})
		return j.read()
	}
	if m := knock("10.1.0.1"); m.Code != codeTryLater {
		t.Fatalf("knock with the budget spent: %+v", m)
	}
	// 1/KnockFailureRate later, one more; a knock that ends without a wrong
	// code (here the member declines) gives it back, and one in flight
	// holds it.
	a := members[0]
	a.send(map[string]any{"type": "ping", "id": 99})
	for a.read().Type != typePong { // what the failures sent the room
	}
	clk.Add(time.Duration(float64(time.Second) / KnockFailureRate))
	j := ts.dialAsOK(t, "10.1.0.2")
	k := knockOf(t, j, plates[0], "AQ", 1)
	a.expect(typeKnock)
	a.send(map[string]any{"type": "knock_done", "knock": k})
	if m := j.expect(typeKnockDone); m.Result != "refused" {
		t.Fatalf("joiner got %+v", m)
	}
	knockOf(t, ts.dialAsOK(t, "10.1.0.3"), plates[0], "AQ", 1)
	if m := knock("10.1.0.4"); m.Code != codeTryLater {
		t.Fatalf("knock while the last failure is reserved: %+v", m)
	}
}
