package signal

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/internal/testutil"
	"sotto/room"
)

// newFakeClock is the flood cooldowns' clock in tests (Config.now).
func newFakeClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
}

// cooldownServer is a server whose connections count against the address in
// the X-Test-Client header (as behind a proxy; the TCP peer without it), and
// are closed with 1008 at their second message within a minute.
func cooldownServer(t *testing.T, clk *testutil.Clock) *testServer {
	t.Helper()
	return startServer(t, Config{
		MessageRate:  1.0 / 60,
		MessageBurst: 1,
		RateStrikes:  1,
		ClientIP: func(r *http.Request) netip.Addr {
			a, _ := netip.ParseAddr(r.Header.Get("X-Test-Client")) // invalid when absent
			return a
		},
		now: clk.Now,
	}, room.Config{})
}

// dialAs connects as addr (empty: the TCP peer) and returns the HTTP
// status, and the client when it is 101.
func (ts *testServer) dialAs(t *testing.T, addr string) (int, *client, http.Header) {
	t.Helper()
	hdr := http.Header{}
	if addr != "" {
		hdr.Set("X-Test-Client", addr)
	}
	ws, resp, err := dialOpts(t, ts.url, hdr, Subprotocol)
	if err != nil {
		if resp == nil {
			t.Fatalf("dial as %q: %v", addr, err)
		}
		return resp.StatusCode, nil, resp.Header
	}
	t.Cleanup(func() { ws.Close() })
	return http.StatusSwitchingProtocols, &client{t: t, ws: ws}, resp.Header
}

// floodAs connects as addr and sends two pings: the first is answered,
// the second closes the connection with 1008 (cooldownServer's limits).
func (ts *testServer) floodAs(t *testing.T, addr string) {
	t.Helper()
	status, c, _ := ts.dialAs(t, addr)
	if status != http.StatusSwitchingProtocols {
		t.Fatalf("flooder %s: HTTP %d, want 101", addr, status)
	}
	c.ping(1)
	c.sendRaw(`{"type":"ping","id":2}`)
	c.expectClose(websocket.ClosePolicyViolation)
	c.ws.Close()
}

// After a connection is closed with 1008, its address (the same key as the
// per-address connection cap: IPv4 address, IPv6 /64, the forwarded address
// behind a proxy) is refused with HTTP 429 for FloodCooldown, counted as
// flooding_cooldown; other addresses, and the address's connections already
// open, are not touched; a repeat after the cooldown doubles it.
func TestFloodCooldown(t *testing.T) {
	clk := newFakeClock()
	ts := cooldownServer(t, clk)
	const flooder, neighbour = "192.0.2.1", "192.0.2.2"

	_, tab, _ := ts.dialAs(t, "::ffff:"+flooder) // the same key, opened before the flood
	ts.floodAs(t, flooder)

	status, _, hdr := ts.dialAs(t, flooder)
	if status != http.StatusTooManyRequests {
		t.Fatalf("flooder's address after its 1008: HTTP %d, want 429", status)
	}
	if got := hdr.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After %q, want 10", got)
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="flooding_cooldown"}`); got != "1" {
		t.Errorf("flooding_cooldown rejections %s, want 1", got)
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="flooding"}`); got != "1" {
		t.Errorf("flooding rejections %s, want 1", got)
	}
	tab.ping(3) // still served
	for _, other := range []string{neighbour, "2001:db8::1", ""} {
		if status, c, _ := ts.dialAs(t, other); status != http.StatusSwitchingProtocols {
			t.Fatalf("another address (%q) during the cooldown: HTTP %d, want 101", other, status)
		} else {
			c.ping(4)
		}
	}

	// An IPv6 /64 is one address.
	ts.floodAs(t, "2001:db8:1:2::1")
	if status, _, _ := ts.dialAs(t, "2001:db8:1:2::99"); status != http.StatusTooManyRequests {
		t.Fatalf("same /64 after its 1008: HTTP %d, want 429", status)
	}
	if status, _, _ := ts.dialAs(t, "2001:db8:1:3::1"); status != http.StatusSwitchingProtocols {
		t.Fatalf("next /64: HTTP %d, want 101", status)
	}

	// It ends after FloodCooldown; the next flood's cooldown is twice as long.
	clk.Add(FloodCooldown - time.Millisecond)
	if status, _, _ := ts.dialAs(t, flooder); status != http.StatusTooManyRequests {
		t.Fatalf("flooder just before the cooldown ends: HTTP %d, want 429", status)
	}
	clk.Add(time.Millisecond)
	ts.floodAs(t, flooder) // served again, and floods again
	clk.Add(2*FloodCooldown - time.Millisecond)
	status, _, hdr = ts.dialAs(t, flooder)
	if status != http.StatusTooManyRequests {
		t.Fatalf("flooder just before its doubled cooldown ends: HTTP %d, want 429", status)
	}
	if got := hdr.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After %q, want 1", got)
	}
	clk.Add(time.Millisecond)
	if status, c, _ := ts.dialAs(t, flooder); status != http.StatusSwitchingProtocols {
		t.Fatalf("flooder after its doubled cooldown: HTTP %d, want 101", status)
	} else {
		c.ping(5)
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="flooding_cooldown"}`); got != "4" {
		t.Errorf("flooding_cooldown rejections %s, want 4", got)
	}
	if got := ts.metric(t, `sotto_rejections_total{reason="flooding"}`); got != "3" {
		t.Errorf("flooding rejections %s, want 3", got)
	}
}

// The cooldown doubles with each 1008 earned after the previous cooldown
// ended, up to MaxFloodCooldown; a 1008 during a cooldown (a connection
// opened before it) does not extend it; an address that stays quiet as long
// as its last cooldown after it ended starts again at FloodCooldown, and its
// entry is dropped.
func TestFloodCooldownDoubling(t *testing.T) {
	clk := newFakeClock()
	s := NewServer(Config{Registry: room.NewRegistry(room.Config{}), Logger: slog.New(slog.DiscardHandler), now: clk.Now})
	a := netip.MustParseAddr("198.51.100.7")
	key := AddrKey(a)

	want := []time.Duration{10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i, length := range want {
		s.penalize(key)
		if got := s.coolingDown(key); got != length {
			t.Fatalf("cooldown %d: %v, want %v", i+1, got, length)
		}
		clk.Add(length / 2)
		s.penalize(key) // a connection opened before the cooldown
		if got := s.coolingDown(key); got != length/2 {
			t.Fatalf("cooldown %d, halfway, after another 1008: %v left, want %v", i+1, got, length/2)
		}
		clk.Add(length/2 - time.Nanosecond)
		if !s.Penalized(a) {
			t.Fatalf("cooldown %d: over before %v", i+1, length)
		}
		clk.Add(time.Nanosecond)
		if s.Penalized(a) {
			t.Fatalf("cooldown %d: not over after %v", i+1, length)
		}
	}
	if MaxFloodCooldown != want[len(want)-1] {
		t.Fatalf("MaxFloodCooldown %v; the test assumes 5m", MaxFloodCooldown)
	}

	// Quiet for as long as the last cooldown, after it ended: forgotten.
	clk.Add(MaxFloodCooldown - time.Nanosecond)
	s.penalize(key)
	if got := s.coolingDown(key); got != MaxFloodCooldown {
		t.Fatalf("1008 just before the address is forgotten: %v, want %v", got, MaxFloodCooldown)
	}
	clk.Add(2 * MaxFloodCooldown)
	s.penalize(key)
	if got := s.coolingDown(key); got != FloodCooldown {
		t.Fatalf("1008 after the address was forgotten: %v, want %v", got, FloodCooldown)
	}

	// Forgotten entries are dropped when another address floods.
	other := AddrKey(netip.MustParseAddr("198.51.100.8"))
	clk.Add(2*FloodCooldown - time.Nanosecond)
	s.penalize(other)
	if n := len(s.cooldowns); n != 2 {
		t.Fatalf("%d entries, want 2 (the first is not yet forgotten)", n)
	}
	clk.Add(FloodCooldown) // the first forgotten, the other not, and a sweep is due
	s.penalize(AddrKey(netip.MustParseAddr("198.51.100.9")))
	if _, ok := s.cooldowns[key]; ok || len(s.cooldowns) != 2 {
		t.Fatalf("after a sweep: %d entries (the forgotten one kept: %v), want 2", len(s.cooldowns), ok)
	}

	// Penalized takes any address of a key, and no invalid one.
	s.penalize(AddrKey(netip.MustParseAddr("2001:db8:5:6::1")))
	for a, want := range map[string]bool{
		"::ffff:198.51.100.9": true, "2001:db8:5:6:ffff::2": true, "2001:db8:5:7::1": false, "198.51.100.10": false,
	} {
		if got := s.Penalized(netip.MustParseAddr(a)); got != want {
			t.Errorf("Penalized(%s) = %v, want %v", a, got, want)
		}
	}
	if s.Penalized(netip.Addr{}) {
		t.Error("Penalized(invalid address) = true")
	}
}

// The table of addresses in cooldown holds MaxFloodCooldownAddrs at most.
// When it is full, a new flooding address is not put in cooldown (and this
// is logged once, without the address); those in it stay; once entries are
// forgotten, a sweep (on the next flood or handshake) makes room again.
func TestFloodCooldownBound(t *testing.T) {
	clk := newFakeClock()
	var logs bytes.Buffer
	s := NewServer(Config{Registry: room.NewRegistry(room.Config{}), Logger: slog.New(slog.NewTextHandler(&logs, nil)), now: clk.Now})
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	for i := range MaxFloodCooldownAddrs {
		s.penalize(AddrKey(addr(i)))
	}
	if n := len(s.cooldowns); n != MaxFloodCooldownAddrs {
		t.Fatalf("%d entries, want %d", n, MaxFloodCooldownAddrs)
	}
	for i := range 3 {
		s.penalize(AddrKey(addr(MaxFloodCooldownAddrs + i)))
	}
	if n := len(s.cooldowns); n != MaxFloodCooldownAddrs {
		t.Fatalf("%d entries when full, want %d", n, MaxFloodCooldownAddrs)
	}
	if s.Penalized(addr(MaxFloodCooldownAddrs)) {
		t.Fatal("a flooder was put in cooldown though the table was full")
	}
	if !s.Penalized(addr(0)) || !s.Penalized(addr(MaxFloodCooldownAddrs-1)) {
		t.Fatal("an address in cooldown was evicted")
	}
	// A repeat flood from an address in the table is still counted.
	clk.Add(FloodCooldown)
	s.penalize(AddrKey(addr(7)))
	if got := s.coolingDown(AddrKey(addr(7))); got != 2*FloodCooldown {
		t.Fatalf("repeat when full: %v, want %v", got, 2*FloodCooldown)
	}
	if n := strings.Count(logs.String(), "cooldown table full"); n != 1 {
		t.Fatalf("logged %d times, want once:\n%s", n, logs.String())
	}
	if strings.Contains(logs.String(), addr(MaxFloodCooldownAddrs).String()) {
		t.Fatalf("the log holds an address:\n%s", logs.String())
	}

	// All but addr(7) forgotten: the next new flooder gets in.
	clk.Add(FloodCooldown)
	s.penalize(AddrKey(addr(MaxFloodCooldownAddrs)))
	if n := len(s.cooldowns); n != 2 || !s.Penalized(addr(MaxFloodCooldownAddrs)) || !s.Penalized(addr(7)) {
		t.Fatalf("after the sweep: %d entries, want 2 (addr 7 and the new flooder)", n)
	}
	// A handshake sweeps too: with no more floods, the table still empties.
	clk.Add(2 * MaxFloodCooldown)
	if s.Penalized(addr(1)) || len(s.cooldowns) != 0 {
		t.Fatalf("%d entries left after every one was forgotten and a handshake came", len(s.cooldowns))
	}
}
