package client

// The WebSocket: one reader goroutine, one writer goroutine, and requests
// matched to their replies by id. Every message the server sends is handed
// to the client's handler on the reader goroutine, in order, before the
// reply it may be is delivered to the request waiting for it.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"
)

const (
	subprotocol = "sotto.v1"
	// sendQueue bounds messages waiting for the writer. A client queues a
	// burst at most (join, hello, offer, candidates, hellos to newcomers).
	sendQueue = 256
	// The server allows 20 messages/s in bursts of 40 per connection. The
	// writer paces itself below that, with room for the network bunching
	// messages on the way, so a busy client is slowed down, never refused.
	sendRate  = 15
	sendBurst = 30

	writeWait  = 10 * time.Second
	closeGrace = 2 * time.Second
)

// ErrUnavailable is a WebSocket the server refused for now: it is shutting
// down, the address is over a limit for a while, or (in a cluster) the
// room's id is being forgotten at the load balancer. Dial again after a
// short wait, as the app does.
var ErrUnavailable = errors.New("client: server refused the connection for now; try again")

// retryableStatus reports whether a refused WebSocket's HTTP status says
// "not now" rather than "never".
func retryableStatus(code int) bool {
	return code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests
}

type signaling struct {
	ws     *websocket.Conn
	handle func(*inMsg)
	out    chan []byte
	lim    *rate.Limiter

	ctx    context.Context // ends when the connection is done with
	cancel context.CancelFunc

	readerDone chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once

	mu    sync.Mutex
	next  uint32
	waits map[uint32]chan *inMsg
	err   error // why the reader stopped
}

// dialSignaling opens the WebSocket to url, with the subprotocol sotto.v1,
// from cfg.LocalAddr and with cfg.TLS if set, and starts its reader and
// writer. handle sees every message from the server.
func dialSignaling(ctx context.Context, cfg Config, url string, handle func(*inMsg)) (*signaling, error) {
	d := websocket.Dialer{Subprotocols: []string{subprotocol}, HandshakeTimeout: 10 * time.Second, TLSClientConfig: cfg.TLS}
	if cfg.LocalAddr.IsValid() {
		local := &net.Dialer{LocalAddr: net.TCPAddrFromAddrPort(netip.AddrPortFrom(cfg.LocalAddr, 0))}
		d.NetDialContext = local.DialContext
	}
	ws, res, err := d.DialContext(ctx, url, nil)
	if err != nil {
		if res != nil && retryableStatus(res.StatusCode) {
			return nil, fmt.Errorf("client: dialing %s: HTTP %d: %w", url, res.StatusCode, ErrUnavailable)
		}
		return nil, fmt.Errorf("client: dialing %s: %w", url, err)
	}
	if ws.Subprotocol() != subprotocol {
		ws.Close()
		return nil, fmt.Errorf("client: server did not accept %s", subprotocol)
	}
	s := &signaling{
		ws: ws, handle: handle,
		out:        make(chan []byte, sendQueue),
		lim:        rate.NewLimiter(sendRate, sendBurst),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
		waits:      make(map[uint32]chan *inMsg),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	go s.read()
	go s.write()
	return s, nil
}

func (s *signaling) read() {
	defer close(s.readerDone)
	defer s.cancel() // a dead connection takes nothing more to write
	for {
		_, data, err := s.ws.ReadMessage()
		if err != nil {
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
			return
		}
		m := new(inMsg)
		if json.Unmarshal(data, m) != nil {
			continue
		}
		s.handle(m)
		if m.ID == 0 {
			continue
		}
		s.mu.Lock()
		ch := s.waits[m.ID]
		delete(s.waits, m.ID)
		s.mu.Unlock()
		if ch != nil {
			ch <- m // buffered: never blocks
		}
	}
}

func (s *signaling) write() {
	defer close(s.writerDone)
	for {
		var b []byte
		select {
		case <-s.ctx.Done():
			return
		case b = <-s.out:
		}
		if s.lim.Wait(s.ctx) != nil {
			return
		}
		_ = s.ws.SetWriteDeadline(time.Now().Add(writeWait))
		if err := s.ws.WriteMessage(websocket.TextMessage, b); err != nil {
			s.ws.Close() // the reader sees it and stops too
			return
		}
	}
}

// send queues m. It never blocks.
func (s *signaling) send(m *outMsg) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if s.ctx.Err() != nil {
		return ErrClosed
	}
	select {
	case s.out <- b:
		return nil
	default:
		return errors.New("client: signaling send queue full")
	}
}

// start queues m with a fresh id and returns the channel its reply will
// arrive on; wait for it with await.
func (s *signaling) start(m *outMsg) (chan *inMsg, error) {
	ch := make(chan *inMsg, 1)
	s.mu.Lock()
	s.next++
	if s.next == 0 {
		s.next = 1
	}
	m.ID = s.next
	s.waits[m.ID] = ch
	s.mu.Unlock()
	if err := s.send(m); err != nil {
		s.forget(m.ID)
		return nil, err
	}
	return ch, nil
}

// await waits for the reply to request id. An error message or floor_busy
// comes back as an *Error.
func (s *signaling) await(ctx context.Context, id uint32, ch chan *inMsg) (*inMsg, error) {
	select {
	case m := <-ch:
		switch m.Type {
		case "error":
			return m, &Error{Code: m.Code, Message: m.Message}
		case "floor_busy":
			return m, &Error{Code: "floor_busy", Message: "held by " + m.Holder}
		}
		return m, nil
	case <-ctx.Done():
		s.forget(id)
		return nil, ctx.Err()
	case <-s.readerDone:
		s.forget(id)
		return nil, fmt.Errorf("%w: %v", ErrClosed, s.readErr())
	}
}

// call sends a request and waits for its reply.
func (s *signaling) call(ctx context.Context, m outMsg) (*inMsg, error) {
	ch, err := s.start(&m)
	if err != nil {
		return nil, err
	}
	return s.await(ctx, m.ID, ch)
}

func (s *signaling) forget(id uint32) {
	s.mu.Lock()
	delete(s.waits, id)
	s.mu.Unlock()
}

func (s *signaling) readErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// done is closed when the connection has stopped reading (closed by either
// side).
func (s *signaling) done() <-chan struct{} { return s.readerDone }

// close sends a normal close (1000), waits briefly for the server's, then
// closes the TCP connection and waits for the reader and the writer.
func (s *signaling) close() {
	s.closeOnce.Do(func() {
		s.cancel()
		<-s.writerDone // WriteControl may run beside a writer, but there is none left
		_ = s.ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
		t := time.NewTimer(closeGrace)
		select {
		case <-s.readerDone:
		case <-t.C:
		}
		t.Stop()
		s.ws.Close()
		<-s.readerDone
	})
}
