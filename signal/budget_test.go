package signal

import (
	"net/netip"
	"testing"
	"time"
)

// The failed-join budget's server-wide bound holds however many addresses
// guess, and however many guesses are in flight: in T seconds at most
// FailedJoinBurst + FailedJoinRate*T are let through to the registry and
// fail. (With this many addresses, more than the 1,200 that
// DefaultFailedJoinAddrRate's comment names, the attacker also keeps an
// honest address waiting most of the time: logged, for the record.)
func TestGuessBudgetBound(t *testing.T) {
	clk := newFakeClock()
	cfg := Config{now: clk.Now}
	cfg.setDefaults()
	g := newGuessBudget(&cfg)
	const addrs, secs, step = 2000, 60, 50 * time.Millisecond
	key := func(i int) netip.Prefix { return AddrKey(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})) }
	let := 0
	clean := netip.MustParsePrefix("192.0.2.1/32")
	cleanRefused := 0
	for tick := time.Duration(0); tick < secs*time.Second; tick += step {
		// 100 addresses reserve together, then all fail.
		var held []netip.Prefix
		for j := range 100 {
			k := key((int(tick/step)*100 + j) % addrs)
			if g.reserve(k) {
				held = append(held, k)
			}
		}
		for _, k := range held {
			g.settle(k, true)
		}
		let += len(held)
		// An honest address that succeeds, ten times a second.
		if tick%(100*time.Millisecond) == 0 {
			if g.reserve(clean) {
				g.settle(clean, false)
			} else {
				cleanRefused++
			}
		}
		clk.Add(step)
	}
	bound := DefaultFailedJoinBurst + DefaultFailedJoinRate*secs
	t.Logf("%d addresses, 2,000 guesses a second: %d let through in %d s (bound %d); the honest address refused %d of %d",
		addrs, let, secs, bound, cleanRefused, secs*10)
	if let > bound {
		t.Fatalf("%d guesses let through in %d s, bound %d", let, secs, bound)
	}
}

// TestBudgetTablesForgetAddresses: the per-address failed-join and blob
// tables hold an address only while it counts for something (security.md
// §10): an address whose join succeeded is gone within AddrTableSweep, one
// that failed once FailedJoinMemory has passed and its bucket refilled, one
// that sent blobs once its bucket refilled; and the sweep does not wait for
// the table to be full.
func TestBudgetTablesForgetAddresses(t *testing.T) {
	clk := newFakeClock()
	cfg := Config{now: clk.Now}
	cfg.setDefaults()
	g := newGuessBudget(&cfg)
	ok := netip.MustParsePrefix("192.0.2.1/32")
	failed := netip.MustParsePrefix("192.0.2.2/32")
	other := netip.MustParsePrefix("192.0.2.3/32")
	held := func(k netip.Prefix) bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.addrs[k] != nil
	}
	if !g.reserve(ok) || !g.reserve(failed) {
		t.Fatal("a fresh address was refused")
	}
	g.settle(ok, false)
	g.settle(failed, true)
	if !held(failed) {
		t.Fatal("the failed address is not held: the test would prove nothing")
	}
	clk.Add(AddrTableSweep + time.Second)
	g.reserve(other) // any request sweeps
	g.settle(other, false)
	if held(ok) {
		t.Errorf("an address whose join succeeded is still held %v later", AddrTableSweep+time.Second)
	}
	if !held(failed) {
		t.Errorf("an address that failed %v ago is forgotten already (FailedJoinMemory %v)", AddrTableSweep+time.Second, FailedJoinMemory)
	}
	clk.Add(FailedJoinMemory + AddrTableSweep)
	g.reserve(other)
	g.settle(other, false)
	if held(failed) {
		t.Errorf("an address that failed once is still held %v later", FailedJoinMemory+2*AddrTableSweep)
	}

	b := newBlobBudget(&cfg)
	if !b.take(ok, 8000, 40) {
		t.Fatal("a first blob was refused")
	}
	refill := time.Duration(float64(8064*40) / float64(cfg.BlobRate) * float64(time.Second))
	clk.Add(refill + AddrTableSweep + time.Second)
	b.take(other, 10, 1)
	b.mu.Lock()
	_, still := b.addrs[ok]
	b.mu.Unlock()
	if still {
		t.Errorf("an address whose blob budget refilled is still held")
	}
}
