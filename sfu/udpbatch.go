package sfu

// Many datagrams from one socket in as few system calls as the kernel
// allows: sendmmsg(2) on Linux, through golang.org/x/net's WriteBatch (which
// falls back to one sendmsg per datagram elsewhere).
//
// One talker's packet goes to every listener of the room. Written one at a
// time, each copy was its own sendto, 41% of all forwarding CPU (BENCHMARKS.md,
// "Media forwarding"); most of a system call's cost is entering and leaving
// the kernel, which one sendmmsg pays once for the whole fan-out.

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchWriter sends batches on one UDP socket.
type batchWriter struct {
	write func(ms []ipv4.Message, flags int) (int, error)
}

// newBatchWriter returns a writer for c, whose family decides the message
// format (x/net's ipv4 and ipv6 Messages are the same type).
func newBatchWriter(c *net.UDPConn) *batchWriter {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return &batchWriter{write: ipv6.NewPacketConn(c).WriteBatch}
	}
	return &batchWriter{write: ipv4.NewPacketConn(c).WriteBatch}
}

// writeAll sends every message of ms and returns how many went out and in
// how many calls. The kernel may take fewer than asked per call (it stops at
// the first datagram it cannot send); a datagram it refuses outright (a
// destination the route or firewall rejects) is skipped, as a failed sendto
// would drop that one copy and the rest of the fan-out still go.
func (w *batchWriter) writeAll(ms []ipv4.Message) (sent, calls int) {
	for len(ms) > 0 {
		// A full socket buffer does not end up here: Go's poller waits
		// for it to drain inside WriteBatch.
		n, _ := w.write(ms, 0)
		calls++
		if n > 0 {
			sent += n
			ms = ms[n:]
		} else {
			ms = ms[1:] // this one cannot go; the others may
		}
	}
	return sent, calls
}

// rawUDP returns the kernel socket under pc, if there is one to batch on.
func rawUDP(pc net.PacketConn) *net.UDPConn {
	switch c := pc.(type) {
	case *net.UDPConn:
		return c
	case *guardedConn:
		return c.UDPConn
	}
	return nil
}
