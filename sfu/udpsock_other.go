//go:build !linux

package sfu

import (
	"net"
	"net/netip"
)

// setReadBuffer asks for size bytes of receive buffer; the system may grant
// less. It returns 0: what was granted is not known portably.
func setReadBuffer(c *net.UDPConn, size int) int {
	_ = c.SetReadBuffer(size)
	return 0
}

// batchReader reads one packet per system call where recvmmsg is missing.
type batchReader struct{ c *net.UDPConn }

func newBatchReader(c *net.UDPConn) *batchReader { return &batchReader{c} }

func (r *batchReader) read(b []byte) (int, netip.AddrPort, error) { return r.c.ReadFromUDPAddrPort(b) }
