package signal

// Half-open connections: a client that vanishes without a FIN (a phone that
// lost its network, a laptop that went to sleep) and a client that upgrades
// and then says nothing. The server must notice through its own keepalive
// (ping frames every PingPeriod, silence for PongWait closes) and free the
// member, its floor, its connection slot and its goroutines. Timeouts are
// shrunk through Config so that each test takes well under a second of
// waiting; the logic is the same at the defaults (20 s / 45 s).

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/room"
)

const (
	hoPingPeriod = 50 * time.Millisecond
	hoPongWait   = 300 * time.Millisecond
	// hoSlack is how much later than PongWait the member may be noticed:
	// a loaded CI machine running the race detector can be slow to
	// schedule the reader whose deadline expired.
	hoSlack = 2 * time.Second
)

// A member whose client stops reading and answering (its TCP stack still
// ACKs, nothing sends a FIN) holds the floor. The room hears floor_released
// (reason "left") and member_left once PongWait has passed, not before, and
// the connection's slot and goroutines are freed (leakCheck in startServer).
func TestHalfOpenMemberLeaves(t *testing.T) {
	ts := startServer(t, Config{PingPeriod: hoPingPeriod, PongWait: hoPongWait}, room.Config{})
	s := newSecrets()
	a, b := ts.dial(t), ts.dial(t)
	a.create(s, 1)
	jb := b.join(s, 2)
	a.expect(typeMemberJoined)
	b.send(map[string]any{"type": "floor_request", "id": 3})
	b.expect(typeFloorGranted)
	a.expect(typeFloorGranted)
	// From here on b neither reads nor writes: gorilla answers ping frames
	// only from inside a read, so nothing at all reaches the server.
	silentSince := time.Now()

	r := a.read()
	noticed := time.Since(silentSince)
	if r.Type != typeFloorReleased || r.memberID() != jb.Self || r.Reason != "left" {
		t.Fatalf("got %+v, want floor_released of the vanished member, reason left", r)
	}
	if m := a.expect(typeMemberLeft); m.memberID() != jb.Self {
		t.Fatalf("member_left: %+v", m)
	}
	// b's last frame (its floor_request, or a pong answered while it read
	// floor_granted) left a moment before silentSince, so the server's
	// deadline ran from slightly earlier: allow one ping period under.
	if noticed < hoPongWait-hoPingPeriod {
		t.Fatalf("member dropped %v after going silent, before the pong wait (%v): a live client would be dropped too", noticed, hoPongWait)
	}
	if noticed > hoPongWait+hoSlack {
		t.Fatalf("member dropped only %v after going silent (pong wait %v)", noticed, hoPongWait)
	}
	// The room and the server carry on. a answers the server's pings only
	// while it reads, and the pong wait is short: ping it while waiting.
	for id := uint32(4); ts.metric(t, "sotto_members") != "1" || ts.metric(t, "sotto_connections_open") != "1"; id++ {
		if time.Since(silentSince) > hoPongWait+2*hoSlack {
			t.Fatalf("the vanished member's connection is still counted %v after it went silent", time.Since(silentSince))
		}
		a.ping(id)
	}
	a.ping(1000)
	t.Logf("half-open member noticed after %v (pong wait %v)", noticed, hoPongWait)
}

// blackhole is a TCP relay between a client and the server that can be cut:
// after cut it forwards nothing in either direction and keeps both sockets
// open, so neither end sees a FIN or a reset. To the server this is a client
// whose network vanished; unlike a client that merely stops reading, its
// socket also stops draining, so the server's writes to it back up.
type blackhole struct {
	ln   net.Listener
	cut  chan struct{}
	once sync.Once
	mu   sync.Mutex
	open []net.Conn
	wg   sync.WaitGroup
}

func newBlackhole(t testing.TB, target string) *blackhole {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bh := &blackhole{ln: ln, cut: make(chan struct{})}
	bh.wg.Add(1)
	go func() {
		defer bh.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			// Small socket buffers, so that the server's writes back up
			// after tens of kilobytes, not megabytes.
			s.(*net.TCPConn).SetReadBuffer(16 << 10)
			bh.mu.Lock()
			bh.open = append(bh.open, c, s)
			bh.mu.Unlock()
			bh.wg.Add(2)
			go bh.relay(s, c)
			go bh.relay(c, s)
		}
	}()
	t.Cleanup(bh.close)
	return bh
}

// relay copies from src to dst until the blackhole is cut; then it stops
// reading, holding both sockets open.
func (bh *blackhole) relay(dst, src net.Conn) {
	defer bh.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, err := src.Read(buf)
		select {
		case <-bh.cut:
			return // drop what was read; read no more
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// doCut stops all forwarding. The relays are blocked in Read; they return
// on the next byte, drop it and stop, so at most one read's worth crosses
// after the cut (none at all from the silent client).
func (bh *blackhole) doCut() { bh.once.Do(func() { close(bh.cut) }) }

func (bh *blackhole) close() {
	bh.doCut()
	bh.ln.Close()
	bh.mu.Lock()
	for _, c := range bh.open {
		c.Close()
	}
	bh.mu.Unlock()
	bh.wg.Wait()
}

// A member whose network vanishes while the room keeps talking to it: its
// socket stops draining, so the server's writes to it back up as well as
// its pongs stopping. Two cases: with a short pong wait the keepalive
// notices first; with a long one, the writes to the member back up until a
// write misses its deadline (WriteWait), which ends the connection as well.
// Either way the member is gone in time, the others' traffic is never held
// up meanwhile, and the connection is freed completely (slot, reader, and a
// writer that was stuck in a write).
func TestHalfOpenBlackhole(t *testing.T) {
	for _, tc := range []struct {
		name                string
		pongWait, writeWait time.Duration
		within              time.Duration
	}{
		{"pong wait first", hoPongWait, hoPongWait, hoPongWait + hoSlack},
		// The server's socket send buffer (up to 4 MiB on Linux) must fill
		// before a write blocks: a few seconds of 8 KiB blobs.
		{"writes back up", 30 * time.Second, hoPongWait, 15 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			halfOpenBlackhole(t, tc.pongWait, tc.writeWait, tc.within)
		})
	}
}

func halfOpenBlackhole(t *testing.T, pongWait, writeWait, within time.Duration) {
	// The queue is long enough that the write deadline, not the queue's
	// bound (TestSlowReader), is what ends the second case.
	ts := startServer(t, Config{PingPeriod: hoPingPeriod, PongWait: pongWait, WriteWait: writeWait,
		MessageRate: 1e6, MessageBurst: 1e6, SendQueue: 1 << 20, BlobRate: 1e12, BlobBurst: 1e12}, room.Config{})
	bh := newBlackhole(t, strings.TrimPrefix(ts.http.URL, "http://"))
	s := newSecrets()
	a, c := ts.dial(t), ts.dial(t)
	a.create(s, 1)
	c.join(s, 2)
	a.expect(typeMemberJoined)

	ws, _, err := dialOpts(t, "ws://"+bh.ln.Addr().String()+"/ws", nil, Subprotocol)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	b := &client{t: t, ws: ws}
	jb := b.join(s, 3)
	a.expect(typeMemberJoined)
	c.expect(typeMemberJoined)
	bh.doCut()
	cutAt := time.Now()

	// a keeps sending 8 KiB blobs to the room; c must get each one
	// promptly, and b must be dropped.
	blob := strings.Repeat("B", MaxBlobChars)
	var left time.Duration
	i := 0
	for ; left == 0; i++ {
		if time.Since(cutAt) > within {
			t.Fatalf("the vanished member was still in the room %v after the cut (%d blobs)", time.Since(cutAt), i)
		}
		start := time.Now()
		a.send(map[string]any{"type": "blob", "data": blob})
		for {
			m := c.read()
			if m.Type == typeMemberLeft && m.memberID() == jb.Self {
				left = time.Since(cutAt)
				continue
			}
			if m.Type != typeBlob {
				t.Fatalf("unexpected %+v", m)
			}
			break
		}
		if d := time.Since(start); d > time.Second {
			t.Fatalf("blob %d took %v to cross the room: the vanished member held it up", i, d)
		}
	}
	if m := a.expect(typeMemberLeft); m.memberID() != jb.Self {
		t.Fatalf("member_left at the creator: %+v", m)
	}
	// The connection (reader, writer, slot) must be gone, not stuck.
	ts.waitMetric(t, "sotto_connections_open", "2")
	ts.waitMetric(t, "sotto_members", "2")
	if left < min(pongWait, writeWait)-hoPingPeriod {
		t.Fatalf("vanished member dropped %v after the cut, sooner than any limit allows", left)
	}
	t.Logf("vanished member left %v after the cut, %d blobs (%d KiB) later (pong wait %v, write wait %v)",
		left, i, i*MaxBlobChars/1024, pongWait, writeWait)
}

// A client that completes the upgrade and then sends nothing, not even a
// pong, is closed after the pong wait, and its slot counts against its
// address no more. A client that sends no message but answers pings (an
// idle phone in a quiet room) is kept however long it idles.
func TestSilentAfterUpgrade(t *testing.T) {
	ts := startServer(t, Config{PingPeriod: hoPingPeriod, PongWait: hoPongWait, MaxConnsPerIP: 2}, room.Config{})

	// The idle-but-alive client: its reader answers pings, it sends nothing.
	idle := ts.dial(t)
	idleErr := make(chan error, 1)
	go func() {
		for {
			if _, _, err := idle.ws.ReadMessage(); err != nil {
				idleErr <- err
				return
			}
		}
	}()

	silent := ts.dial(t) // never read, never written
	start := time.Now()
	// The server counts a connection just after the client sees the
	// upgrade: wait for both to be counted before waiting for one to go.
	ts.waitMetric(t, "sotto_connections_open", "2")
	_, resp, err := dialOpts(t, ts.url, nil, Subprotocol)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection from the address: %v, want HTTP 429", err)
	}
	ts.waitMetric(t, "sotto_connections_open", "1")
	if d := time.Since(start); d < hoPongWait-hoPingPeriod {
		t.Fatalf("silent connection closed after %v, before the pong wait %v", d, hoPongWait)
	}
	// The slot is back.
	again := ts.dial(t)
	again.ping(1)
	again.ws.Close()

	// The silent client finds its connection closed without a close frame
	// (the server had nothing to say to a client it believes gone).
	silent.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		_, _, err := silent.ws.ReadMessage()
		if err == nil {
			continue // ping frames are handled inside ReadMessage; data frames there are none
		}
		var ce *websocket.CloseError
		if errors.As(err, &ce) {
			t.Fatalf("silent client got close %d; want the TCP connection closed", ce.Code)
		}
		// Anything but a timeout: EOF, or (answering the queued pings on
		// its way) a broken pipe or a reset.
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("silent client: %v, want the connection closed", err)
		}
		break
	}

	// Meanwhile, the idle client, silent but answering, is still there
	// after several pong waits.
	time.Sleep(4 * hoPongWait)
	select {
	case err := <-idleErr:
		t.Fatalf("the idle client that answers pings was dropped: %v", err)
	default:
	}
	if got := ts.metric(t, "sotto_connections_open"); got != "1" {
		t.Fatalf("sotto_connections_open %s, want 1 (the idle client)", got)
	}
}
