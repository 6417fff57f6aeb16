package signal

import (
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"sotto/room"
)

func TestResume(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{ResumeGrace: 3 * time.Second})
	s := newSecrets()
	a, b, bj := roomOfTwo(t, ts, s)
	if len(bj.Resume) != 43 {
		t.Fatalf("joined carries resume %q", bj.Resume)
	}
	b.send(map[string]any{"type": "floor_request", "id": 2})
	b.expect(typeFloorGranted)
	a.expect(typeFloorGranted)

	// b's network goes (TCP closed, no close frame): the floor comes free,
	// b stays in the room.
	b.ws.NetConn().Close()
	if m := a.expect(typeFloorReleased); m.Reason != "left" {
		t.Fatalf("floor_released %+v", m)
	}
	a.ping(3) // and nothing else came before the pong: no member_left
	if got := ts.metric(t, "sotto_members"); got != "2" {
		t.Fatalf("sotto_members %s while b is away", got)
	}

	// b is back with its token: the same member, a new token; a is told.
	b2 := ts.dial(t)
	b2.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": bj.Resume})
	r := b2.expect(typeJoined)
	if r.ID != 1 || r.Self != bj.Self || len(r.Members) != 2 || r.Resume == bj.Resume || r.Resume == "" {
		t.Fatalf("resumed joined %+v", r)
	}
	if m := a.expect(typeMemberBack); m.memberID() != bj.Self {
		t.Fatalf("member_back %+v", m)
	}
	b2.send(map[string]any{"type": "blob", "data": "AQID"})
	if m := a.expect(typeBlob); m.From != bj.Self {
		t.Fatalf("blob from %s", m.From)
	}

	// The spent token, replayed, is refused; so is one never given out.
	x := ts.dial(t)
	x.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": bj.Resume})
	x.expectError(codeBadResume, 1)
	x.send(map[string]any{"type": "resume", "id": 2, "room": s.room, "resume": b64.EncodeToString(make([]byte, 32))})
	x.expectError(codeBadResume, 2)
	x.send(map[string]any{"type": "resume", "id": 3, "room": newSecrets().room, "resume": r.Resume})
	x.expectError(codeNoSuchRoom, 3)

	// Takeover: b2's connection is still up (half-open, as far as the
	// server knows) when b resumes on b3: b2 is closed with 4009, and the
	// member stays, now b3's.
	b3 := ts.dial(t)
	b3.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": r.Resume})
	r3 := b3.expect(typeJoined)
	b2.expectClose(CloseReplaced)
	a.expect(typeMemberBack)
	b3.send(map[string]any{"type": "floor_request", "id": 2})
	b3.expect(typeFloorGranted)
	if m := a.expect(typeFloorGranted); m.memberID() != bj.Self {
		t.Fatalf("floor to %s", m.memberID())
	}

	// A client that closes the WebSocket itself has left: no grace.
	if err := b3.ws.WriteControl(8, []byte{0x03, 0xe8}, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	a.expect(typeFloorReleased)
	if m := a.expect(typeMemberLeft); m.memberID() != bj.Self {
		t.Fatalf("member_left %+v", m)
	}
	x.send(map[string]any{"type": "resume", "id": 4, "room": s.room, "resume": r3.Resume})
	x.expectError(codeBadResume, 4)
}

func TestResumeGraceRunsOut(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{ResumeGrace: 300 * time.Millisecond})
	s := newSecrets()
	a, b, bj := roomOfTwo(t, ts, s)
	b.ws.NetConn().Close()
	start := time.Now()
	if m := a.expect(typeMemberLeft); m.memberID() != bj.Self {
		t.Fatalf("member_left %+v", m)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("b left %v after its connection dropped, before its grace", d)
	}
	b2 := ts.dial(t)
	b2.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": bj.Resume})
	b2.expectError(codeBadResume, 1)
}

// A client that gives up on a connection whose pings go unanswered closes
// it with 4000: the server takes that as a network drop, and the member
// waits for its resume.
func TestClientLostServerCloseKeepsMember(t *testing.T) {
	closeKeepsMember(t, 4000)
}

// A browser closes the socket of a page it freezes with 1001, no leave
// before it (measured in Chromium: TestPocketModeInBrowser): the member
// waits for its resume, as after a network drop.
func TestGoingAwayCloseKeepsMember(t *testing.T) {
	closeKeepsMember(t, websocket.CloseGoingAway)
}

// closeKeepsMember has Bob close his socket with code, no leave before it,
// and checks that he resumes and Alice sees him back, never gone.
func closeKeepsMember(t *testing.T, code int) {
	t.Helper()
	ts := startServer(t, Config{}, room.Config{ResumeGrace: 3 * time.Second})
	s := newSecrets()
	a, b, bj := roomOfTwo(t, ts, s)
	if err := b.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ts.resumeAs(t, s, bj)
	if m := a.expect(typeMemberBack); m.memberID() != bj.Self {
		t.Fatalf("a got %+v, want member_back (no member_left)", m)
	}
}

// A leave before the 1001 (what the app sends on Leave and on pagehide)
// takes the member out at once: the close code does not bring it back.
func TestLeaveThenGoingAwayLeaves(t *testing.T) {
	ts := startServer(t, Config{}, room.Config{ResumeGrace: 3 * time.Second})
	s := newSecrets()
	a, b, bj := roomOfTwo(t, ts, s)
	b.send(map[string]any{"type": "leave"})
	if err := b.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if m := a.expect(typeMemberLeft); m.memberID() != bj.Self {
		t.Fatalf("a got %+v, want member_left of %s", m, bj.Self)
	}
	c := ts.dial(t)
	c.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": bj.Resume})
	c.expectError(codeBadResume, 1)
}

// resumeAs resumes bj's membership in the room of s on a new connection,
// and fails the test unless it is the same member again.
func (ts *testServer) resumeAs(t testing.TB, s secrets, bj srvMsg) {
	t.Helper()
	c := ts.dial(t)
	c.send(map[string]any{"type": "resume", "id": 1, "room": s.room, "resume": bj.Resume})
	if r := c.expect(typeJoined); r.Self != bj.Self {
		t.Fatalf("resumed as %s, was %s", r.Self, bj.Self)
	}
}

// roomOfTwo puts a (creator) and b in the room of s, and returns b's joined.
func roomOfTwo(t testing.TB, ts *testServer, s secrets) (a, b *client, bj srvMsg) {
	t.Helper()
	a = ts.dial(t)
	a.create(s, 1)
	b = ts.dial(t)
	bj = b.join(s, 1)
	a.expect(typeMemberJoined)
	return a, b, bj
}

// TestResumeAfterWriteFails: when the writer is the first to find the
// network gone (a write fails with a broken pipe while the reader still
// waits), the member is detached for its client to resume, exactly as when
// the reader finds it first. Before, it left the room at once.
func TestResumeAfterWriteFails(t *testing.T) {
	ts, bw := startBreakable(t, Config{})
	s := newSecrets()
	a, b, bj := roomOfTwo(t, ts, s)
	b.send(map[string]any{"type": "floor_request", "id": 2})
	b.expect(typeFloorGranted)
	a.expect(typeFloorGranted)

	// b's socket now fails every write; a's blob is the next thing for b.
	bw.breakWritesOf(t, b)
	a.send(map[string]any{"type": "blob", "data": "AQID"})
	if m := a.expect(typeFloorReleased); m.Reason != "left" {
		t.Fatalf("floor_released %+v", m)
	}
	a.ping(3) // nothing else came before the pong: no member_left
	if got := ts.metric(t, "sotto_members"); got != "2" {
		t.Fatalf("sotto_members %s while b is away", got)
	}

	ts.resumeAs(t, s, bj)
	if m := a.expect(typeMemberBack); m.memberID() != bj.Self {
		t.Fatalf("member_back %+v", m)
	}
}

// TestResumeAfterQueueOverflows: a connection whose writes stall (a dead
// path in a busy room: the socket buffer is full and nothing drains it)
// overflows its send queue long before WriteWait runs out. It is closed
// with 4008, and its member is detached for a resume all the same, as in a
// quiet room where the write would have timed out.
func TestResumeAfterQueueOverflows(t *testing.T) {
	ts, bw := startBreakable(t, Config{SendQueue: 8, MessageRate: 1e6, MessageBurst: 1e6, WriteWait: 500 * time.Millisecond})
	s := newSecrets()
	a, b, bj := roomOfTwo(t, ts, s)
	bw.stallWritesOf(t, b)
	for i := 0; ts.metric(t, `sotto_rejections_total{reason="too_slow"}`) != "1"; i++ {
		if i == 200 {
			t.Fatal("the stalled connection's queue did not overflow after 200 blobs")
		}
		a.send(map[string]any{"type": "blob", "data": "AQID"})
	}
	// a's own blobs are not sent back to it: the pong comes next, and no
	// member_left before it.
	a.ping(3)
	if got := ts.metric(t, "sotto_members"); got != "2" {
		t.Fatalf("sotto_members %s while b is away", got)
	}
	ts.resumeAs(t, s, bj)
}

// startBreakable starts a server (with a 3 s resume grace) whose
// connections the test can break or stall one by one.
func startBreakable(t *testing.T, cfg Config) (*testServer, *breakableListener) {
	t.Helper()
	var bw *breakableListener
	ts := startServerOn(t, cfg, room.Config{ResumeGrace: 3 * time.Second}, func(l net.Listener) net.Listener {
		bw = &breakableListener{Listener: l, conns: map[string]*breakableConn{}}
		return bw
	})
	return ts, bw
}

// breakableListener hands out connections whose writes can be made to
// fail as a socket's do once its path is gone, while reads go on waiting.
type breakableListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]*breakableConn // by the client's address
}

type breakableConn struct {
	net.Conn
	broken        atomic.Bool
	stalled       atomic.Bool
	closed        chan struct{}
	once          sync.Once
	writeDeadline atomic.Int64 // unix nanoseconds; 0: none
}

func (l *breakableListener) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := &breakableConn{Conn: nc, closed: make(chan struct{})}
	l.mu.Lock()
	l.conns[nc.RemoteAddr().String()] = c
	l.mu.Unlock()
	return c, nil
}

// breakWritesOf makes every write on the server's side of cl's connection
// fail with a broken pipe.
func (l *breakableListener) breakWritesOf(t *testing.T, cl *client) {
	l.serverSide(t, cl).broken.Store(true)
}

// stallWritesOf makes every write on the server's side of cl's connection
// block until the connection is closed, as on a full socket buffer.
func (l *breakableListener) stallWritesOf(t *testing.T, cl *client) {
	l.serverSide(t, cl).stalled.Store(true)
}

func (l *breakableListener) serverSide(t *testing.T, cl *client) *breakableConn {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.conns[cl.ws.NetConn().LocalAddr().String()]
	if c == nil {
		t.Fatal("no server connection for this client")
	}
	return c
}

func (c *breakableConn) Write(b []byte) (int, error) {
	if c.stalled.Load() {
		// Nothing drains: the write waits for its deadline, as on a full
		// socket buffer.
		var timeout <-chan time.Time
		if d := c.writeDeadline.Load(); d != 0 {
			timeout = time.After(time.Until(time.Unix(0, d)))
		}
		select {
		case <-c.closed:
			return 0, net.ErrClosed
		case <-timeout:
			return 0, &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: os.ErrDeadlineExceeded}
		}
	}
	if c.broken.Load() {
		return 0, &net.OpError{Op: "write", Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: syscall.EPIPE}
	}
	return c.Conn.Write(b)
}

func (c *breakableConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		c.writeDeadline.Store(0)
	} else {
		c.writeDeadline.Store(t.UnixNano())
	}
	return c.Conn.SetWriteDeadline(t)
}

func (c *breakableConn) SetDeadline(t time.Time) error {
	c.SetWriteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *breakableConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
