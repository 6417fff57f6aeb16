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
	key := func(i int) netip.Prefix { return addrKey(netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})) }
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
