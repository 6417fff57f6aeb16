package server

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"sotto/internal/testutil"
)

// The listener's own bookkeeping: a connection counts until closed, once
// however often it is closed; IPv6 addresses count by /64.
func TestAddrLimitListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	al := newAddrLimitListener(ln, 2)
	conns := acceptAll(t, al)
	addr := ln.Addr().String()
	from := netip.MustParseAddr("127.0.0.2")
	accept := func() net.Conn {
		t.Helper()
		testutil.DialFrom(t, from.String(), addr)
		select {
		case s := <-conns:
			return s
		case <-time.After(5 * time.Second):
			t.Fatal("connection not accepted")
			return nil
		}
	}
	a, _ := accept(), accept()
	if !testutil.ClosedAtAccept(t, from.String(), addr, "") {
		t.Fatal("a third connection from one address was passed on")
	}
	a.Close()
	a.Close() // a second Close must not free a second place
	if n := al.openConns(from); n != 1 {
		t.Fatalf("%d open after closing one of two twice, want 1", n)
	}
	accept()
	if !testutil.ClosedAtAccept(t, from.String(), addr, "") {
		t.Fatal("a double Close freed two places")
	}
	if n := al.refusedConns(); n != 2 {
		t.Fatalf("refusedConns %d, want 2", n)
	}

	for _, c := range []struct{ a, key string }{
		{"192.0.2.7", "192.0.2.7/32"},
		{"::ffff:192.0.2.7", "192.0.2.7/32"},
		{"2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
	} {
		if got := addrPrefix(netip.MustParseAddr(c.a)); got.String() != c.key {
			t.Errorf("addrPrefix(%s) = %s, want %s", c.a, got, c.key)
		}
	}
	if addrPrefix(netip.Addr{}).IsValid() {
		t.Error("an invalid address has a key")
	}
}
