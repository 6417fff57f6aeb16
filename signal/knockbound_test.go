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
// KnockFailureBurst may get a member's answer and make their guess. A
// failure is reserved when the member's answer is relayed: every knock
// starts, and the answers past the budget end their knocks with try_later.
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
	// Every member answers every knock it got.
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
	// Each exchange whose joiner got the answer is a wrong guess: the
	// joiner finds the member's proof wrong. The others end unanswered.
	answered := 0
	for i, k := range started {
		switch m := js[i].read(); {
		case m.Type == typeKnockData && m.Knock == k:
			answered++
			js[i].send(map[string]any{"type": "knock_done", "knock": k})
		case m.Type == typeKnockDone && m.Knock == k && m.Result == "try_later":
		default:
			t.Fatalf("joiner %d got %+v", i, m)
		}
	}
	t.Logf("%d of %d concurrent knocks started, %d answered (and failed); bound %d", len(started), joiners, answered, KnockFailureBurst)
	if answered > KnockFailureBurst {
		t.Fatalf("%d exchanges got a member's answer and failed with the clock stopped, want <= KnockFailureBurst (%d)", answered, KnockFailureBurst)
	}
	if answered == 0 {
		t.Fatal("no exchange got an answer: the test proves nothing")
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
	// code (here the member declines) gives it back, and one answered
	// holds it.
	a := members[0]
	// nextKnock skips what the failures above sent the room (knock_done
	// and knock_failed, which may still be on their way).
	nextKnock := func() {
		t.Helper()
		for {
			switch m := a.read(); m.Type {
			case typeKnock:
				return
			case typeKnockDone, typeKnockFailed:
			default:
				t.Fatalf("member got %+v", m)
			}
		}
	}
	clk.Add(time.Duration(float64(time.Second) / KnockFailureRate))
	j := ts.dialAsOK(t, "10.1.0.2")
	k := knockOf(t, j, plates[0], "AQ", 1)
	nextKnock()
	a.send(map[string]any{"type": "knock_done", "knock": k})
	if m := j.expect(typeKnockDone); m.Result != "refused" {
		t.Fatalf("joiner got %+v", m)
	}
	j = ts.dialAsOK(t, "10.1.0.3")
	k = knockOf(t, j, plates[0], "AQ", 1)
	nextKnock()
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "Ag"})
	j.expect(typeKnockData)
	if m := knock("10.1.0.4"); m.Code != codeTryLater {
		t.Fatalf("knock while the last failure is reserved: %+v", m)
	}
}

// A knock that merely waits holds nothing (review of issue 12, item 2): an
// attacker on 10 addresses knocks 20 times at its own rooms, whose member
// never answers (each room takes MaxKnocksPerRoom, so 5 rooms), and a real
// knock at another room still gets its answer and the secret. When every
// knock reserved a failure at its start, those 20 held the whole budget
// (KnockFailureBurst) for KnockTimeout and the real knock got try_later.
func TestKnockWaitingHoldsNoFailure(t *testing.T) {
	ts := startServer(t, Config{ClientIP: testClientIP}, room.Config{})
	var plates []string
	for range KnockFailureBurst / MaxKnocksPerRoom {
		o := ts.dialAsOK(t, "10.9.0.1")
		plates = append(plates, o.create(newSecrets(), 1).Nameplate)
	}
	for i := range KnockFailureBurst {
		j := ts.dialAsOK(t, fmt.Sprintf("10.8.0.%d", i/2+1)) // 10 addresses, 2 knocks each
		knockOf(t, j, plates[i/MaxKnocksPerRoom], "AQ", 1)
	}
	a := ts.dial(t)
	plate := a.create(newSecrets(), 1).Nameplate
	j := ts.dialAsOK(t, "10.7.0.1")
	j.send(map[string]any{"type": "knock", "id": 1, "nameplate": plate, "data": "AQ"})
	m := j.read()
	if m.Type != typeKnocking {
		t.Fatalf("a real knock while 20 wait unanswered: got %+v, want knocking", m)
	}
	k := m.Knock
	a.expect(typeKnock)
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "Ag"})
	if m := j.read(); m.Type != typeKnockData {
		t.Fatalf("joiner got %+v, want the member's answer", m)
	}
	j.send(map[string]any{"type": "knock_data", "knock": k, "data": "Aw"})
	a.expect(typeKnockData)
	a.send(map[string]any{"type": "knock_data", "knock": k, "data": "BA"})
	j.expect(typeKnockData)
	if m := j.expect(typeKnockDone); m.Result != knockOK {
		t.Fatalf("joiner got %+v", m)
	}
}
