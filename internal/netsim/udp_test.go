package netsim

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"sotto/internal/testutil"
)

const (
	// waitLong bounds every wait for packets on loopback: generous for a
	// loaded 2-core machine, never reached when things work.
	waitLong = 10 * time.Second
	// readQuiet is how long a reader waits for one more datagram before it
	// takes the stream as ended.
	readQuiet = 300 * time.Millisecond
)

// echoServer answers every datagram with the source it saw, then the
// datagram: a server that tells the client how it looks from there.
type echoServer struct {
	conn *net.UDPConn
	mu   sync.Mutex
	seen []netip.AddrPort
	n    int
}

func newEchoServer(t *testing.T) *echoServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	e := &echoServer{conn: conn}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, MaxDatagram)
		for {
			n, src, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.n++
			e.seen = append(e.seen, src)
			e.mu.Unlock()
			reply := append([]byte(src.String()+"|"), buf[:n]...)
			conn.WriteToUDPAddrPort(reply, src)
		}
	}()
	t.Cleanup(func() { conn.Close(); <-done })
	return e
}

func (e *echoServer) count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n
}

func (e *echoServer) addr() string { return e.conn.LocalAddr().String() }

func newUDPRelay(t *testing.T, upstream string, cfg Config) *UDPRelay {
	t.Helper()
	r, err := ListenUDP("127.0.0.1:0", upstream, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dialRelay(t *testing.T, r *UDPRelay) *net.UDPConn {
	t.Helper()
	c, err := net.DialUDP("udp", nil, r.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip sends msg and returns the echo's reply: the source the server
// saw and the payload.
func roundTrip(t *testing.T, c *net.UDPConn, msg string) (seen, payload string) {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(waitLong))
	buf := make([]byte, MaxDatagram)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no reply to %q: %v", msg, err)
	}
	s, p, ok := bytes.Cut(buf[:n], []byte("|"))
	if !ok {
		t.Fatalf("reply %q has no source", buf[:n])
	}
	return string(s), string(p)
}

// readSeqs reads numbered datagrams until none comes for readQuiet.
func readSeqs(t *testing.T, c *net.UDPConn) []uint32 {
	t.Helper()
	var seqs []uint32
	buf := make([]byte, MaxDatagram)
	for {
		c.SetReadDeadline(time.Now().Add(readQuiet))
		n, err := c.Read(buf)
		if err != nil {
			return seqs
		}
		_, p, _ := bytes.Cut(buf[:n], []byte("|"))
		seqs = append(seqs, binary.BigEndian.Uint32(p))
	}
}

// sendSeqs sends count numbered datagrams, in batches the relay is seen
// to have taken before the next, so no socket buffer overflows on a slow
// machine and every loss is the relay's.
func sendSeqs(t *testing.T, c *net.UDPConn, r *UDPRelay, count int) {
	t.Helper()
	const batch = 50
	for i := 0; i < count; i++ {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(i))
		if _, err := c.Write(b[:]); err != nil {
			t.Fatal(err)
		}
		if (i+1)%batch == 0 || i == count-1 {
			want := uint64(i + 1)
			testutil.WaitFor(t, waitLong, "the relay to take a batch", func() bool {
				s := r.Stats().Up
				return s.Forwarded+s.Lost+s.Blocked+s.TailDrop+s.Overflow >= want
			})
		}
	}
}

func TestUDPRelayForwardsBothWays(t *testing.T) {
	testutil.LeakCheck(t)
	echo := newEchoServer(t)
	r := newUDPRelay(t, echo.addr(), Config{})
	c := dialRelay(t, r)
	seen, p := roundTrip(t, c, "hello")
	if p != "hello" {
		t.Fatalf("reply %q", p)
	}
	if seen == c.LocalAddr().String() {
		t.Fatal("the server saw the client's own address, not the relay's")
	}
	// The counters count after the send, so the reply can beat them.
	testutil.WaitFor(t, waitLong, "the counters", func() bool {
		s := r.Stats()
		return s.Up.Forwarded == 1 && s.Down.Forwarded == 1 && s.Clients == 1 && s.Up.Bytes == 5
	})
}

func TestUDPRelayPerClientMapping(t *testing.T) {
	testutil.LeakCheck(t)
	echo := newEchoServer(t)
	r := newUDPRelay(t, echo.addr(), Config{})
	a, b := dialRelay(t, r), dialRelay(t, r)
	seenA, pa := roundTrip(t, a, "from a")
	seenB, pb := roundTrip(t, b, "from b")
	if pa != "from a" || pb != "from b" {
		t.Fatalf("replies crossed: a got %q, b got %q", pa, pb)
	}
	if seenA == seenB {
		t.Fatalf("the server saw both clients as %s", seenA)
	}
	// Again, interleaved: each mapping is kept.
	seenA2, _ := roundTrip(t, a, "a again")
	seenB2, pb2 := roundTrip(t, b, "b again")
	if seenA2 != seenA || seenB2 != seenB || pb2 != "b again" {
		t.Fatalf("mapping moved: a %s then %s, b %s then %s", seenA, seenA2, seenB, seenB2)
	}
	if n := r.Stats().Clients; n != 2 {
		t.Fatalf("%d clients mapped, want 2", n)
	}
}

func TestUDPRelayRebind(t *testing.T) {
	testutil.LeakCheck(t)
	echo := newEchoServer(t)
	r := newUDPRelay(t, echo.addr(), Config{})
	c := dialRelay(t, r)
	before, _ := roundTrip(t, c, "on wifi")
	if err := r.Rebind(); err != nil {
		t.Fatal(err)
	}
	after, p := roundTrip(t, c, "on cellular")
	if p != "on cellular" {
		t.Fatalf("reply %q", p)
	}
	if after == before {
		t.Fatalf("the server still sees %s after Rebind", before)
	}
	src := c.LocalAddr().(*net.UDPAddr).AddrPort()
	if got := r.UpstreamAddrs()[src].String(); got != after {
		t.Fatalf("UpstreamAddrs says %s, the server saw %s", got, after)
	}
	// A new source address too (127.0.0.0/8 is all loopback on Linux).
	if err := r.RebindFrom(netip.MustParseAddr("127.0.0.2")); err != nil {
		t.Fatal(err)
	}
	moved, _ := roundTrip(t, c, "another network")
	if ap := netip.MustParseAddrPort(moved); ap.Addr() != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("after RebindFrom 127.0.0.2 the server sees %s", moved)
	}
	if s := r.Stats(); s.Rebinds != 2 || s.Clients != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestUDPRelayBlock(t *testing.T) {
	testutil.LeakCheck(t)
	echo := newEchoServer(t)
	r := newUDPRelay(t, echo.addr(), Config{Up: Impairment{Block: true}})
	c := dialRelay(t, r)
	sendSeqs(t, c, r, 100)
	if got := readSeqs(t, c); len(got) != 0 || echo.count() != 0 {
		t.Fatalf("blocked, yet the server got %d and the client %d", echo.count(), len(got))
	}
	if s := r.Stats().Up; s.Blocked != 100 || s.Forwarded != 0 {
		t.Fatalf("stats %+v", s)
	}
	// Unblocked mid-run, the next packet goes through.
	if err := r.SetConfig(Config{}); err != nil {
		t.Fatal(err)
	}
	if _, p := roundTrip(t, c, "unblocked"); p != "unblocked" {
		t.Fatalf("reply %q", p)
	}
	// Blocking the way back only: the server hears, the client does not.
	if err := r.SetConfig(Config{Down: Impairment{Block: true}}); err != nil {
		t.Fatal(err)
	}
	n := echo.count()
	c.Write([]byte("one way"))
	testutil.WaitFor(t, waitLong, "the server to hear", func() bool { return echo.count() == n+1 })
	testutil.WaitFor(t, waitLong, "the reply to be blocked", func() bool { return r.Stats().Down.Blocked == 1 })
	if got := readSeqs(t, c); len(got) != 0 {
		t.Fatalf("down blocked, yet the client got %d replies", len(got))
	}
}

func TestUDPRelayLossEndToEnd(t *testing.T) {
	testutil.LeakCheck(t)
	const (
		sent = 2000
		loss = 0.2
	)
	echo := newEchoServer(t)
	r := newUDPRelay(t, echo.addr(), Config{Up: Impairment{Loss: loss, BurstLen: 2}, Seed: 7})
	c := dialRelay(t, r)
	sendSeqs(t, c, r, sent)
	s := r.Stats().Up
	if s.Lost+s.Forwarded != sent {
		t.Fatalf("stats %+v: not every packet accounted for", s)
	}
	// Sigma for 2000 packets in bursts of 2 is about 0.013.
	if rate := float64(s.Lost) / sent; rate < loss-0.05 || rate > loss+0.05 {
		t.Fatalf("lost %.3f, want %v", rate, loss)
	}
	testutil.WaitFor(t, waitLong, "the server to get what was forwarded", func() bool { return uint64(echo.count()) == s.Forwarded })
}

func TestUDPRelayOrder(t *testing.T) {
	for _, reorder := range []bool{false, true} {
		t.Run(map[bool]string{false: "fifo", true: "reorder"}[reorder], func(t *testing.T) {
			testutil.LeakCheck(t)
			const sent = 300
			echo := newEchoServer(t)
			cfg := Config{Down: Impairment{Delay: 30 * time.Millisecond, Jitter: 25 * time.Millisecond, Reorder: reorder}, Seed: 3}
			r := newUDPRelay(t, echo.addr(), cfg)
			c := dialRelay(t, r)
			sendSeqs(t, c, r, sent)
			got := readSeqs(t, c)
			if len(got) != sent {
				t.Fatalf("got %d of %d", len(got), sent)
			}
			inv := 0
			for i := 1; i < len(got); i++ {
				if got[i] < got[i-1] {
					inv++
				}
			}
			switch {
			case !reorder && inv != 0:
				t.Fatalf("FIFO mode delivered %d out of order: %v", inv, got)
			case reorder && inv == 0:
				t.Fatal("reorder mode with 25 ms jitter delivered everything in order")
			}
		})
	}
}

func TestUDPRelayRateCapEndToEnd(t *testing.T) {
	testutil.LeakCheck(t)
	echo := newEchoServer(t)
	// 8 kb/s with a 1000-byte queue: of 100 datagrams of 500 bytes sent at
	// once, the bucket (1500) and the queue (1000) take 5 and the rest are
	// dropped: at the cap, 100 would take 50 s.
	r := newUDPRelay(t, echo.addr(), Config{Up: Impairment{RateBits: 8000, QueueBytes: 1000}})
	c := dialRelay(t, r)
	pkt := make([]byte, 500)
	start := time.Now()
	for i := range 100 {
		c.Write(pkt)
		if (i+1)%20 == 0 { // in batches, so no socket buffer overflows
			want := uint64(i + 1)
			testutil.WaitFor(t, waitLong, "the relay to take a batch", func() bool {
				s := r.Stats().Up
				return s.TailDrop+uint64(r.upQ.len())+s.Forwarded >= want
			})
		}
	}
	testutil.WaitFor(t, waitLong, "the queue to drain", func() bool {
		s := r.Stats().Up
		return s.Forwarded+s.TailDrop == 100
	})
	// What the rate refilled while a slow machine sent is allowed too: 8
	// kb/s is two datagrams a second.
	allowed := 5 + 2*uint64(time.Since(start).Seconds()+1)
	s := r.Stats().Up
	if s.Forwarded < 5 || s.Forwarded > allowed {
		t.Fatalf("stats %+v: want 5 to %d forwarded", s, allowed)
	}
}

func TestUDPRelayCloseDropsPending(t *testing.T) {
	testutil.LeakCheck(t)
	echo := newEchoServer(t)
	r, err := ListenUDP("127.0.0.1:0", echo.addr(), Config{Up: Impairment{Delay: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	c := dialRelay(t, r)
	c.Write([]byte("late"))
	testutil.WaitFor(t, waitLong, "the relay to read", func() bool { return r.Stats().Clients == 1 })
	start := time.Now()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Fatalf("Close waited %v for a delayed packet", el)
	}
	if echo.count() != 0 {
		t.Fatal("a packet delayed 5 s arrived")
	}
	if r.Close() != nil || r.Rebind() == nil {
		t.Fatal("a closed relay must close again quietly and refuse Rebind")
	}
	if _, err := ListenUDP("127.0.0.1:0", echo.addr(), Config{Up: Impairment{Loss: 3}}); err == nil {
		t.Fatal("a bad config was accepted")
	}
}
