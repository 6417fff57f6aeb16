package sfu

// One TCP port for both the web app and ICE-TCP: behind a firewall that lets
// only 443 through, or with UDP blocked, a browser can still reach voice on
// the port it loaded the page from.
//
// The two are told apart by the first byte a client sends. ICE-TCP frames each
// STUN/RTP packet with a 2-byte length (RFC 4571), and the first packet is a
// STUN binding request of a few hundred bytes, so the first byte is 0x00. An
// HTTP request starts with a method name in ASCII, and TLS with 0x16: neither
// is ever 0x00.

import (
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// DemuxPeekTimeout bounds how long a new TCP connection may wait before its
// first byte; a client that sends nothing is closed.
const DemuxPeekTimeout = 10 * time.Second

// After an Accept error that passes (see retryableAccept) the demux waits
// before it tries again, acceptRetryMin at first and twice as long after each
// further error, up to acceptRetryMax: the values net/http's Serve uses. Out
// of descriptors, retrying at once would spin a core; waiting longer than a
// second would leave the port deaf well after descriptors are free again.
const (
	acceptRetryMin = 5 * time.Millisecond
	acceptRetryMax = time.Second
)

// SplitICETCP accepts connections on ln and hands each to web or to ice by its
// first byte. Closing either returned listener closes ln and both.
//
// An Accept error that passes when resources free up (out of descriptors or
// buffers, a connection reset before it was accepted) does not close ln:
// the demux retries with a growing pause and calls onRetry, if not nil, with
// each such error. Any other error closes both listeners with it.
func SplitICETCP(ln net.Listener, peekTimeout time.Duration, onRetry func(error)) (web, ice net.Listener) {
	d := &demux{ln: ln, done: make(chan struct{}), onRetry: onRetry}
	w := &demuxListener{d: d, conns: make(chan net.Conn)}
	i := &demuxListener{d: d, conns: make(chan net.Conn)}
	go d.acceptLoop(w, i, peekTimeout)
	return w, i
}

type demux struct {
	ln        net.Listener
	done      chan struct{}
	onRetry   func(error)
	closeOnce sync.Once
	err       error // why accepting stopped; read after done is closed
}

// retryableAccept reports whether an Accept error is one that passes: a
// burst of connections up to the descriptor limit (EMFILE, ENFILE), memory
// or socket buffers short (ENOBUFS, ENOMEM), or a client gone before its
// connection was accepted. Closing the listener for these would hand anyone
// able to open enough connections a permanent outage.
func retryableAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM,
		syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EPROTO, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (d *demux) close(err error) {
	d.closeOnce.Do(func() {
		d.err = err
		close(d.done)
		d.ln.Close()
	})
}

func (d *demux) acceptLoop(web, ice *demuxListener, peekTimeout time.Duration) {
	var pause time.Duration
	for {
		c, err := d.ln.Accept()
		if err != nil {
			if !retryableAccept(err) {
				d.close(err)
				return
			}
			pause = min(max(2*pause, acceptRetryMin), acceptRetryMax)
			if d.onRetry != nil {
				d.onRetry(err)
			}
			t := time.NewTimer(pause)
			select {
			case <-t.C:
			case <-d.done:
				t.Stop()
				return
			}
			continue
		}
		pause = 0
		go d.route(c, web, ice, peekTimeout)
	}
}

// route reads the first byte, then passes the connection on with that byte
// put back in front.
func (d *demux) route(c net.Conn, web, ice *demuxListener, peekTimeout time.Duration) {
	var first [1]byte
	c.SetReadDeadline(time.Now().Add(peekTimeout))
	if _, err := c.Read(first[:]); err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	to := web
	if first[0] == 0x00 {
		to = ice
	}
	select {
	case to.conns <- &peekedConn{Conn: c, first: first[0], pending: true}:
	case <-d.done:
		c.Close()
	}
}

type demuxListener struct {
	d     *demux
	conns chan net.Conn
}

func (l *demuxListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.d.done:
		return nil, l.d.err
	}
}

func (l *demuxListener) Close() error {
	l.d.close(net.ErrClosed)
	return nil
}

func (l *demuxListener) Addr() net.Addr { return l.d.ln.Addr() }

// peekedConn gives back the byte the demux read before the rest.
type peekedConn struct {
	net.Conn
	mu      sync.Mutex
	first   byte
	pending bool
}

func (c *peekedConn) Read(p []byte) (int, error) {
	c.mu.Lock()
	if c.pending && len(p) > 0 {
		c.pending = false
		p[0] = c.first
		c.mu.Unlock()
		return 1, nil
	}
	c.mu.Unlock()
	return c.Conn.Read(p)
}
