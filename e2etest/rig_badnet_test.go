package e2etest

// The rig for bad-network browser tests (issue 16, docs/netsim.md): the real
// binary on 127.0.0.1:P, an impairment relay (internal/netsim) on
// 127.0.0.2:P for UDP and TCP both, and the binary told --public-ip
// 127.0.0.2, so every voice candidate it advertises names the relay. The
// pages open the app at the relay's address too: everything they send and
// receive, the WebSocket, media over UDP and ICE-TCP, crosses it unchanged
// but for what the relay's impairments do. (The server cannot advertise a
// port other than the one it listens on; another loopback address with the
// same port is the way in front of it.)

import (
	"net"
	"testing"
	"time"

	"sotto/internal/netsim"
	"sotto/internal/testutil"
)

// badnetRelayIP is the relay's address: loopback, but not the server's.
const badnetRelayIP = "127.0.0.2"

// badnetPortSearch bounds the search for a port free on both loopback
// addresses: the first try almost always finds one.
const badnetPortSearch = 5 * time.Second

// badnetRig is an appRig behind a relay.
type badnetRig struct {
	*appRig
	url      string // the app, through the relay
	udp      *netsim.UDPRelay
	tcp      *netsim.TCPRelay
	relayTCP string
}

// startBadnetApp starts the binary (with args) behind relays with udp and
// tcp impairments, and the browser.
func startBadnetApp(t testing.TB, udp, tcp netsim.Config, args ...string) *badnetRig {
	t.Helper()
	var addr, relay string
	// The relay needs the server's port free on its own address too.
	if !testutil.Eventually(badnetPortSearch, func() bool {
		addr = testutil.FreeLoopbackAddr(t)
		_, port, _ := net.SplitHostPort(addr)
		relay = net.JoinHostPort(badnetRelayIP, port)
		return testutil.CanListen(relay, true) == nil
	}) {
		t.Fatal("no port free on both loopback addresses")
	}
	r := startApp(t, append([]string{"--addr", addr, "--public-ip", badnetRelayIP}, args...)...)
	u, err := netsim.ListenUDP(relay, addr, udp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	c, err := netsim.ListenTCP(relay, addr, tcp)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &badnetRig{appRig: r, url: "http://" + relay + "/", udp: u, tcp: c, relayTCP: relay}
}
