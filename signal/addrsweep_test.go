package signal

import (
	"testing"
	"time"

	"sotto/room"
)

// The per-address tables (failed joins, blob bytes, knocks) forget an
// address on time, with no request after it (review of issue 12, item 6):
// before, a sweep ran only on the next request using the table, so on a
// quiet server an address stayed in memory with no time limit. The clock
// is moved past every entry's expiry; then nothing is sent at all, and
// each table must empty within a few sweeps (shortened to 50 ms here).
func TestAddrTablesForgetOnTime(t *testing.T) {
	old := addrTableSweep
	addrTableSweep = 50 * time.Millisecond
	t.Cleanup(func() { addrTableSweep = old })
	clk := newFakeClock()
	ts := startServer(t, Config{ClientIP: testClientIP, now: clk.Now}, room.Config{})

	a := ts.dialAsOK(t, "10.3.0.1")
	s := newSecrets()
	plate := a.create(s, 1).Nameplate
	b := ts.dialAsOK(t, "10.3.0.2")
	b.join(s, 1)
	b.send(map[string]any{"type": "blob", "id": 2, "data": "AAEC"}) // the blob table
	a.expect(typeMemberJoined)
	a.expect(typeBlob)
	g := ts.dialAsOK(t, "10.3.0.3")
	g.send(map[string]any{"type": "join", "id": 1, "room": newSecrets().room, "auth": s.auth}) // a failed join
	g.expectError(codeNoSuchRoom, 1)
	k := ts.dialAsOK(t, "10.3.0.4")
	knockOf(t, k, plate, "AQ", 1) // the knock table (the member never answers)

	sizes := func() (guess, blob, knock int) {
		sig := ts.sig
		sig.guesses.mu.Lock()
		guess = len(sig.guesses.addrs)
		sig.guesses.mu.Unlock()
		sig.blobs.mu.Lock()
		blob = len(sig.blobs.addrs)
		sig.blobs.mu.Unlock()
		sig.knocks.mu.Lock()
		knock = len(sig.knocks.addrs)
		sig.knocks.mu.Unlock()
		return
	}
	if g, b, k := sizes(); g == 0 || b == 0 || k == 0 {
		t.Fatalf("tables before: %d failed-join, %d blob, %d knock entries; want each > 0", g, b, k)
	}
	// Every entry has stopped counting: buckets refilled, the failed
	// join older than FailedJoinMemory, the knock address idle.
	clk.Add(FailedJoinMemory + knockAddrIdle + time.Minute)
	deadline := time.Now().Add(3 * time.Second)
	for {
		g, b, k := sizes()
		if g == 0 && b == 0 && k == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("3 s after every entry stopped counting, with no request: %d failed-join, %d blob, %d knock entries left; want 0", g, b, k)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
