package signal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"sotto/room"
)

// Close codes the server sends, besides the standard 1000 (normal), 1001
// (going away: the server is shutting down), 1008 (policy violation: the
// client kept flooding), 1009 (message too big) and 1011 (internal error).
const (
	// CloseUnsupportedVersion: the client did not negotiate Subprotocol.
	CloseUnsupportedVersion = 4001
	// CloseTooSlow: the client did not read its messages fast enough and its
	// send queue overflowed.
	CloseTooSlow = 4008
)

// conn is one client connection: a reader goroutine that owns the room
// membership and runs every request, and a writer goroutine that owns every
// write to the socket (gorilla allows one concurrent reader and one writer).
type conn struct {
	s       *Server
	ws      *websocket.Conn
	ipKey   netip.Prefix
	route   route // what the URL named: the only room or nameplate this connection may name
	limiter *rate.Limiter
	q       sendQueue

	// closing is closed, once, when the connection is to end. closeCode and
	// closeText are set before, and say what close frame the writer sends
	// (0: none, the peer is gone or has closed); closeBy is when the reader
	// gives up waiting for the client's answering close frame.
	closing   chan struct{}
	closeOnce sync.Once
	closeCode int
	closeText string
	closeBy   time.Time

	writerDone chan struct{}

	// mediaGen numbers media sessions, so that an SFU calling a stale
	// sendCandidate after its member left cannot reach the client.
	mediaGen atomic.Uint64
	// replaced is set when the member's client resumed the membership on
	// another connection: this one goes without leaving, and leaves the
	// member's media to the new one.
	replaced atomic.Bool
	// writeBroke is set by the writer when a write failed at the network
	// (a reset, a broken pipe, WriteWait passed): the connection then ends
	// as a network drop even though the reader only sees its own deadline.
	writeBroke atomic.Bool
	// mediaCancel cancels the context of the member's media calls; shut
	// calls it too, so that a close does not wait for a slow SFU call.
	mediaMu     sync.Mutex
	mediaCancel context.CancelFunc

	// Owned by the reader goroutine.
	strikes    float64 // see allow
	lastStrike time.Time
	inRoom     bool
	roomID     room.ID
	self       uuid.UUID
	dropped    bool // the network ended the connection (readFailed, writeFailed): the member may resume
	mediaUsed  bool
	mediaCtx   context.Context
	misses     []heldMiss // failed joins entering their room would repay (repay.go)
}

func newConn(s *Server, ws *websocket.Conn, ipKey netip.Prefix, rt route) *conn {
	return &conn{
		s:          s,
		ws:         ws,
		ipKey:      ipKey,
		route:      rt,
		limiter:    rate.NewLimiter(rate.Limit(s.cfg.MessageRate), s.cfg.MessageBurst),
		q:          newSendQueue(s.cfg.SendQueue),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
	}
}

// Deliver implements room.Sink. It is called with the registry's lock held,
// so it only queues; a client too far behind is dropped, never waited for.
func (c *conn) Deliver(e room.Event) {
	if e.Kind == room.Replaced {
		c.replaced.Store(true)
		c.shut(CloseReplaced, "resumed on another connection")
		return
	}
	if !c.q.push(outMsg{ev: e}) {
		c.shut(CloseTooSlow, "too slow")
		return
	}
	if e.Kind == room.Removed {
		// The registry has already taken the member out; the client reads
		// "removed", then the close frame.
		c.shut(CloseRemoved, "removed from the room")
	}
}

// shut starts closing the connection with the given close frame (code 0:
// none). Only the first call counts. It never blocks, so Deliver may call it.
//
// The reader goes on reading, and discarding, until the client answers the
// close frame or closeBy: a close completed that way leaves no unread bytes,
// which would make the kernel reset the connection, and a reset can destroy
// the close frame before the client reads it. A client that is too slow, or
// gone, is not waited for: the reader is woken at once to leave the room.
func (c *conn) shut(code int, text string) {
	c.closeOnce.Do(func() {
		now := time.Now()
		c.closeCode, c.closeText = code, text
		c.closeBy = now.Add(c.s.cfg.CloseGrace)
		if code == 0 || code == CloseTooSlow {
			c.closeBy = now
		}
		close(c.closing)
		c.ws.NetConn().SetReadDeadline(c.closeBy)
		c.cancelMedia()
		switch code {
		case CloseTooSlow:
			c.s.m.reject(reasonTooSlow)
		case websocket.ClosePolicyViolation:
			c.s.m.reject(reasonFlooding)
			c.s.penalize(c.ipKey) // before the client can read the close frame
		case websocket.CloseMessageTooBig:
			c.s.m.reject(reasonTooBig)
		}
	})
}

func (c *conn) cancelMedia() {
	c.mediaMu.Lock()
	defer c.mediaMu.Unlock()
	if c.mediaCancel != nil {
		c.mediaCancel()
	}
}

func (c *conn) isClosing() bool {
	select {
	case <-c.closing:
		return true
	default:
		return false
	}
}

// alive pushes the read deadline back: the client has shown it is there.
// Once closing, the deadline is closeBy. The second check catches a shut
// that ran between the first and the update, whose deadline the update
// would otherwise have overwritten.
func (c *conn) alive() {
	if !c.isClosing() {
		c.ws.SetReadDeadline(time.Now().Add(c.s.cfg.PongWait))
		if !c.isClosing() {
			return
		}
	}
	c.ws.SetReadDeadline(c.closeBy) // closeBy is set before closing is closed
}

// readLoop reads and handles the client's messages one at a time, then tears
// the connection down.
func (c *conn) readLoop() {
	defer c.s.wg.Done()
	c.ws.SetReadLimit(c.s.cfg.ReadLimit)
	c.ws.SetPongHandler(func(string) error { c.alive(); return nil })
	c.ws.SetPingHandler(c.onPing)
	c.alive()
	for {
		kind, data, err := c.ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			break
		}
		c.alive()
		if !c.isClosing() {
			c.serve(kind, data)
			if !c.isClosing() {
				continue
			}
		}
		if c.flooded() {
			// A flooder does not stop at once: the teardown drains what
			// it still sends as raw bytes, not frame by frame.
			break
		}
		// Discard until the client's close frame (see shut), yielding as
		// allow does: a client may not stop at once.
		runtime.Gosched()
	}
	c.teardown()
}

// flooded reports whether the connection is closing with 1008.
func (c *conn) flooded() bool {
	return c.isClosing() && c.closeCode == websocket.ClosePolicyViolation // closeCode is set before closing is closed
}

// errFlooded ends a read in which a ping frame was one too many (see onPing).
var errFlooded = errors.New("signal: closing a flooder")

// serve runs one message. It is kept out of readLoop so that readLoop's own
// frame, which stays on the stack while the connection idles in a read, is
// small: an idle connection's cost is mostly its two goroutine stacks, and a
// goroutine stack is only shrunk back when little of it is in use.
//
//go:noinline
func (c *conn) serve(kind int, data []byte) {
	defer func() {
		// A bug met by one message closes that connection, not the
		// server. Only code locations are logged: neither the panic value
		// nor a full stack trace, whose argument words could hold a room id.
		if r := recover(); r != nil {
			c.s.log.Error("signal: panic while handling a message", "at", codeLocations(3))
			c.s.m.reject(codeInternal)
			c.shut(websocket.CloseInternalServerErr, "internal error")
		}
	}()
	if !c.allow() {
		return
	}
	if kind != websocket.TextMessage {
		c.s.m.message(invalidType)
		c.fail(0, badMessage("messages must be text frames holding JSON"))
		return
	}
	var m inMsg
	if perr := decodeMessage(data, &m); perr != nil {
		c.s.m.message(invalidType)
		c.fail(m.ID, perr)
		return
	}
	c.s.m.message(m.Type)
	c.handle(&m)
}

// codeLocations lists the function and line of each caller, skipping skip
// frames.
func codeLocations(skip int) string {
	pcs := make([]uintptr, 32)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(skip, pcs)])
	var b strings.Builder
	for {
		f, more := frames.Next()
		fmt.Fprintf(&b, "%s:%d ", f.Function, f.Line)
		if !more {
			return b.String()
		}
	}
}

// readFailed decides how to close after a failed read.
func (c *conn) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case c.isClosing():
		// We were closing: the client answered, or closeBy passed. If the
		// writer found the network gone, or the client's queue overflowed
		// (4008: in a busy room, a dead path fills the queue before a write
		// times out), that is a drop, unless the client's own close frame
		// arrived all the same: then it chose to go.
		c.dropped = (c.writeBroke.Load() || c.closeCode == CloseTooSlow) && !clientClosed(err)
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla has already sent the 1009 close frame and cannot read on;
		// shut records it so that the teardown drains the rest.
		c.shut(websocket.CloseMessageTooBig, "message too big")
	case errors.As(err, &ce):
		// The client closed; gorilla has already answered its close frame.
		// Or (1006, gorilla's name for it) the TCP connection ended with no
		// close frame: the network's doing, as below.
		// A client's 4000 ("no pong: I give up on this connection") is the
		// network's doing too: it will be back to resume. So is a 1001
		// with no leave before it (clientClosed).
		c.dropped = !clientClosed(err)
		c.shut(0, "")
	default:
		// Pong wait expired, the TCP connection broke, or the client broke
		// the framing (gorilla has sent 1002): nothing more to say. Only
		// the first two are a network's doing, after which the member waits
		// for its client to resume (dropRoom).
		var ne net.Error
		c.dropped = errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		c.shut(0, "")
	}
}

// clientClosed reports whether err is the client's own close frame (and not
// gorilla's 1006 for a connection that ended without one, nor the client's
// 4000 for a connection it gave up on, nor a browser's 1001).
//
// 1001 ("going away") is what Chromium sends, of its own accord, for a page
// it freezes (a phone's background tab, DevTools lifecycle emulation) or
// puts in the back/forward cache: measured, the close frame goes out the
// moment the frozen page runs again, and the page's script only then learns
// its socket is gone. The page did not choose to leave, and is about to
// resume (TestPocketModeInBrowser). A client that means to leave says so
// with a leave message first, which takes it out of the room at once
// whatever close follows.
func clientClosed(err error) bool {
	var ce *websocket.CloseError
	return errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure && ce.Code != CloseClientLostServer &&
		ce.Code != websocket.CloseGoingAway
}

// onPing answers the client's ping frames through the writer, so that the
// reader never waits on a write. Pings count against the rate limit like
// messages: control frames are no free channel for flooding.
func (c *conn) onPing(data string) error {
	c.alive()
	if !c.isClosing() && c.allow() {
		c.push(outMsg{pong: []byte(data), isPong: true})
	}
	if c.flooded() {
		// Otherwise gorilla would go on reading the flood of pings, one
		// frame after another, until a data frame or the deadline.
		return errFlooded
	}
	return nil
}

// allow charges one message to the connection's token bucket. A message over
// the rate is dropped with a rate_limited error (it is not even decoded, so it
// carries no id) and is a strike; RateStrikes strikes, less those forgiven
// at strikeForgiveRate, close the connection.
func (c *conn) allow() bool {
	if c.limiter.Allow() {
		return true
	}
	now := time.Now()
	forgiven := now.Sub(c.lastStrike).Seconds() * strikeForgiveRate
	c.strikes = max(0, c.strikes-forgiven) + 1
	c.lastStrike = now
	// Let every other goroutine that is ready run before this flood gets
	// another turn: reading never blocks while a flooder keeps the socket
	// full, and Go would otherwise only preempt this goroutine every 10 ms.
	runtime.Gosched()
	if c.strikes >= float64(c.s.cfg.RateStrikes) {
		c.shut(websocket.ClosePolicyViolation, "rate limit exceeded")
		return false
	}
	c.fail(0, &protoError{codeRateLimited, "too many messages; this one was dropped"})
	return false
}

// push queues a message for the client, dropping the client if it is too
// far behind.
func (c *conn) push(m outMsg) {
	if !c.q.push(m) {
		c.shut(CloseTooSlow, "too slow")
	}
}

// reply queues a server message (one of the *Msg types).
func (c *conn) reply(msg any) { c.push(outMsg{msg: msg}) }

// fail sends an error message.
func (c *conn) fail(id uint32, e *protoError) {
	c.s.m.reject(e.code)
	c.reply(errorMsg{Type: typeError, ID: id, Code: e.code, Message: e.msg})
}

// unhold ends the send queue's hold (see sendQueue.hold).
func (c *conn) unhold(reply any, replyLast bool) {
	if !c.q.unhold(reply, replyLast) {
		c.shut(CloseTooSlow, "too slow")
	}
}

// teardown runs on the reader goroutine once reading has stopped.
func (c *conn) teardown() {
	c.shut(0, "") // if nobody has yet: makes the writer finish
	// Leave first, so the room hears at once, even if the writer is still
	// stuck in a write to a client that stopped reading.
	c.dropRoom()
	c.forgetMisses()
	<-c.writerDone
	netConn := c.ws.NetConn()
	switch c.closeCode {
	case websocket.CloseMessageTooBig, CloseTooSlow, websocket.ClosePolicyViolation:
		// The reader stopped mid-stream (gorilla cannot read past an
		// oversized message; a slow client was not waited for; a flooder's
		// frames are not worth parsing), so the client's answer cannot be
		// read as frames: drain bytes instead.
		lingerClose(netConn, c.s.cfg.CloseGrace)
	default:
		netConn.Close()
	}
	c.s.forget(c)
}

// lingerClose closes a connection after a close frame has been written,
// when its WebSocket reader cannot be used: it shuts the write side and reads
// (and discards) until the client closes or grace runs out, so that no unread
// input turns the close into a reset (see shut).
func lingerClose(nc net.Conn, grace time.Duration) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	nc.SetReadDeadline(time.Now().Add(grace))
	io.Copy(io.Discard, nc)
	nc.Close()
}

// writeLoop writes queued messages and keepalive pings until the connection
// closes, then writes the close frame.
func (c *conn) writeLoop() {
	defer c.s.wg.Done()
	defer close(c.writerDone)
	defer c.q.close()
	ticker := time.NewTicker(c.s.cfg.PingPeriod)
	defer ticker.Stop()
	for {
		// A close takes precedence over whatever else is ready.
		if c.isClosing() {
			c.finish()
			return
		}
		select {
		case <-c.q.ready:
			if err := c.flush(time.Time{}); err != nil {
				c.writeFailed(err)
				return
			}
		case <-ticker.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.s.cfg.WriteWait)); err != nil {
				c.writeFailed(err)
				return
			}
		case <-c.closing:
			c.finish()
			return
		}
	}
}

// writeFailed closes after a failed write. A failure at the network is
// remembered, so that the member waits for its client to resume (readFailed),
// as it would had the reader found the connection dead first: which of the
// two notices a dead path first is a race, and must not decide the outcome.
func (c *conn) writeFailed(err error) {
	var ne net.Error
	// A write that fails after the server began to close (shutdown, a
	// panic, a removal) changes nothing: the server chose to end it.
	if !c.isClosing() && (errors.As(err, &ne) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)) {
		c.writeBroke.Store(true)
	}
	c.shut(0, "")
}

// finish writes what is still queued, so the client reads why it is being
// closed (its rate_limited errors, say), and then the close frame, all within
// one WriteWait. A client dropped for being too slow gets only the close
// frame: its queue is what it could not take.
func (c *conn) finish() {
	if c.closeCode == 0 {
		return
	}
	deadline := time.Now().Add(c.s.cfg.WriteWait)
	if c.closeCode != CloseTooSlow {
		if c.flush(deadline) != nil {
			return
		}
	}
	msg := websocket.FormatCloseMessage(c.closeCode, c.closeText)
	c.ws.WriteControl(websocket.CloseMessage, msg, deadline)
}

// flush writes everything queued, each message within WriteWait, or all of
// them by until if it is set.
func (c *conn) flush(until time.Time) error {
	for _, m := range c.q.take() {
		if c.isClosing() && c.closeCode == CloseTooSlow {
			return nil // see finish
		}
		deadline := until
		if deadline.IsZero() {
			deadline = time.Now().Add(c.s.cfg.WriteWait)
		}
		if m.isPong {
			if err := c.ws.WriteControl(websocket.PongMessage, m.pong, deadline); err != nil {
				return err
			}
			continue
		}
		var b []byte
		if m.ev.Kind != 0 {
			b = encodeEvent(m.ev, m.id, time.Now())
		} else {
			b = encode(m.msg)
		}
		c.ws.SetWriteDeadline(deadline)
		if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			return err
		}
	}
	return nil
}
