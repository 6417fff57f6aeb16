package netsim

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

const (
	// TCPDialTimeout bounds dialling upstream for an accepted connection.
	TCPDialTimeout = 5 * time.Second
	// TCPChunkBytes is the most one read takes from a connection; each
	// chunk draws its own fate, like a segment.
	TCPChunkBytes = 16 << 10
	// TCPPendingChunks bounds the chunks one direction of a connection
	// holds for their delay; when it is full the relay stops reading and
	// TCP's flow control slows the sender, as a slow link would.
	TCPPendingChunks = 64
	// MaxTCPConns bounds the connections the relay carries at once.
	MaxTCPConns = 1024
)

// TCPRelay accepts connections, dials upstream for each and copies both
// ways through the two directions' impairments: delay, jitter (always in
// order), the rate cap, and loss as a retransmission delay
// (TCPRetransmitDelay). Block refuses new connections.
type TCPRelay struct {
	ln       net.Listener
	upstream string
	links
	done chan struct{} // closed by Close: writers stop waiting
	wg   sync.WaitGroup

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
}

// ListenTCP starts a TCP relay on listen (host:port) in front of upstream.
func ListenTCP(listen, upstream string, cfg Config) (*TCPRelay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("netsim: %w", err)
	}
	r := &TCPRelay{
		ln:       ln,
		upstream: upstream,
		links:    newLinks(cfg),
		done:     make(chan struct{}),
		conns:    make(map[net.Conn]struct{}),
	}
	r.wg.Add(1)
	go func() { defer r.wg.Done(); r.accept() }()
	return r, nil
}

// Addr is the address clients connect to.
func (r *TCPRelay) Addr() net.Addr { return r.ln.Addr() }

// Stats returns the counters; Clients is the client connections open.
func (r *TCPRelay) Stats() Stats {
	r.mu.Lock()
	n := len(r.conns) / 2
	r.mu.Unlock()
	st := r.counts()
	st.Clients = n
	return st
}

func (r *TCPRelay) accept() {
	for {
		c, err := r.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a connection reset before accept; keep serving
		}
		if r.up.get().Block || r.down.get().Block {
			r.up.count.blocked.Add(1)
			c.Close()
			continue
		}
		r.wg.Add(1)
		go func() { defer r.wg.Done(); r.serve(c) }()
	}
}

// track adds (or, with add false, removes) conns; false once closed or
// full, and then the caller closes them.
func (r *TCPRelay) track(add bool, conns ...net.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !add {
		for _, c := range conns {
			delete(r.conns, c)
		}
		return true
	}
	if r.closed || len(r.conns)/2 >= MaxTCPConns {
		return false
	}
	for _, c := range conns {
		r.conns[c] = struct{}{}
	}
	return true
}

// serve carries one client connection until both directions have ended.
func (r *TCPRelay) serve(client net.Conn) {
	server, err := net.DialTimeout("tcp", r.upstream, TCPDialTimeout)
	if err != nil {
		client.Close()
		return
	}
	if !r.track(true, client, server) {
		client.Close()
		server.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); r.pipe(client, server, r.up) }()
	go func() { defer wg.Done(); r.pipe(server, client, r.down) }()
	wg.Wait()
	client.Close()
	server.Close()
	r.track(false, client, server)
}

// chunk is data read at one moment and when it may be written.
type chunk struct {
	due  time.Time
	data []byte
}

// pipe copies src to dst through l: a reader stamps each chunk with its
// departure, a writer waits for it. At src's end dst's write half is
// closed (so a half-close crosses the relay); on an error both close.
func (r *TCPRelay) pipe(src, dst net.Conn, l *link) {
	q := make(chan chunk, TCPPendingChunks)
	stop := make(chan struct{}) // the writer failed: stop reading
	go func() {
		defer close(q)
		var fifo time.Time
		buf := make([]byte, TCPChunkBytes)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				due := l.admitChunk(time.Now(), n, &fifo)
				select {
				case q <- chunk{due: due, data: append([]byte(nil), buf[:n]...)}:
				case <-stop:
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range q {
		if failed {
			continue
		}
		var err error
		if r.wait(c.due) {
			var n int
			n, err = dst.Write(c.data)
			l.count.sent(n, err)
		} else {
			err = net.ErrClosed
		}
		if err != nil {
			failed = true
			close(stop)
			src.Close()
			dst.Close()
		}
	}
	if !failed {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		} else {
			dst.Close()
		}
	}
}

// wait sleeps until due; false if the relay closed first.
func (r *TCPRelay) wait(due time.Time) bool {
	d := time.Until(due)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.done:
		return false
	}
}

// Close stops accepting, closes every connection and returns when every
// goroutine has ended.
func (r *TCPRelay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	err := r.ln.Close()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}
