package signal

import (
	"net/netip"
	"testing"
	"time"

	"sotto/internal/testutil"
	"sotto/room"
)

// clusterNode is a server as one node of a cluster of n, on a stopped clock.
func clusterNode(t *testing.T, n int) (*Server, *testutil.Clock) {
	t.Helper()
	clk := newFakeClock()
	s := NewServer(Config{Registry: room.NewRegistry(room.Config{}), ClusterSize: n, now: clk.Now})
	t.Cleanup(func() { s.guesses.close(); s.blobs.close(); s.knocks.close() })
	return s, clk
}

// failedJoinsLetThrough counts the guesses from one address that the
// node's budget lets through, each failing, with the clock stopped.
func failedJoinsLetThrough(g *guessBudget, key netip.Prefix) int {
	n := 0
	for g.reserve(key) {
		g.settle(key, true)
		n++
	}
	return n
}

// serverGuessesLetThrough counts the guesses the node lets through from
// fresh addresses, one each (so no address's own budget and no suspect
// share gets in the way), with the clock stopped.
func serverGuessesLetThrough(g *guessBudget, from int) int {
	n := 0
	for i := from; ; i++ {
		key := AddrKey(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		if !g.reserve(key) {
			return n
		}
		g.settle(key, false) // keep it clean: give it back, then spend it from the server alone
		g.mu.Lock()
		g.global.take(g.now())
		g.mu.Unlock()
		n++
	}
}

// knocksLetThrough counts an address's knocks the node allows at once.
func knocksLetThrough(kt *knockTable, key netip.Prefix, now time.Time) int {
	n := 0
	for kt.allowAddr(key, now) {
		n++
	}
	return n
}

// wrongCodesLetThrough counts failed exchanges the node reserves at once.
func wrongCodesLetThrough(kt *knockTable) int {
	n := 0
	kt.mu.Lock()
	defer kt.mu.Unlock()
	for kt.failures.take(kt.now()) {
		n++
	}
	return n
}

// With --cluster-size 3 each node has a third of every guessing budget,
// burst and rate, so that three nodes together let through what one did.
func TestClusterSizeDividesBudgets(t *testing.T) {
	const n = 3
	one, clk1 := clusterNode(t, 1)
	node, clk := clusterNode(t, n)
	addr := netip.MustParsePrefix("192.0.2.1/32")

	// Bursts, with the clock stopped.
	for _, c := range []struct {
		what      string
		whole, of int
	}{
		{"failed joins from one address", failedJoinsLetThrough(one.guesses, addr), failedJoinsLetThrough(node.guesses, addr)},
		{"knocks from one address", knocksLetThrough(one.knocks, addr, clk1.Now()), knocksLetThrough(node.knocks, addr, clk.Now())},
		{"wrong codes on the node", wrongCodesLetThrough(one.knocks), wrongCodesLetThrough(node.knocks)},
	} {
		if want := max(1, c.whole/n); c.of != want {
			t.Errorf("%s: %d on one of %d nodes, want %d (a single node: %d)", c.what, c.of, n, want, c.whole)
		}
	}
	if whole, of := serverGuessesLetThrough(one.guesses, 1000), serverGuessesLetThrough(node.guesses, 1000); of != whole/n {
		t.Errorf("failed joins on the node: %d on one of %d nodes, want %d (a single node: %d)", of, n, whole/n, whole)
	}
	if one.guesses.global.burst != DefaultFailedJoinBurst {
		t.Fatalf("a single node's budget is %v, not the default %d: the comparison proves nothing", one.guesses.global.burst, DefaultFailedJoinBurst)
	}

	// Rates: each refills at a third of a single node's rate.
	refill := func(whole, of float64) {
		t.Helper()
		if of*n < whole*0.99 || of*n > whole*1.01 {
			t.Errorf("rate on one of %d nodes %v/s, want a third of %v/s", n, of, whole)
		}
	}
	refill(one.guesses.global.rate, node.guesses.global.rate)
	refill(one.guesses.addrRate, node.guesses.addrRate)
	refill(one.knocks.failures.rate, node.knocks.failures.rate)
	// An address's knock pace: one more knock each addrEvery.
	clk.Add(KnockAddrEvery)
	if node.knocks.allowAddr(addr, clk.Now()) {
		t.Errorf("one of %d nodes allowed a knock %v after the burst, want one each %v", n, KnockAddrEvery, n*KnockAddrEvery)
	}
	clk.Add(time.Duration(n-1) * KnockAddrEvery)
	if !node.knocks.allowAddr(addr, clk.Now()) {
		t.Errorf("one of %d nodes refused a knock %v after the burst", n, n*KnockAddrEvery)
	}
	// Limits that do not bound guessing stay whole.
	if node.cfg.MaxConnsPerIP != DefaultMaxConnsPerIP || node.cfg.BlobRate != BlobFanoutRate {
		t.Errorf("connections %d, blob rate %v: divided, but they bound no guessing", node.cfg.MaxConnsPerIP, node.cfg.BlobRate)
	}
}

// A node's share is never zero, however large the cluster: one guess,
// knock and wrong code each, at least.
func TestClusterShareNeverZero(t *testing.T) {
	node, clk := clusterNode(t, 1000)
	addr := netip.MustParsePrefix("192.0.2.1/32")
	if got := failedJoinsLetThrough(node.guesses, addr); got != 1 {
		t.Errorf("failed joins from one address: %d, want 1", got)
	}
	if got := knocksLetThrough(node.knocks, addr, clk.Now()); got != 1 {
		t.Errorf("knocks from one address: %d, want 1", got)
	}
	if got := wrongCodesLetThrough(node.knocks); got != 1 {
		t.Errorf("wrong codes: %d, want 1", got)
	}
	// An unset cluster size is one node's: the budgets stay whole.
	unset, _ := clusterNode(t, 0)
	if b := unset.guesses.global.burst; b != DefaultFailedJoinBurst {
		t.Errorf("cluster size unset: server-wide burst %v, want %d", b, DefaultFailedJoinBurst)
	}
}
