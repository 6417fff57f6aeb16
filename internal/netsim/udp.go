package netsim

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// MaxClients bounds the client sources the UDP relay maps at once, each
	// with its own upstream socket; a new source past it is dropped.
	MaxClients = 1024
	// ClientIdleTimeout forgets a client source (and closes its upstream
	// socket) after this long without a packet from it: longer than ICE's
	// consent checks (every 5 s or so), so a live call is never forgotten.
	ClientIdleTimeout = 2 * time.Minute
	// sweepEvery is how often idle clients are looked for.
	sweepEvery = ClientIdleTimeout / 4
)

// UDPRelay forwards datagrams between clients and one upstream address.
// Each client source gets its own upstream socket, so the server sees
// distinct sources and each reply goes back to the client it is for.
type UDPRelay struct {
	conn     *net.UDPConn
	upstream *net.UDPAddr
	links
	upQ     *scheduler
	downQ   *scheduler
	done    chan struct{}
	wg      sync.WaitGroup
	rebinds atomic.Uint64

	mu      sync.Mutex
	clients map[netip.AddrPort]*udpClient
	closed  bool
}

// udpClient is one client source and its current upstream socket.
type udpClient struct {
	src      netip.AddrPort
	lastSeen atomic.Int64 // unix nanoseconds of the last packet from src
	sock     atomic.Pointer[net.UDPConn]
}

// ListenUDP starts a UDP relay on listen (host:port) in front of upstream.
func ListenUDP(listen, upstream string, cfg Config) (*UDPRelay, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	up, err := net.ResolveUDPAddr("udp", upstream)
	if err != nil {
		return nil, fmt.Errorf("netsim: upstream %q: %w", upstream, err)
	}
	la, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		return nil, fmt.Errorf("netsim: listen %q: %w", listen, err)
	}
	conn, err := net.ListenUDP("udp", la)
	if err != nil {
		return nil, fmt.Errorf("netsim: %w", err)
	}
	done := make(chan struct{})
	r := &UDPRelay{
		conn:     conn,
		upstream: up,
		links:    newLinks(cfg),
		upQ:      newScheduler(MaxPending, done),
		downQ:    newScheduler(MaxPending, done),
		done:     done,
		clients:  make(map[netip.AddrPort]*udpClient),
	}
	r.wg.Add(4)
	go func() { defer r.wg.Done(); r.upQ.run() }()
	go func() { defer r.wg.Done(); r.downQ.run() }()
	go func() { defer r.wg.Done(); r.readClients() }()
	go func() { defer r.wg.Done(); r.sweep() }()
	return r, nil
}

// Random streams of the two directions (see newLink).
const (
	streamUp = iota + 1
	streamDown
)

// Addr is the address clients send to.
func (r *UDPRelay) Addr() net.Addr { return r.conn.LocalAddr() }

// Stats returns the counters.
func (r *UDPRelay) Stats() Stats {
	r.mu.Lock()
	n := len(r.clients)
	r.mu.Unlock()
	st := r.counts()
	st.Clients, st.Rebinds = n, r.rebinds.Load()
	return st
}

// readClients reads what clients send and forwards it upstream.
func (r *UDPRelay) readClients() {
	buf := make([]byte, MaxDatagram)
	for {
		n, src, err := r.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if r.isClosed() {
				return
			}
			continue // a transient error (an ICMP refusal echoed back); keep serving
		}
		now := time.Now()
		c := r.client(src, now)
		if c == nil {
			r.up.count.noClient.Add(1)
			continue
		}
		due, v := r.up.admitDatagram(now, n)
		if v != pass {
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		if !r.upQ.push(due, func() {
			_, err := c.sock.Load().Write(pkt)
			r.up.count.sent(len(pkt), err)
		}) {
			r.up.count.overflow.Add(1)
		}
	}
}

// client returns src's mapping, making it (and its upstream socket) on
// src's first packet; nil past MaxClients or once closed.
func (r *UDPRelay) client(src netip.AddrPort, now time.Time) *udpClient {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[src]; ok {
		c.lastSeen.Store(now.UnixNano())
		return c
	}
	if r.closed || len(r.clients) >= MaxClients {
		return nil
	}
	sock, err := net.DialUDP("udp", nil, r.upstream)
	if err != nil {
		return nil
	}
	c := &udpClient{src: src}
	c.lastSeen.Store(now.UnixNano())
	c.sock.Store(sock)
	r.clients[src] = c
	r.startReplies(c, sock)
	return c
}

// startReplies reads what the server sends to sock and forwards it to c,
// until sock is closed (Rebind, idle, Close). Called with r.mu held.
func (r *UDPRelay) startReplies(c *udpClient, sock *net.UDPConn) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		buf := make([]byte, MaxDatagram)
		for {
			n, err := sock.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				continue // ICMP port unreachable from a server not up yet
			}
			due, v := r.down.admitDatagram(time.Now(), n)
			if v != pass {
				continue
			}
			pkt := append([]byte(nil), buf[:n]...)
			if !r.downQ.push(due, func() {
				_, err := r.conn.WriteToUDPAddrPort(pkt, c.src)
				r.down.count.sent(len(pkt), err)
			}) {
				r.down.count.overflow.Add(1)
			}
		}
	}()
}

// Rebind gives every client a new upstream socket, as a phone moving from
// Wi-Fi to cellular: from the next packet on the server sees each client
// from a new source port, and replies to the old one are lost.
func (r *UDPRelay) Rebind() error { return r.RebindFrom(netip.Addr{}) }

// RebindFrom is Rebind with the new sockets bound to ip (any loopback
// address on Linux, say, so the server also sees a new source address);
// the zero Addr lets the system choose.
func (r *UDPRelay) RebindFrom(ip netip.Addr) error {
	var local *net.UDPAddr
	if ip.IsValid() {
		local = net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return net.ErrClosed
	}
	for _, c := range r.clients {
		sock, err := net.DialUDP("udp", local, r.upstream)
		if err != nil {
			return fmt.Errorf("netsim: rebind: %w", err)
		}
		old := c.sock.Swap(sock)
		old.Close()
		r.startReplies(c, sock)
	}
	r.rebinds.Add(1)
	return nil
}

// UpstreamAddrs returns each client source's current upstream socket
// address: what the server sees it as.
func (r *UDPRelay) UpstreamAddrs() map[netip.AddrPort]netip.AddrPort {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[netip.AddrPort]netip.AddrPort, len(r.clients))
	for src, c := range r.clients {
		m[src] = c.sock.Load().LocalAddr().(*net.UDPAddr).AddrPort()
	}
	return m
}

// sweep forgets clients idle for ClientIdleTimeout.
func (r *UDPRelay) sweep() {
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case now := <-t.C:
			r.mu.Lock()
			for src, c := range r.clients {
				if now.Sub(time.Unix(0, c.lastSeen.Load())) > ClientIdleTimeout {
					c.sock.Load().Close()
					delete(r.clients, src)
				}
			}
			r.mu.Unlock()
		}
	}
}

func (r *UDPRelay) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Close stops the relay: its sockets close, what waits for its delay is
// dropped, and every goroutine has ended when it returns.
func (r *UDPRelay) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	err := r.conn.Close()
	for src, c := range r.clients {
		c.sock.Load().Close()
		delete(r.clients, src)
	}
	r.mu.Unlock()
	r.wg.Wait()
	return err
}
