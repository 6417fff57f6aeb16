package signal

import (
	"strings"
	"sync"
	"testing"
	"time"

	"sotto/room"
)

// One address flooding a room with the largest blobs from several
// connections (issue 12 #11: 331 blobs/s of 8 KiB into a room of 30, 79 MB/s
// out) is held to its fan-out budget: with the clock stopped nothing
// refills, so everything relayed for it, to everyone, stays within
// BlobFanoutBurst; the excess gets too_many_blobs, and other addresses'
// blobs still go.
func TestBlobFanoutBounded(t *testing.T) {
	clk := newFakeClock()
	ts := startServer(t, Config{ClientIP: testClientIP, now: clk.Now}, room.Config{})
	s := newSecrets()
	const receivers, attackers, perConn = 10, 4, 38 // with the join and a ping: each connection's message burst (40)
	rs := make([]*client, receivers)
	rs[0] = ts.dial(t)
	rs[0].create(s, 1)
	for i := 1; i < receivers; i++ {
		rs[i] = ts.dial(t)
		rs[i].join(s, 1)
	}
	as := make([]*client, attackers)
	for i := range as {
		as[i] = ts.dialAsOK(t, "203.0.113.11")
		as[i].join(s, 1)
	}
	big := strings.Repeat("A", MaxBlobChars)
	refused := floodBlobs(t, as, perConn, func(i int) any {
		return map[string]any{"type": "blob", "id": i + 1, "data": big}
	})
	out := 0 // bytes relayed to the receivers, as the budget counts them
	for _, r := range rs {
		r.send(map[string]any{"type": "ping", "id": 9999})
		for {
			m := r.read()
			if m.Type == typePong {
				break
			}
			if m.Type == typeBlob {
				out += len(m.Data) + blobOverhead
			}
		}
	}
	t.Logf("relayed %d bytes of the attacker's blobs to %d receivers (budget %d for all recipients); %d of %d blobs refused",
		out, receivers, BlobFanoutBurst, refused, attackers*perConn)
	if out > BlobFanoutBurst {
		t.Fatalf("relayed %d bytes for one address with the clock stopped, want <= BlobFanoutBurst (%d)", out, BlobFanoutBurst)
	}
	// Another address is not held to that one's budget.
	rs[1].send(map[string]any{"type": "blob", "data": "AQID"})
	for m := rs[0].read(); m.Type != typeBlob; m = rs[0].read() {
	}
}

// floodBlobs has each attacker connection send perConn messages made by msg
// (blobs or blobs batches, each with an id), then a ping, and read until
// its pong; it returns how many were refused with too_many_blobs. Any other
// error, or a refusal without the message's id, fails the test. When it
// returns, every message is handled: relayed or refused.
func floodBlobs(t *testing.T, as []*client, perConn int, msg func(i int) any) (refused int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, a := range as {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perConn {
				if err := a.ws.WriteJSON(msg(i)); err != nil {
					t.Errorf("attacker: %v", err)
					return
				}
			}
			a.ws.WriteJSON(map[string]any{"type": "ping", "id": 9999})
			for { // its answers, and the others' blobs, until the pong
				m, err := a.tryRead(10 * time.Second)
				if err != nil {
					t.Errorf("attacker: %v", err)
					return
				}
				if m.Type == typeError {
					if m.Code != codeTooManyBlobs || m.ID == 0 {
						t.Errorf("attacker got %+v", m)
					}
					mu.Lock()
					refused++
					mu.Unlock()
				}
				if m.Type == typePong {
					return
				}
			}
		}()
	}
	wg.Wait()
	return refused
}
